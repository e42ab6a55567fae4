"""Drain 10,000 due reminders through two Celery worker processes into a local SMTP server (aiosmtpd), and, in the
same run, send the same messages with a plain SMTP loop (one connection, no queue, no database bookkeeping).

Prints reminders per second for both and their ratio (engineering guide 6: ratios, measured in the same run).

    DATABASE_URL=postgres://.../scratch REDIS_URL=redis://127.0.0.1:6379/9 SECRET_KEY=x \\
        .venv/bin/python bench/reminder_drain.py [--count 10000] [--workers 2]

Use a scratch database (migrated) and a Redis database of its own: the Celery queue there is purged. The rows the
benchmark writes are deleted at the end.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")


class Inbox:
    def __init__(self) -> None:
        self.count = 0
        self.ids: list[bytes] = []  # each message's Message-ID, to tell a second copy from a second message
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        found = MESSAGE_ID.search(envelope.content)
        with self.lock:
            self.count += 1
            self.ids.append(found.group(1) if found else b"")
        return "250 OK"


MESSAGE_ID = re.compile(rb"(?im)^Message-ID:\s*(\S+)")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_rows(count: int, tag: str):
    from django.utils import timezone

    from clinic.models import User
    from intake.models import Patient
    from scheduling.models import Appointment, Clinician, Location, Reminder, Resource, TreatmentType

    now = timezone.now()
    location = Location.objects.create(name=f"Bench clinic {tag}", time_zone="America/New_York")
    chair = Resource.objects.create(location=location, kind="chair", name="Bench chair")
    user = User.objects.create_user(
        email=f"bench-{tag}@example.org", password=uuid.uuid4().hex, full_name="Bench"
    )
    clinician = Clinician.objects.create(user=user)
    treatment, _ = TreatmentType.objects.get_or_create(
        code=f"bench-{tag}",
        defaults={"label": "IV ketamine", "modality": "iv", "resource_kind": "chair", "chair_minutes": 120,
                  "clinician_minutes": 45, "preparation": "Do not eat for 6 hours before your infusion."},
    )  # fmt: skip
    kinds = ["confirmation", "72h", "24h", "2h"]
    appointments_needed = (count + len(kinds) - 1) // len(kinds)
    patients = Patient.objects.bulk_create(
        Patient(legal_first_name="Bench", legal_last_name=f"P{i}", email=f"bench{i}-{tag}@example.org")
        for i in range(appointments_needed)
    )
    appointments = Appointment.objects.bulk_create(
        Appointment(
            patient=patient,
            location=location,
            treatment_type=treatment,
            resource=chair,
            clinician=clinician,
            start_at=now + timedelta(days=30, minutes=i),
            end_at=now + timedelta(days=30, minutes=i + 120),
        )  # fmt: skip
        for i, patient in enumerate(patients)
    )
    reminders = [
        Reminder(appointment=a, channel="email", kind=kind, planned_start_at=a.start_at, due_at=now)
        for a in appointments
        for kind in kinds
    ][:count]
    Reminder.objects.bulk_create(reminders, batch_size=2000)
    return location, treatment, user


def delete_rows(location, treatment, user) -> None:
    from intake.models import Patient
    from scheduling.models import Appointment, Clinician, Resource

    patient_ids = list(Appointment.objects.filter(location=location).values_list("patient_id", flat=True))
    Appointment.objects.filter(location=location).delete()
    Patient.objects.filter(pk__in=patient_ids).delete()
    Resource.objects.filter(location=location).delete()
    Clinician.objects.filter(user=user).delete()
    treatment.delete()
    location.delete()
    user.delete()


def vacuum_reminder_tables() -> None:
    """Each run writes and deletes some 10,000 reminders, 10,000 delivery rows and 2,500 appointments. Where
    autovacuum is off (as on the shared development server) the dead rows of earlier runs pile up in the tables and
    indexes the outbox reads, and each run drained more slowly than the last. Start each run clean, with statistics
    for the new rows. (The plain loop reads no table while it is timed: this only removes a handicap of the drain.)"""
    from django.db import connection

    from scheduling.models import Appointment, Reminder, ReminderDelivery

    with connection.cursor() as cursor:
        for model in (Reminder, ReminderDelivery, Appointment):
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def plain_loop(reminder_ids: list[int], host: str, port: int) -> float:
    """The same messages (text, HTML and .ics), built and sent one after another over one SMTP connection."""
    from django.core.mail import get_connection
    from django.utils import timezone

    from scheduling.models import Reminder
    from scheduling.reminders import reminder_email

    rows = Reminder.objects.select_related(
        "appointment__patient", "appointment__location", "appointment__treatment_type"
    ).in_bulk(reminder_ids)
    connection = get_connection("django.core.mail.backends.smtp.EmailBackend", host=host, port=port)
    started = time.perf_counter()
    with connection:
        for pk in reminder_ids:
            message = reminder_email(rows[pk], now=timezone.now())
            message.connection = connection
            message.send()
    return time.perf_counter() - started


def start_workers(n: int, host: str, port: int, log_dir: Path) -> list[subprocess.Popen]:
    env = dict(os.environ, EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST=host,
               EMAIL_PORT=str(port), LOG_LEVEL="WARNING")  # fmt: skip
    log_dir.mkdir(parents=True, exist_ok=True)
    processes = []
    for i in range(n):
        log = (log_dir / f"bench-worker-{i}.log").open("wb")
        processes.append(
            subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "celery"),
                    "-A",
                    "clinic",
                    "worker",
                    "--loglevel",
                    "WARNING",
                    "--concurrency",
                    "1",
                    "--pool",
                    "prefork",
                    "--hostname",
                    f"bench{i}-{uuid.uuid4().hex[:6]}@%h",
                    "--without-mingle",
                    "--without-gossip",
                ],
                env=env,
                cwd=BASE_DIR,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        )
    from clinic.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        answered = {host for reply in app.control.ping(timeout=0.5) or [] for host in reply}
        if sum(1 for h in answered if h.startswith("bench")) >= n:
            return processes
    raise SystemExit("the bench workers did not start; see bench-worker-*.log")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    import django

    django.setup()
    from aiosmtpd.controller import Controller
    from django.utils import timezone

    from clinic.celery import app
    from scheduling.models import Reminder
    from scheduling.reminders import sweep_due_reminders

    # aiosmtpd logs every SMTP command at INFO: in this process that is the server's chatter, not what is measured
    # (it slowed the plain loop and the drain alike, and buried the figures).
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    tag = uuid.uuid4().hex[:8]
    app.control.purge()
    location, treatment, user = make_rows(args.count, tag)
    vacuum_reminder_tables()
    workers: list[subprocess.Popen] = []
    try:
        ids = list(
            Reminder.objects.filter(appointment__location=location)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        print(f"{len(ids)} due reminders; SMTP on 127.0.0.1:{port}")

        baseline = plain_loop(ids, "127.0.0.1", port)
        sent_by_loop = inbox.count
        print(f"plain SMTP loop:      {len(ids) / baseline:8.1f} messages/s  ({baseline:.1f} s)")

        workers = start_workers(args.workers, "127.0.0.1", port, BASE_DIR / ".data")
        started = time.perf_counter()
        mine = Reminder.objects.filter(appointment__location=location)
        while mine.filter(status="pending").exists():
            sweep_due_reminders(now=timezone.now(), limit=1000)
        # Polled 20 times a second while the workers run, so it must be cheap: the join on the location cost
        # PostgreSQL up to 20 ms a poll near the end of the drain, CPU taken from the system being measured.
        unfinished = Reminder.objects.filter(status__in=["pending", "sending"], pk__range=(ids[0], ids[-1]))
        while unfinished.exists():
            time.sleep(0.05)
        drained = time.perf_counter() - started
        sent = mine.filter(status="sent").count()
        print(f"outbox, {args.workers} workers:    {sent / drained:8.1f} reminders/s ({drained:.1f} s, {sent} sent, "
              f"{inbox.count - sent_by_loop} received)")  # fmt: skip
        drain_ids = inbox.ids[sent_by_loop:]
        copies = Counter(drain_ids)
        print(f"distinct messages received: {len(copies)}; second copies: {len(drain_ids) - len(copies)} "
              f"(of {sum(1 for n in copies.values() if n > 1)} reminders)")  # fmt: skip
        print(f"ratio outbox / plain loop: {(sent / drained) / (len(ids) / baseline):.2f}")
    finally:
        for process in workers:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in workers:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        controller.stop()
        delete_rows(location, treatment, user)


if __name__ == "__main__":
    main()
