"""SMTP answers that decide between "retry", "give up" and "we cannot know", through a real Celery worker, Redis,
PostgreSQL and an SMTP server on localhost whose answers each test scripts: every reminder is sent exactly once.

- The server takes the whole message and then goes quiet: it may have been delivered. The reminder is failed at
  once with a reason front desk understands, and never sent again by a sweep.
- 451 (try later) to the message: retried, and it arrives once.
- 550 (refused for good) to the message: failed at once, no retries.
- One SMTP connection carries all of a worker's reminders.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import Message

import pytest

from tests.factories import NOW, local, make_patient
from tests.scheduling.test_reminders_worker import WEDNESDAY, mail_env, settle, sweep
from tests.support import free_port, start_worker, stop_worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

MAYBE_DELIVERED = (
    "The mail server stopped answering after receiving the message; it may have been delivered. "
    "Check with the patient before resending."
)


@dataclass
class ScriptedSmtp:
    """aiosmtpd whose answers the test scripts.

    ``replies["MAIL" | "RCPT" | "DATA"]``: answers given once each, in order, to that command (for DATA: to the
    whole message, after its final dot), before the server goes back to accepting. ``stall_next``: keep the next
    message, then answer nothing until the test lets go (``release``), by when the client has given up."""

    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    messages: list[Message] = field(default_factory=list)
    peers: list[tuple] = field(default_factory=list)  # the client connection each kept message came on
    replies: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    stall_next: bool = False
    stalled: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    quits: list[tuple] = field(default_factory=list)
    resets: int = 0
    sessions: list = field(default_factory=list)  # the server side of each connection, to hang up on them
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handler(self):
        box = self

        class Handler:
            async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802
                with box.lock:
                    if server not in box.sessions:
                        box.sessions.append(server)
                scripted = box._next("MAIL")
                if scripted:
                    return scripted
                envelope.mail_from = address
                envelope.mail_options.extend(mail_options)
                return "250 OK"

            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
                scripted = box._next("RCPT")
                if scripted:
                    return scripted
                envelope.rcpt_tos.append(address)
                envelope.rcpt_options.extend(rcpt_options)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):  # noqa: N802
                scripted = box._next("DATA")
                if scripted:
                    return scripted
                with box.lock:
                    box.messages.append(message_from_bytes(envelope.content, policy=policy.default))
                    box.peers.append(session.peer)
                    stall, box.stall_next = box.stall_next, False
                if stall:
                    box.stalled.set()
                    for _ in range(1200):  # at most a minute
                        if box.release.is_set():
                            break
                        await asyncio.sleep(0.05)
                return "250 OK"

            async def handle_RSET(self, server, session, envelope):  # noqa: N802
                with box.lock:
                    box.resets += 1
                return "250 OK"

            async def handle_QUIT(self, server, session, envelope):  # noqa: N802
                with box.lock:
                    box.quits.append(session.peer)
                return "221 Bye"

        return Handler()

    def _next(self, command: str) -> str:
        with self.lock:
            queue = self.replies[command]
            return queue.pop(0) if queue else ""

    def count(self) -> int:
        with self.lock:
            return len(self.messages)

    def wait_for(self, count: int, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while self.count() < count and time.monotonic() < deadline:
            time.sleep(0.05)

    def hang_up(self, controller) -> None:
        """The server closes every connection it has (as one does with connections idle too long)."""
        with self.lock:
            sessions, self.sessions = list(self.sessions), []
        for server in sessions:
            if server.transport is not None:
                controller.loop.call_soon_threadsafe(server.transport.close)
        time.sleep(0.2)

    def reset(self) -> None:
        with self.lock:
            self.messages.clear()
            self.peers.clear()
            self.replies.clear()
            self.quits.clear()
            self.resets = 0
            self.stall_next = False
        self.stalled.clear()
        self.release.clear()


def serve(box: ScriptedSmtp):
    from aiosmtpd.controller import Controller

    controller = Controller(box.handler(), hostname=box.host, port=box.port)
    controller.start()
    return controller


@pytest.fixture(scope="module")
def scripted_server():
    box = ScriptedSmtp()
    controller = serve(box)
    try:
        yield box
    finally:
        box.release.set()
        controller.stop()


@pytest.fixture(scope="module")
def smtp_worker(scripted_server, django_db_setup, django_db_blocker, tmp_path_factory):
    """One worker process (one child, so one SMTP connection) that waits 2 s for an SMTP answer."""
    from clinic.celery import app

    with django_db_blocker.unblock():
        app.control.purge()
        process = start_worker(
            tmp_path_factory.mktemp("smtp-worker"),
            name="smtp",
            extra_env=mail_env(scripted_server, EMAIL_TIMEOUT="2"),
        )
    try:
        yield process
    finally:
        stop_worker(process)


@pytest.fixture
def server(smtp_worker, scripted_server, transactional_db):
    if smtp_worker.process.poll() is not None:
        raise AssertionError(f"the worker died:\n{smtp_worker.log()}")
    scripted_server.reset()
    try:
        yield scripted_server
    finally:
        scripted_server.release.set()


def outcomes(reminder) -> list[str]:
    from scheduling.models import ReminderDelivery

    return list(
        ReminderDelivery.objects.filter(reminder=reminder).order_by("pk").values_list("outcome", flat=True)
    )


def test_a_server_that_goes_quiet_after_taking_the_message_has_it_once_and_front_desk_is_told(
    clinic, book, server, client, front_desk
):
    from scheduling.models import Reminder, ReminderDelivery

    server.stall_next = True
    appointment = book(make_patient(first="Robin"), local(WEDNESDAY, 10))
    reminder = Reminder.objects.get(appointment=appointment, kind="confirmation")
    assert sweep(NOW) == [reminder.pk]
    assert server.stalled.wait(20)  # the server has the whole message, and says nothing
    settle(30)  # the worker stops waiting for the answer (EMAIL_TIMEOUT, 2 s here)
    server.release.set()  # the server's "250" comes too late for anyone to hear it

    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts, reminder.last_error) == ("failed", 1, MAYBE_DELIVERED)
    (delivery,) = ReminderDelivery.objects.filter(reminder=reminder)
    assert delivery.outcome == "gave_up" and delivery.error.startswith(MAYBE_DELIVERED)
    assert server.count() == 1
    # No sweep sends it again by itself, however late.
    for later in (timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)):
        assert sweep(NOW + later) == []
    time.sleep(0.5)
    assert server.count() == 1 and outcomes(reminder) == ["gave_up"]

    # The worker carries on, on a new connection (the doubtful one was dropped, not reused).
    book(make_patient(first="Sam"), local(WEDNESDAY, 11), chair=1, clinician=1)
    assert len(sweep(NOW + timedelta(days=1))) == 1
    settle()
    assert server.count() == 2 and server.peers[1] != server.peers[0]

    # Front desk sees why it failed, checks with the patient, and sends it again: the copy carries the same
    # Message-ID, so a mail system or a person can tell it is the same reminder.
    client.force_login(front_desk)
    page = client.get("/front-desk/reminders/failed/")
    assert b"Robin" in page.content and b"it may have been delivered" in page.content
    assert client.post(f"/front-desk/reminders/{reminder.pk}/resend/").status_code == 302
    assert sweep(NOW + timedelta(days=1, minutes=1)) == [reminder.pk]
    settle()
    reminder.refresh_from_db()
    assert reminder.status == "sent"
    to_robin = [m for m in server.messages if m["To"] == appointment.patient.email]
    assert [m["Message-ID"] for m in to_robin] == [f"<reminder-{reminder.pk}-0@clinic.invalid>"] * 2


def test_a_451_to_the_message_is_retried_and_it_arrives_once(clinic, book, server):
    from scheduling.models import Reminder

    server.replies["DATA"].append("451 4.3.0 Temporary local problem, try again later")
    appointment = book(make_patient(), local(WEDNESDAY, 10))
    reminder = Reminder.objects.get(appointment=appointment, kind="confirmation")
    assert sweep(NOW) == [reminder.pk]
    settle()
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts) == ("pending", 1)
    assert "451 4.3.0 Temporary local problem" in reminder.last_error
    assert "It will be tried again" in reminder.last_error
    assert server.count() == 0

    assert sweep(NOW + timedelta(hours=1)) == [reminder.pk]  # its retry is due
    settle()
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts, reminder.last_error) == ("sent", 2, "")
    assert outcomes(reminder) == ["failed", "sent"]
    assert sweep(NOW + timedelta(hours=2)) == []
    time.sleep(0.3)
    assert [m["Message-ID"] for m in server.messages] == [f"<reminder-{reminder.pk}-0@clinic.invalid>"]


def test_a_550_to_the_message_fails_it_at_once_without_retries(clinic, book, server):
    from scheduling.models import Reminder

    server.replies["DATA"].append("550 5.7.1 Message rejected by policy")
    appointment = book(make_patient(), local(WEDNESDAY, 10))
    reminder = Reminder.objects.get(appointment=appointment, kind="confirmation")
    assert sweep(NOW) == [reminder.pk]
    settle()
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts) == ("failed", 1)
    assert "550 5.7.1 Message rejected by policy" in reminder.last_error
    assert "will not be tried again" in reminder.last_error
    assert outcomes(reminder) == ["gave_up"]
    for later in (timedelta(hours=1), timedelta(days=1)):
        assert sweep(NOW + later) == []
    time.sleep(0.3)
    assert server.count() == 0 and outcomes(reminder) == ["gave_up"]


def test_one_smtp_connection_carries_all_of_a_workers_reminders(clinic, book, server):
    from scheduling.models import Reminder

    for i in range(6):
        book(make_patient(), local(WEDNESDAY, 8 + i), chair=i, clinician=i % 3)
    claimed = sweep(NOW)
    assert len(claimed) == 6
    server.wait_for(6)
    settle()
    assert server.count() == 6
    assert len(set(server.peers)) == 1  # one connection (the worker has one process), not one per message
    assert server.quits == []  # kept open between reminders
    assert sorted(int(m["Message-ID"].split("-")[1]) for m in server.messages) == sorted(claimed)
    assert set(Reminder.objects.filter(pk__in=claimed).values_list("status", flat=True)) == {"sent"}
