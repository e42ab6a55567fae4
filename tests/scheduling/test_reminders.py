"""Reminder rows: planned in the booking's transaction, claimed once, at the times reminders/plan.py documents.

These run in the test process against PostgreSQL; the worker pipeline is in test_reminders_worker.py.
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connections, transaction

from tests.factories import NOW, make_patient

pytestmark = pytest.mark.django_db

WEDNESDAY = date(2027, 3, 10)


def local_dt(day: date, hour: int, minute: int = 0) -> datetime:
    from tests.factories import local

    return local(day, hour, minute)


def rows(appointment):
    from scheduling.models import Reminder

    return list(Reminder.objects.filter(appointment=appointment).order_by("sequence", "due_at", "channel"))


def live(appointment):
    return {(r.channel, r.kind): r for r in rows(appointment) if r.status in ("pending", "sending")}


def test_booking_plans_the_confirmation_and_the_offsets(clinic, book):
    patient = make_patient()
    appointment = book(patient, local_dt(WEDNESDAY, 10))
    planned = live(appointment)
    assert set(planned) == {("email", "confirmation"), ("email", "72h"), ("email", "24h"), ("email", "2h")}
    assert planned["email", "confirmation"].due_at == NOW
    assert planned["email", "72h"].due_at == local_dt(date(2027, 3, 7), 10)
    assert planned["email", "24h"].due_at == local_dt(date(2027, 3, 9), 10)
    assert planned["email", "2h"].due_at == local_dt(WEDNESDAY, 8)
    assert {r.sequence for r in planned.values()} == {0}
    assert all(r.planned_start_at == appointment.start_at for r in planned.values())


def test_sms_only_with_recorded_consent(clinic, book):
    without = make_patient()
    without.reminder_channel = "both"
    without.phone = "+16175550100"
    without.save()
    assert {c for c, _ in live(book(without, local_dt(WEDNESDAY, 10)))} == {"email"}

    consenting = make_patient()
    consenting.reminder_channel = "sms"
    consenting.phone = "+16175550101"
    consenting.sms_consent_at = NOW
    consenting.save()
    planned = live(book(consenting, local_dt(WEDNESDAY, 9), chair=1, clinician=1))
    assert {c for c, _ in planned} == {"sms"}
    # 07:00 local is inside quiet hours (21:00-08:00): the 2 h text goes the evening before, at 20:59.
    assert planned["sms", "2h"].due_at == local_dt(date(2027, 3, 9), 20, 59)


def test_reschedule_cancels_the_old_plan_and_plans_an_update(clinic, book, front_desk):
    from scheduling import services

    appointment = book(make_patient(), local_dt(WEDNESDAY, 10))
    moved_at = NOW + timedelta(days=1)
    services.reschedule_appointment(
        appointment=appointment,
        start=local_dt(date(2027, 3, 11), 14),
        rescheduled_by=front_desk,
        now=moved_at,
    )
    old = [r for r in rows(appointment) if r.sequence == 0]
    assert {r.status for r in old} == {"cancelled"}
    planned = live(appointment)
    assert set(planned) == {("email", "update"), ("email", "72h"), ("email", "24h"), ("email", "2h")}
    assert {r.sequence for r in planned.values()} == {1}
    assert planned["email", "update"].due_at == moved_at
    assert planned["email", "2h"].due_at == local_dt(date(2027, 3, 11), 12)


def test_confirming_changes_no_reminder(clinic, book, front_desk):
    from scheduling import services

    appointment = book(make_patient(), local_dt(WEDNESDAY, 10))
    before = [(r.pk, r.status, r.due_at) for r in rows(appointment)]
    services.confirm_appointment(appointment=appointment, confirmed_by=front_desk, now=NOW)
    assert [(r.pk, r.status, r.due_at) for r in rows(appointment)] == before


def test_cancel_before_anything_was_sent_cancels_everything_and_sends_nothing(clinic, book, front_desk):
    from scheduling import services

    appointment = book(make_patient(), local_dt(WEDNESDAY, 10))
    services.cancel_appointment(
        appointment=appointment, reason="Feeling unwell", cancelled_by=front_desk, now=NOW
    )
    assert {r.status for r in rows(appointment)} == {"cancelled"}


def test_cancel_after_a_message_was_sent_queues_a_calendar_cancel(clinic, book, front_desk):
    from scheduling import services
    from scheduling.models import Reminder

    appointment = book(make_patient(), local_dt(WEDNESDAY, 10))
    Reminder.objects.filter(appointment=appointment, kind="confirmation").update(status="sent", sent_at=NOW)
    services.cancel_appointment(
        appointment=appointment, reason="Feeling unwell", cancelled_by=front_desk, now=NOW
    )
    statuses = {(r.kind, r.status, r.sequence) for r in rows(appointment)}
    assert ("cancellation", "pending", 1) in statuses
    assert {s for k, s, _ in statuses if k in ("72h", "24h", "2h")} == {"cancelled"}


def test_a_rolled_back_booking_leaves_no_reminder(clinic, book):
    from scheduling.models import Appointment, Reminder

    patient = make_patient()

    class Oops(Exception):
        pass

    with pytest.raises(Oops), transaction.atomic():
        appointment = book(patient, local_dt(WEDNESDAY, 10))
        assert Reminder.objects.filter(appointment=appointment).count() == 4  # planned inside the transaction
        raise Oops
    assert not Appointment.objects.filter(patient=patient).exists()
    assert not Reminder.objects.exists()


@pytest.mark.parametrize(
    ("monday", "expected"),
    [
        # Spring forward (Sun, Mar 14, 2027, 02:00 -> 03:00). 24 h = Sunday 9:00 AM EDT; 2 h = two real hours.
        (
            date(2027, 3, 15),
            {
                "72h": datetime(2027, 3, 12, 14, 0, tzinfo=UTC),  # Fri 9:00 AM EST: 71 elapsed hours
                "24h": datetime(2027, 3, 14, 13, 0, tzinfo=UTC),  # Sun 9:00 AM EDT
                "2h": datetime(2027, 3, 15, 11, 0, tzinfo=UTC),  # Mon 7:00 AM EDT
            },
        ),
        # Fall back (Sun, Nov 7, 2027, 02:00 -> 01:00).
        (
            date(2027, 11, 8),
            {
                "72h": datetime(2027, 11, 5, 13, 0, tzinfo=UTC),  # Fri 9:00 AM EDT: 73 elapsed hours
                "24h": datetime(2027, 11, 7, 14, 0, tzinfo=UTC),  # Sun 9:00 AM EST
                "2h": datetime(2027, 11, 8, 12, 0, tzinfo=UTC),  # Mon 7:00 AM EST
            },
        ),
    ],
)
def test_monday_nine_oclock_after_a_clock_change(clinic, book, monday, expected):
    patient = make_patient()
    appointment = book(patient, local_dt(monday, 9), now=datetime(monday.year, monday.month, 1, tzinfo=UTC))
    planned = live(appointment)
    assert {kind: planned["email", kind].due_at for kind in expected} == expected
    assert planned["email", "24h"].due_at.astimezone(clinic.location.tz).hour == 9


def test_the_sweep_claims_only_due_rows_and_marks_them_sending(clinic, book):
    from scheduling.reminders import sweep_due_reminders

    appointment = book(make_patient(), local_dt(WEDNESDAY, 10))
    with transaction.atomic():
        # Inside an outer transaction the enqueue (on commit) never happens: this is about the claim.
        claimed = sweep_due_reminders(now=NOW)
        transaction.set_rollback(True)
    assert len(claimed) == 1
    assert live(appointment)["email", "confirmation"].pk == claimed[0]


def test_reaper_returns_stuck_rows_and_fails_them_at_the_cap(clinic, book, settings):
    from scheduling.models import Reminder
    from scheduling.reminders import reap_stuck_reminders

    settings.REMINDER_MAX_ATTEMPTS = 2
    appointment = book(make_patient(), local_dt(WEDNESDAY, 10))
    reminder = live(appointment)["email", "confirmation"]
    Reminder.objects.filter(pk=reminder.pk).update(status="sending", claimed_at=NOW)
    assert reap_stuck_reminders(now=NOW + timedelta(minutes=5)) == 0  # not stuck yet
    assert reap_stuck_reminders(now=NOW + timedelta(minutes=11)) == 1
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts) == ("pending", 1)
    Reminder.objects.filter(pk=reminder.pk).update(status="sending", claimed_at=NOW)
    reap_stuck_reminders(now=NOW + timedelta(minutes=11))
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts) == ("failed", 2)


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_never_claim_the_same_row(clinic, book):
    """Two beats: each its own connection. A holds its claim open while B sweeps; SKIP LOCKED keeps them apart."""
    from clinic.celery import app
    from scheduling.models import Reminder
    from scheduling.reminders import sweep_due_reminders

    for i in range(6):
        book(make_patient(), local_dt(WEDNESDAY, 8 + i), chair=i, clinician=i % 3)
    due = set(Reminder.objects.filter(due_at__lte=NOW).values_list("pk", flat=True))
    assert len(due) == 6
    a_claimed, b_done = threading.Event(), threading.Event()
    results: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def beat_a():
        try:
            with transaction.atomic():
                results["a"] = sweep_due_reminders(now=NOW, limit=3)
                a_claimed.set()
                assert b_done.wait(20)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
            a_claimed.set()
        finally:
            connections.close_all()

    def beat_b():
        try:
            assert a_claimed.wait(20)
            results["b"] = sweep_due_reminders(now=NOW, limit=100)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            b_done.set()
            connections.close_all()

    threads = [threading.Thread(target=beat_a), threading.Thread(target=beat_b)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert not errors, errors
        assert len(results["a"]) == 3
        assert set(results["a"]).isdisjoint(results["b"])
        assert set(results["a"]) | set(results["b"]) == due
        assert set(Reminder.objects.filter(status="sending").values_list("pk", flat=True)) == due
    finally:
        app.control.purge()  # no worker runs here: drop the send tasks the sweeps enqueued


def test_links_confirm_once_and_expire(clinic, book, client):
    from scheduling.models import Appointment
    from scheduling.reminders import link_token, link_url

    appointment = book(make_patient(), local_dt(WEDNESDAY, 10))
    reminder = live(appointment)["email", "confirmation"]
    url = link_url(reminder, "confirm")
    path = url.split("://", 1)[1].split("/", 1)[1]
    assert str(appointment.patient.legal_last_name) not in url and "@" not in url

    page = client.get("/" + path)
    assert page.status_code == 200 and b"Yes, I will be there" in page.content
    assert (
        Appointment.objects.get(pk=appointment.pk).status == "booked"
    )  # a GET (a mail scanner) changes nothing

    done = client.post("/" + path, {"action": "confirm"})
    assert done.status_code == 200 and b"is confirmed" in done.content
    assert Appointment.objects.get(pk=appointment.pk).status == "confirmed"
    again = client.post("/" + path, {"action": "confirm"})
    assert again.status_code == 410 and b"already used" in again.content

    forged = client.get(f"/r/{link_token(reminder, 'confirm')[:-2]}xx/")
    assert forged.status_code == 410


def test_a_late_cancel_from_the_link_is_marked_late_and_front_desk_is_emailed(
    clinic, book, client, front_desk, smtp_server, time_machine, django_capture_on_commit_callbacks
):
    from scheduling.models import Appointment
    from scheduling.reminders import link_url

    appointment = book(make_patient(), local_dt(WEDNESDAY, 10))
    reminder = live(appointment)["email", "24h"]
    time_machine.move_to(local_dt(date(2027, 3, 9), 12), tick=False)  # 22 hours before: inside the window
    path = "/" + link_url(reminder, "cancel").split("://", 1)[1].split("/", 1)[1]
    assert client.post(path, {"action": "cancel"}).status_code == 400  # a reason is required
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(path, {"action": "cancel", "reason": "transport"})
    assert done.status_code == 200 and b"late cancellation" in done.content
    appointment = Appointment.objects.get(pk=appointment.pk)
    assert appointment.status == "cancelled" and appointment.late_cancellation
    assert {r.status for r in rows(appointment)} == {"cancelled"}
    message = smtp_server.wait_for(1)[0]
    assert message["Subject"] == "Late cancellation" and front_desk.email in message["To"]
    assert client.post(path, {"action": "cancel", "reason": "transport"}).status_code == 410


def test_asking_to_move_from_the_link_puts_the_patient_on_the_waitlist_and_keeps_the_session(
    clinic, book, client, time_machine
):
    from scheduling.models import Appointment, WaitlistEntry
    from scheduling.reminders import link_url

    appointment = book(make_patient(), local_dt(WEDNESDAY, 10))
    reminder = live(appointment)["email", "72h"]
    time_machine.move_to(local_dt(date(2027, 3, 7), 10), tick=False)
    path = "/" + link_url(reminder, "cancel").split("://", 1)[1].split("/", 1)[1]
    assert client.post(path, {"action": "reschedule"}).status_code == 200
    assert Appointment.objects.get(pk=appointment.pk).status == "booked"
    assert WaitlistEntry.objects.filter(current_appointment=appointment).count() == 1
    assert client.post(path, {"action": "confirm"}).status_code == 410  # a cancel link cannot confirm


def test_a_text_message_is_one_segment_with_a_time_a_place_and_a_link_and_nothing_clinical(
    clinic, book, settings, tmp_path
):
    import json

    from scheduling.models import Reminder, ReminderDelivery
    from scheduling.reminders import deliver_reminder

    settings.SMS_BACKEND = "scheduling.sms.FileSmsBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms.jsonl")
    settings.SITE_URL = "https://clinic.example.org"
    patient = make_patient()
    patient.reminder_channel = "sms"
    patient.phone = "+16175550102"
    patient.sms_consent_at = NOW
    patient.save()
    appointment = book(patient, local_dt(WEDNESDAY, 10))
    reminder = live(appointment)["sms", "confirmation"]
    Reminder.objects.filter(pk=reminder.pk).update(status="sending", claimed_at=NOW)
    assert deliver_reminder(reminder_id=reminder.pk, now=NOW) == "sent"
    assert (
        deliver_reminder(reminder_id=reminder.pk, now=NOW) == "not-claimed"
    )  # a second delivery of the task
    lines = [json.loads(line) for line in (tmp_path / "sms.jsonl").read_text().splitlines()]
    assert len(lines) == 1
    body = lines[0]["body"]
    assert lines[0]["to"] == "+16175550102"
    assert len(body) <= 160, body
    assert (
        "Wed, Mar 10" in body  # with the year, unless dropping it keeps the text to one segment
        and "10:00 AM EST" in body
        and clinic.location.name in body
        and "https://clinic.example.org/r/" in body
    )
    # The words around the link (its random token may hold any letters, "IV" included).
    words = re.sub(r"https://\S+", "", body.replace(settings.CLINIC_NAME, ""))
    for clinical in ("ketamine", "Ketamine infusion", "IV", "Spravato", patient.legal_last_name, "depress"):
        assert clinical not in words
    reminder.refresh_from_db()
    assert (reminder.status, reminder.provider_id) == ("sent", f"file:reminder-{reminder.pk}")
    delivery = ReminderDelivery.objects.get(reminder=reminder)
    assert (delivery.outcome, delivery.channel, delivery.provider_id) == ("sent", "sms", reminder.provider_id)


def test_one_beat_entry_sweeps_every_minute_in_utc():
    from clinic.celery import app

    entries = [e for e in app.conf.beat_schedule.values() if e["task"] == "scheduling.tasks.sweep_reminders"]
    assert len(entries) == 1 and entries[0]["schedule"] == 60.0
    assert app.conf.timezone == "UTC" and app.conf.enable_utc
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert app.conf.worker_prefetch_multiplier == 1
