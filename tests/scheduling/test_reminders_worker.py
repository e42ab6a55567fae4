"""The reminder pipeline end to end: real Celery worker processes, Redis, PostgreSQL and an SMTP server on localhost.

The test process plays Celery beat: it calls the sweep with ``now`` as if time had advanced (appointments are in
2027), and the worker sends. Every test ends with each reminder delivered exactly once or marked failed.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from email import message_from_bytes, policy
from email.message import Message
from typing import cast

import pytest
from icalendar import Calendar

from tests.factories import NOW, local, make_patient
from tests.support import free_port, start_worker, stop_worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

WEDNESDAY = date(2027, 3, 10)
STUCK = timedelta(minutes=11)  # past REMINDER_STUCK_SECONDS (10 min): the reaper takes the row back


@dataclass
class Inbox:
    """aiosmtpd whose answer the test controls: accept, answer every message with `refuse_with` (a 4xx or 5xx
    reply), or hold the first message."""

    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    messages: list[Message] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    refuse_with: str = ""
    hold_first: bool = False
    delay: float = 0.0
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def handler(self):
        inbox = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
                if inbox.delay:
                    await asyncio.sleep(inbox.delay)
                if inbox.refuse_with:
                    return inbox.refuse_with
                if inbox.hold_first and not inbox.holding.is_set():
                    inbox.holding.set()
                    while not inbox.release.is_set():
                        await asyncio.sleep(0.05)
                    if server.transport is None or server.transport.is_closing():
                        # The sender died before we answered 250: the message was never accepted (RFC 5321 4.1.1.4)
                        return "421 Sender gone"
                with inbox.lock:
                    inbox.messages.append(message_from_bytes(envelope.content, policy=policy.default))
                return "250 OK"

        return Handler()

    def count(self) -> int:
        with self.lock:
            return len(self.messages)

    def by_reminder(self) -> Counter:
        with self.lock:
            return Counter(m["Message-ID"].split("-")[1] for m in self.messages)


def _serve(box: Inbox):
    from aiosmtpd.controller import Controller

    controller = Controller(box.handler(), hostname=box.host, port=box.port)
    controller.start()
    return controller


@pytest.fixture(scope="module")
def shared_inbox():
    box = Inbox()
    controller = _serve(box)
    try:
        yield box
    finally:
        box.release.set()
        controller.stop()


def mail_env(inbox: Inbox, **extra: str) -> dict[str, str]:
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": inbox.host,
        "EMAIL_PORT": str(inbox.port),
        "EMAIL_TIMEOUT": "5",
        "SITE_URL": "https://clinic.example.org",
        **extra,
    }


@pytest.fixture(scope="module")
def shared_worker(shared_inbox, django_db_setup, django_db_blocker, tmp_path_factory):
    """One worker process for the tests that do not kill it (starting one takes seconds)."""
    from clinic.celery import app

    with django_db_blocker.unblock():
        app.control.purge()
        process = start_worker(
            tmp_path_factory.mktemp("worker"), name="rem", concurrency=2, extra_env=mail_env(shared_inbox)
        )
    try:
        yield process
    finally:
        stop_worker(process)


@pytest.fixture
def worker(shared_worker, shared_inbox, transactional_db):
    with shared_inbox.lock:
        shared_inbox.messages.clear()
    shared_inbox.refuse_with = ""
    if shared_worker.process.poll() is not None:
        raise AssertionError(f"the shared worker died:\n{shared_worker.log()}")
    return shared_worker


def sweep(now):
    from scheduling.reminders import sweep_due_reminders

    return sweep_due_reminders(now=now)


def settle(timeout: float = 20.0) -> None:
    """Wait until no reminder is being sent."""
    from scheduling.models import Reminder

    deadline = time.monotonic() + timeout
    while Reminder.objects.filter(status="sending").exists():
        if time.monotonic() > deadline:
            raise AssertionError(list(Reminder.objects.filter(status="sending").values()))
        time.sleep(0.05)


def ics_of(message: Message) -> Calendar:
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1
    return Calendar.from_ical(cast(bytes, parts[0].get_payload(decode=True)))


def event_of(calendar: Calendar):
    events = [c for c in calendar.walk("VEVENT")]
    assert len(events) == 1 and calendar.walk("VTIMEZONE")
    return events[0]


def assert_exactly_once_or_failed(inbox: Inbox) -> None:
    from scheduling.models import Reminder

    sent = {str(pk) for pk in Reminder.objects.filter(status="sent").values_list("pk", flat=True)}
    counts = inbox.by_reminder()
    assert all(n == 1 for n in counts.values()), counts
    assert set(counts) == sent
    assert not Reminder.objects.filter(status__in=["pending", "sending"], due_at__lte=NOW).exists()


def test_each_reminder_arrives_once_at_its_time_then_the_update_then_the_cancel(
    clinic, book, front_desk, worker, shared_inbox
):
    inbox = shared_inbox
    from scheduling import services
    from scheduling.models import Appointment, Reminder

    patient = make_patient(first="Robin")
    appointment = book(patient, local(WEDNESDAY, 10))

    assert len(sweep(NOW)) == 1
    settle()
    assert inbox.count() == 1
    booked = inbox.messages[0]
    assert booked["To"] == patient.email and booked["Subject"].startswith("Booked")
    text = booked.get_body(("plain",)).get_content()
    assert (
        "Wed, Mar 10, 2027, 10:00 AM EST" in text
        and "America/New_York" in text
        and clinic.location.name in text
    )
    assert "Do not eat for 6 hours" in text  # IV preparation from the treatment type
    assert "https://clinic.example.org/r/" in text
    assert booked.get_body(("html",)) is not None
    event = event_of(ics_of(booked))
    assert event["SEQUENCE"] == 0 and event.decoded("DTSTART") == appointment.start_at

    due_72h = local(date(2027, 3, 7), 10)
    assert sweep(due_72h - timedelta(minutes=1)) == []  # not before its time
    assert len(sweep(due_72h)) == 1
    settle()
    assert inbox.count() == 2 and inbox.messages[1]["Subject"].startswith("Reminder")

    moved_at = local(date(2027, 3, 8), 9)
    services.reschedule_appointment(
        appointment=appointment, start=local(date(2027, 3, 11), 14), rescheduled_by=front_desk, now=moved_at
    )
    assert len(sweep(moved_at + timedelta(minutes=1))) == 1
    settle()
    assert inbox.count() == 3
    update = inbox.messages[2]
    assert update["Subject"].startswith("Moved") and "Thu, Mar 11, 2027, 2:00 PM EST" in update["Subject"]
    event = event_of(ics_of(update))
    assert event["SEQUENCE"] == 1 and event["UID"] == event_of(ics_of(booked))["UID"]
    assert not Reminder.objects.filter(sequence=0, status="pending").exists()

    cancelled_at = local(date(2027, 3, 9), 9)
    services.cancel_appointment(
        appointment=appointment, reason="Patient unwell", cancelled_by=front_desk, now=cancelled_at
    )
    assert len(sweep(cancelled_at + timedelta(minutes=1))) == 1
    settle()
    assert inbox.count() == 4
    cancel = ics_of(inbox.messages[3])
    assert cancel["METHOD"] == "CANCEL" and event_of(cancel)["SEQUENCE"] == 2
    assert sweep(local(date(2027, 3, 12), 9)) == []  # nothing more, ever
    time.sleep(0.5)
    assert inbox.count() == 4
    assert Appointment.objects.get(pk=appointment.pk).status == "cancelled"
    assert_exactly_once_or_failed(inbox)


def test_two_beats_at_once_send_each_reminder_once_and_a_rolled_back_booking_sends_nothing(
    clinic, book, worker, shared_inbox
):
    inbox = shared_inbox
    from django.db import transaction

    from scheduling.models import Appointment, Reminder

    for i in range(6):
        book(make_patient(), local(WEDNESDAY, 8 + i), chair=i, clinician=i % 3)
    ghost = make_patient(first="Ghost")
    with pytest.raises(RuntimeError), transaction.atomic():
        book(ghost, local(WEDNESDAY, 15), chair=0, clinician=0)
        assert Reminder.objects.filter(appointment__patient=ghost).count() == 4
        raise RuntimeError("the request failed after the booking")
    assert not Appointment.objects.filter(patient=ghost).exists()
    barrier = threading.Barrier(2)
    claimed: list[list[int]] = []

    def beat():
        from django.db import connection

        barrier.wait(10)
        try:
            claimed.append(sweep(NOW))
        finally:
            connection.close()

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(len(c) for c in claimed) == 6
    inbox_deadline = time.monotonic() + 20
    while inbox.count() < 6 and time.monotonic() < inbox_deadline:
        time.sleep(0.05)
    settle()
    assert inbox.count() == 6
    assert ghost.email not in {m["To"] for m in inbox.messages}
    assert_exactly_once_or_failed(inbox)


def test_a_message_that_always_fails_is_failed_at_the_cap_and_listed_for_front_desk(
    clinic, book, worker, shared_inbox, client, front_desk
):
    inbox = shared_inbox
    from scheduling.models import Reminder, ReminderDelivery

    # A temporary refusal (4xx) every time: retried with backoff until the cap. (A permanent 5xx is failed at
    # once: test_reminders_smtp.py.)
    inbox.refuse_with = "451 4.3.0 Mailbox busy, try again later"
    appointment = book(make_patient(first="Casey"), local(WEDNESDAY, 10))
    reminder = Reminder.objects.get(appointment=appointment, kind="confirmation")
    now = NOW
    for _attempt in range(5):
        assert sweep(now) == [reminder.pk]  # the retry's due time (now + backoff) has come
        settle()
        now += timedelta(hours=1)
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts) == ("failed", 5)
    assert "451 4.3.0 Mailbox busy" in reminder.last_error
    assert "Gave up after 5 attempts" in reminder.last_error
    outcomes = list(ReminderDelivery.objects.filter(reminder=reminder).values_list("outcome", flat=True))
    assert sorted(outcomes) == ["failed"] * 4 + ["gave_up"]
    assert sweep(now) == []  # failed stays failed
    assert inbox.count() == 0

    client.force_login(front_desk)
    page = client.get("/front-desk/reminders/failed/")
    assert page.status_code == 200 and b"Casey" in page.content and b"Send again" in page.content
    detail = client.get(f"/front-desk/appointments/{appointment.pk}/")
    assert b"Failed, gave up" in detail.content

    inbox.refuse_with = ""
    assert client.post(f"/front-desk/reminders/{reminder.pk}/resend/").status_code == 302
    assert len(sweep(now)) == 1
    settle()
    reminder.refresh_from_db()
    assert reminder.status == "sent" and inbox.count() == 1
    assert_exactly_once_or_failed(inbox)


def test_a_reminder_claimed_before_the_cancel_is_skipped_and_only_the_cancel_arrives(
    clinic, book, front_desk, worker, shared_inbox
):
    """Claimed, then cancelled before the worker reads it: that send is skipped. It may have been in flight, so the
    patient is sent the CANCEL, and nothing else."""
    from django.db import transaction

    from scheduling import services
    from scheduling.models import Reminder
    from scheduling.reminders import sweep_due_reminders

    inbox = shared_inbox
    appointment = book(make_patient(), local(WEDNESDAY, 10))
    with transaction.atomic():
        sweep_due_reminders(now=NOW)
        services.cancel_appointment(
            appointment=appointment, reason="Changed mind", cancelled_by=front_desk, now=NOW
        )
    settle()
    assert Reminder.objects.get(appointment=appointment, kind="confirmation").status == "cancelled"
    assert len(sweep(NOW + timedelta(minutes=1))) == 1
    settle()
    assert sweep(local(WEDNESDAY, 9)) == []
    time.sleep(0.3)
    assert inbox.count() == 1
    assert ics_of(inbox.messages[0])["METHOD"] == "CANCEL"
    assert {
        r.status for r in Reminder.objects.filter(appointment=appointment).exclude(kind="cancellation")
    } == {"cancelled"}
    assert_exactly_once_or_failed(inbox)
