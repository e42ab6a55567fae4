"""A series booked in one go is one email: every session listed with its own confirm and cancel links, and one
calendar file per session (each its own UID), sent through the outbox with its exactly-once guarantees, to a real
SMTP server on localhost. The reminders before each session stay one per session."""

from __future__ import annotations

import threading
import time as clock
from datetime import timedelta

import pytest
from django.db import connections
from icalendar import Calendar

from scheduling.models import Reminder, ReminderDelivery
from scheduling.reminders import deliver_reminder, send_batches, sweep_due_reminders
from scheduling.reminders.plan import CONFIRMATION
from tests.factories import NOW, make_patient
from tests.scheduling.test_series_booking import book, propose
from tests.support import free_port

pytestmark = pytest.mark.django_db


def _calendars(message) -> list[Calendar]:
    return [
        Calendar.from_ical(part.get_payload(decode=True))
        for part in message.walk()
        if part.get_content_type() == "text/calendar"
    ]


def _part(message, content_type: str) -> str:
    (part,) = [part for part in message.walk() if part.get_content_type() == content_type]
    return part.get_payload(decode=True).decode()


def _event(calendar: Calendar):
    (event,) = calendar.walk("VEVENT")
    return event


def _sweep(now, capture):
    with capture(execute=True):
        return sweep_due_reminders(now=now)


@pytest.fixture
def booked_series(clinic, front_desk):
    patient = make_patient()
    treatment_series = book(clinic, patient, propose(clinic, patient), front_desk)
    return list(treatment_series.appointments.order_by("start_at"))


def _confirmations(sessions):
    return Reminder.objects.filter(
        appointment__in=sessions, channel=Reminder.Channel.EMAIL, kind=CONFIRMATION
    ).order_by("appointment__start_at")


def test_a_six_session_series_is_one_email_with_six_calendar_files(
    booked_series, smtp_server, eager_celery, django_capture_on_commit_callbacks, time_machine
):
    time_machine.move_to(NOW, tick=False)
    assert len(booked_series) == 6
    _sweep(NOW, django_capture_on_commit_callbacks)
    (message,) = smtp_server.wait_for(1)
    clock.sleep(0.3)
    assert len(smtp_server.messages) == 1
    assert message["Subject"].startswith("Booked: your 6 sessions")
    events = [_event(calendar) for calendar in _calendars(message)]
    assert len(events) == 6
    uids = [str(event["uid"]) for event in events]
    assert len(set(uids)) == 6
    assert uids == [f"appointment-{a.pk}@{uids[0].split('@', 1)[1]}" for a in booked_series]
    assert [event.decoded("dtstart") for event in events] == [a.start_at for a in booked_series]
    text, html = (_part(message, kind) for kind in ("text/plain", "text/html"))
    assert (
        text.count("/r/") == 12 and html.count('href="http') == 12
    )  # a confirm and a cancel link per session
    # Each session's confirmation is sent once, with its own line in the delivery log.
    assert {row.status for row in _confirmations(booked_series)} == {"sent"}
    assert ReminderDelivery.objects.filter(kind=CONFIRMATION, outcome="sent").count() == 6
    # A second sweep sends nothing more; the reminders before each session are still one per session.
    _sweep(NOW + timedelta(minutes=1), django_capture_on_commit_callbacks)
    clock.sleep(0.3)
    assert len(smtp_server.messages) == 1
    assert Reminder.objects.filter(appointment=booked_series[0], channel="email", kind="24h").count() == 1


def test_a_failed_series_email_is_retried_for_every_session_and_still_goes_as_one(
    booked_series, smtp_server, settings, eager_celery, django_capture_on_commit_callbacks, time_machine
):
    time_machine.move_to(NOW, tick=False)
    real_port = settings.EMAIL_PORT
    settings.EMAIL_PORT = free_port()  # nothing listens: certainly not delivered
    _sweep(NOW, django_capture_on_commit_callbacks)
    rows = list(_confirmations(booked_series))
    assert {(row.status, row.attempts) for row in rows} == {("pending", 1)}
    assert len({row.due_at for row in rows}) == 1 and rows[0].due_at > NOW
    settings.EMAIL_PORT = real_port
    time_machine.move_to(rows[0].due_at, tick=False)
    _sweep(rows[0].due_at, django_capture_on_commit_callbacks)
    (message,) = smtp_server.wait_for(1)
    assert len(_calendars(message)) == 6
    assert {row.status for row in _confirmations(booked_series)} == {"sent"}


def test_the_confirmations_of_a_series_are_never_split_between_batches():
    batches = send_batches([1, 2, 3, 4, 5, 6, 7, 8], together={2: 9, 3: 9, 4: 9, 5: 9, 6: 9})
    assert [2, 3, 4, 5, 6] in batches and sum(len(b) for b in batches) == 8
    assert send_batches(list(range(1, 17))) == [[n, n + 1] for n in range(1, 17, 2)]


@pytest.mark.django_db(transaction=True)
def test_a_session_another_delivery_holds_is_sent_by_that_one_and_each_session_once(
    clinic, front_desk, smtp_server
):
    patient = make_patient()
    sessions = list(
        book(clinic, patient, propose(clinic, patient), front_desk).appointments.order_by("start_at")
    )
    rows = list(_confirmations(sessions))
    Reminder.objects.filter(pk__in=[row.pk for row in rows]).update(status="sending", claimed_at=NOW)
    held, release = threading.Event(), threading.Event()

    def hold_the_second():
        with connections["default"].cursor() as cursor:  # a connection of this thread's own
            cursor.execute("BEGIN")
            cursor.execute("SELECT id FROM scheduling_reminder WHERE id = %s FOR UPDATE", [rows[1].pk])
            held.set()
            release.wait(10)
            cursor.execute("ROLLBACK")
        connections["default"].close()

    holder = threading.Thread(target=hold_the_second)
    holder.start()
    assert held.wait(10)
    try:
        assert deliver_reminder(reminder_id=rows[0].pk, now=NOW) == "sent"
    finally:
        release.set()
        holder.join()
    assert deliver_reminder(reminder_id=rows[1].pk, now=NOW) == "sent"
    for row in rows[2:]:
        assert deliver_reminder(reminder_id=row.pk, now=NOW) == "not-claimed"
    first, second = smtp_server.wait_for(2)
    uids = [str(_event(c)["uid"]) for message in (first, second) for c in _calendars(message)]
    assert len(uids) == 6 and len(set(uids)) == 6  # every session once, across the two emails
    assert len(_calendars(second)) == 1
