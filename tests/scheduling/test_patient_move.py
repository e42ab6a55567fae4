"""A patient asks to move a session: free times before and after it on the days that suit them, picked online
(moved at once when the clinic lets patients book, else front desk is asked to move it there), or, when nothing
suits, the front desk is asked to call. Front desk's waitlist shows a real match, later times included."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from scheduling import selectors
from scheduling.models import Appointment, OpeningHours, WaitlistEntry
from tests.factories import A_WEDNESDAY, NOW, clear_for_treatment, give_cleared_intake, local

SESSION_AT = local(A_WEDNESDAY, 12)


@pytest.fixture
def session(patient, clinic, book):
    record = patient.patient
    record.location = clinic.location
    record.save(update_fields=["location"])
    give_cleared_intake(record)
    clear_for_treatment(record)
    return book(record, SESSION_AT)


@pytest.fixture
def pat(client, patient):
    client.force_login(patient)
    return client


def _move_url(appointment, **query):
    days = "&".join(f"day={d}" for d in query.get("days", ()))
    return reverse("my_appointments:move", args=[appointment.pk]) + (f"?{days}" if days else "")


@time_machine.travel(NOW, tick=False)
def test_the_alternatives_are_earlier_and_later_on_the_preferred_days_nearest_first(session):
    found = selectors.move_alternatives(session, now=NOW)
    assert found.weekdays == (2,)  # the session's own weekday when it is not part of a series
    assert len(found.earlier) == 3 and len(found.later) == 3
    assert all(o.start < SESSION_AT for o in found.earlier) and all(o.start > SESSION_AT for o in found.later)
    assert [o.start for o in found.earlier] == sorted((o.start for o in found.earlier), reverse=True)
    assert [o.start for o in found.later] == sorted(o.start for o in found.later)
    # Times to choose between, not one morning in quarter hours.
    for side in (found.earlier, found.later):
        gaps = [abs(a.start - b.start) for a in side for b in side if a is not b]
        assert min(gaps) >= selectors.MOVE_CHOICES_APART == timedelta(hours=1)
    thursdays = selectors.move_alternatives(session, now=NOW, weekdays=[3])
    assert {
        o.start.astimezone(session.location.tz).weekday() for o in thursdays.later + thursdays.earlier
    } == {3}


@time_machine.travel(NOW, tick=False)
def test_the_portal_links_to_the_move_page_which_offers_times(pat, session):
    home = pat.get(reverse("portal:home")).content.decode()
    assert _move_url(session) in home
    page = pat.get(_move_url(session))
    assert page.status_code == 200
    content = page.content.decode()
    assert "Earlier" in content and "Later" in content and content.count('name="start"') == 6
    assert "No matching free time" not in content
    assert session.location.time_zone not in content  # each time carries its zone's abbreviation instead


@time_machine.travel(NOW, tick=False)
def test_picking_a_later_time_asks_front_desk_to_move_it_there(
    pat, session, front_desk, django_capture_on_commit_callbacks
):
    later = selectors.move_alternatives(session, now=NOW).later[0]
    with django_capture_on_commit_callbacks(execute=True):
        response = pat.post(_move_url(session), {"start": later.start.isoformat()})
    assert response.status_code == 302
    assert Appointment.objects.get(pk=session.pk).start_at == SESSION_AT  # front desk moves it
    entry = WaitlistEntry.objects.get(current_appointment=session)
    assert entry.earliest_date == entry.latest_date == later.start.astimezone(session.location.tz).date()
    (message,) = mail.outbox
    assert message.to == [front_desk.email] and "to Wed, Mar 3, 2027" in message.body
    # Front desk's waitlist offers a real match, though it is later than the session.
    (match,) = selectors.waitlist_matches(session.location, now=NOW)
    assert match.option is not None and match.option.start == later.start


@time_machine.travel(NOW, tick=False)
def test_with_online_booking_the_patient_moves_it_themselves(pat, session, settings):
    settings.SCHEDULING_PATIENT_SELF_BOOKING = True
    earlier = selectors.move_alternatives(session, now=NOW).earlier[0]
    assert pat.post(_move_url(session), {"start": earlier.start.isoformat()}).status_code == 302
    assert Appointment.objects.get(pk=session.pk).start_at == earlier.start
    assert not WaitlistEntry.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_a_time_not_offered_is_refused_and_nothing_is_written(pat, session, settings):
    settings.SCHEDULING_PATIENT_SELF_BOOKING = True
    for start in (SESSION_AT, SESSION_AT + timedelta(days=40), local(A_WEDNESDAY, 3)):
        response = pat.post(_move_url(session), {"start": start.isoformat()})
        assert response.status_code == 409 and b"no longer free" in response.content
    assert pat.post(_move_url(session), {"start": "garbage"}).status_code == 400
    assert Appointment.objects.get(pk=session.pk).start_at == SESSION_AT
    assert not WaitlistEntry.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_when_nothing_suits_the_page_says_front_desk_will_call(
    pat, session, front_desk, django_capture_on_commit_callbacks
):
    OpeningHours.objects.filter(location=session.location, weekday=3).delete()
    content = pat.get(_move_url(session, days=[3])).content.decode()
    assert "front desk will call you" in content and 'name="start"' not in content
    with django_capture_on_commit_callbacks(execute=True):
        assert pat.post(_move_url(session), {"action": "call"}).status_code == 302
    assert WaitlistEntry.objects.filter(current_appointment=session).count() == 1
    assert "please call" in mail.outbox[0].body
    # Asking again updates the request rather than failing.
    with django_capture_on_commit_callbacks(execute=True):
        assert pat.post(_move_url(session), {"action": "call"}).status_code == 302
    assert WaitlistEntry.objects.filter(current_appointment=session).count() == 1


@time_machine.travel(NOW, tick=False)
def test_another_patients_session_cannot_be_moved_or_seen(client, second_patient, session):
    client.force_login(second_patient)
    assert client.get(_move_url(session)).status_code == 404
    assert client.post(_move_url(session), {"action": "call"}).status_code == 404
    assert not WaitlistEntry.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_front_desk_sees_a_later_match_when_nothing_earlier_suits(client, session, front_desk):
    from scheduling import services

    after = A_WEDNESDAY + timedelta(days=1)
    services.add_to_waitlist(
        patient=session.patient, location=session.location, treatment_type=session.treatment_type,
        earliest_date=after, latest_date=after, added_by=front_desk, current_appointment=session,
    )  # fmt: skip
    (match,) = selectors.waitlist_matches(session.location, now=NOW)
    assert match.option is not None and match.option.start == local(after, 8)
    client.force_login(front_desk)
    page = client.get(reverse("scheduling:waitlist") + f"?location={session.location_id}").content
    assert b"No matching free time yet" not in page and b"Match:" in page


@time_machine.travel(NOW, tick=False)
def test_the_emailed_cancel_link_leads_to_the_free_times_too(client, session):
    from scheduling.models import Reminder
    from scheduling.reminders import link_url

    reminder = Reminder.objects.get(appointment=session, channel="email", kind="confirmation")
    path = "/" + link_url(reminder, "cancel").split("://", 1)[1].split("/", 1)[1]
    page = client.get(path)
    assert page.status_code == 200 and _move_url(session).encode() in page.content
