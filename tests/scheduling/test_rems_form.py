"""The SPRAVATO REMS Patient Monitoring Form: prefilled from the session, refused "sent" while incomplete, sent
with who and when audited, a PDF with every field, the due list with its 7-day deadline, and the access gate."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from clinic.models import AuditEvent, RecordView
from intake.models import IntakeSubmission
from scheduling import rems_form, selectors, services
from scheduling.models import Clinician, RemsEnrollment, RemsMonitoringForm
from tests.factories import A_WEDNESDAY, Clinic, build_clinic, local, make_patient, ready_to_dose
from tests.support import pdf_text

pytestmark = pytest.mark.django_db

NINE = local(A_WEDNESDAY, 9)
CHECKED_IN = NINE - timedelta(minutes=10)
DOSED = NINE + timedelta(minutes=15)  # first device
DISCHARGED = DOSED + timedelta(minutes=130)
LATER = DISCHARGED + timedelta(hours=2)  # the pages' clock: the same afternoon


def discharged_spravato(book, place, *, by, clinician_user, first="Rae", born=date(1980, 5, 17), start=NINE):
    """A Spravato session through the real services: checked in, dosed, vitals at the three times, discharged."""
    patient = make_patient(first=first, location=place.location)
    if born:
        patient.date_of_birth = born
        patient.save(update_fields=["date_of_birth"])
    RemsEnrollment.objects.create(patient=patient, enrolled_on=date(2027, 1, 1), rems_patient_id="RP-4411")
    appointment = book(patient, start, kind=place.spravato, now=start - timedelta(days=2))
    dosed = start + timedelta(minutes=15)
    ready_to_dose(appointment, by=by, now=start - timedelta(minutes=10), bp=(132, 84))
    services.start_session(appointment=appointment, started_by=by, now=dosed)
    services.record_dose(
        appointment=appointment, dose_mg=Decimal(56), lot_number="LOT-77", started_at=dosed,
        recorded_by=clinician_user, now=dosed,
    )  # fmt: skip
    services.record_vitals(
        appointment=appointment, phase="at_40_min", systolic=148, diastolic=92, heart_rate=80, spo2=97,
        recorded_by=by, now=dosed + timedelta(minutes=40),
    )  # fmt: skip
    services.record_observation_scores(
        appointment=appointment, dissociation_score=12, sedation_score=4, recorded_by=clinician_user
    )
    services.start_recovery(appointment=appointment, by=by, now=dosed + timedelta(minutes=45))
    services.record_vitals(
        appointment=appointment, phase="pre_discharge", systolic=126, diastolic=80, heart_rate=70, spo2=98,
        recorded_by=by, now=dosed + timedelta(minutes=125),
    )  # fmt: skip
    services.discharge(
        appointment=appointment, discharged_by=by, now=dosed + timedelta(minutes=130), escort_present=True
    )
    appointment.refresh_from_db()
    return appointment


@pytest.fixture
def session(book, clinic, front_desk, clinician):
    return discharged_spravato(book, clinic, by=front_desk, clinician_user=clinician)


# What the clinician adds to the prefilled form: the answers the app cannot know.
CLINICIAN_ANSWERS = {
    "patient_sex": "female",
    "takes_opioids": "no",
    "provider_phone": "+16175550100",
    "setting_address1": "1 Harbor Way",
    "setting_city": "Boston",
    "setting_state": "MA",
    "setting_zip": "02118",
    "ready_to_leave_minutes": "95",
    "sedation_resolved": "yes",
    "dissociation_resolved": "yes",
    "respiratory_depression": "no",
    "vitals_ok_before_administration": "yes",
    "vitals_ok_at_completion": "yes",
    "adverse_events": "yes",
    "adverse_event_serious": "no",
    "adverse_event_description": "Nausea, resolved without treatment",
    "adverse_event_reported": "yes",
}


def prefilled_post(client, appointment) -> dict[str, str]:
    """The form's fields as the page fills them (the prefill), as a browser would post them back."""
    page = client.get(reverse("scheduling:rems_form", args=[appointment.pk]))
    assert page.status_code == 200
    form = page.context["form"]
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        data[name] = (
            "" if value is None else (value.strftime("%H:%M") if hasattr(value, "strftime") else str(value))
        )
    return data


def fill_and_save(client, appointment, **overrides) -> dict[str, str]:
    data = {**prefilled_post(client, appointment), **CLINICIAN_ANSWERS, **overrides}
    response = client.post(reverse("scheduling:rems_form", args=[appointment.pk]), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    return data


# --- The form's own rules (pure) ----------------------------------------------------------------------------------


def test_total_time_runs_from_first_administration_to_end_of_monitoring():
    first = datetime(2027, 3, 3, 14, 15, tzinfo=UTC)
    assert rems_form.total_minutes(first, first + timedelta(minutes=130, seconds=59)) == 130
    assert rems_form.total_minutes(first, None) is None
    assert rems_form.total_minutes(first, first - timedelta(minutes=1)) is None


def test_a_follow_up_question_is_required_only_when_its_question_was_answered_yes():
    values = {f.key: "x" for f in rems_form.FIELDS.values()} | {
        "sedation": False,
        "sedation_resolved": None,
        "adverse_events": True,
        "adverse_event_description": "",
        "bp_before": (120, 80),
    }
    missing = rems_form.missing_fields(values)
    assert "If yes: had the sedation resolved before the patient left?" not in missing
    assert missing == ["If yes: describe the adverse event(s)"]


# --- Prefill ------------------------------------------------------------------------------------------------------


def test_the_form_is_prefilled_from_the_session_the_vitals_the_intake_and_the_clinics_records(
    client, clinic, session, front_desk
):
    latest = IntakeSubmission.objects.filter(patient=session.patient).latest("submitted_at")
    IntakeSubmission.objects.create(
        kind="intake", patient=session.patient, submitted_at=latest.submitted_at + timedelta(minutes=1),
        answers={"medications": {"items": [{"name": "Parnate"}, {"name": "Xanax"}]}}, findings=[],
    )  # fmt: skip
    initial = selectors.rems_form_prefill(session)
    assert initial["takes_maois"] is True and initial["takes_benzodiazepines"] is True
    assert initial["takes_psychostimulants"] is False
    assert initial["dose_mg"] == 56 and initial["lot_number"] == "LOT-77"
    assert initial["first_administration_at"] == DOSED  # the dose record, not the check-in
    assert initial["monitoring_completed_at"] == DISCHARGED
    assert (initial["bp_before_systolic"], initial["bp_before_diastolic"]) == (132, 84)
    assert (initial["bp_40_min_systolic"], initial["bp_40_min_diastolic"]) == (148, 92)
    assert (initial["bp_at_completion_systolic"], initial["bp_at_completion_diastolic"]) == (126, 80)
    assert initial["sedation"] is True and initial["dissociation"] is True  # MOAA/S 4, CADSS 12
    assert "sedation_resolved" not in initial and "ready_to_leave_minutes" not in initial
    assert initial["first_treatment"] is True and initial["enrolled_in_rems"] is True
    assert initial["provider_last_name"] == "Ician1" and initial["setting_name"] == clinic.location.name


# --- Mark sent ------------------------------------------------------------------------------------------------------


def test_an_incomplete_form_cannot_be_marked_sent_and_nothing_is_written(client, session, front_desk):
    client.force_login(front_desk)
    with time_machine.travel(LATER, tick=False):
        refused = client.post(reverse("scheduling:rems_form_submitted", args=[session.pk]))
        assert refused.status_code == 400
        assert not RemsMonitoringForm.objects.filter(appointment=session).exists()
        html = refused.content.decode()
        assert "nothing was marked sent" in html and "Missing: Sex" in html

        # Saved but still lacking the answers only the clinician can give.
        data = {**prefilled_post(client, session), "patient_sex": "female"}
        assert client.post(reverse("scheduling:rems_form", args=[session.pk]), data).status_code == 302
        events = AuditEvent.objects.filter(table_name="scheduling_remsmonitoringform").count()
        refused = client.post(reverse("scheduling:rems_form_submitted", args=[session.pk]))
    assert refused.status_code == 400
    html = refused.content.decode()
    assert "Missing: Ready to leave (minutes from start of administration)" in html
    assert "Missing: If yes: had the sedation resolved before the patient left?" in html
    assert "Missing: Did the patient experience respiratory depression?" in html
    assert "Missing: Sex" not in html
    form = RemsMonitoringForm.objects.get(appointment=session)
    assert form.submitted_at is None and form.submitted_by is None
    assert AuditEvent.objects.filter(table_name="scheduling_remsmonitoringform").count() == events
    assert [row.appointment.pk for row in selectors.rems_forms_due(session.location, now=LATER)] == [
        session.pk
    ]


def test_a_missing_birthdate_on_the_patients_record_keeps_the_form_from_being_sent(
    book, clinic, front_desk, clinician
):
    appointment = discharged_spravato(book, clinic, by=front_desk, clinician_user=clinician, born=None)
    answers = {
        **selectors.rems_form_prefill(appointment),
        "patient_sex": "male",
        "ready_to_leave_minutes": 90,
    }
    answers |= {k: True for k in ("sedation_resolved", "dissociation_resolved")}
    answers |= {"respiratory_depression": False, "adverse_events": False, "takes_opioids": False}
    answers |= {"provider_phone": "1", "setting_address1": "1 Way", "setting_city": "Boston"}
    answers |= {"setting_state": "MA", "setting_zip": "02118", "vitals_ok_at_completion": True}
    services.save_rems_monitoring_form(appointment=appointment, answers=answers, saved_by=front_desk)
    with pytest.raises(services.RemsFormIncomplete) as refused:
        services.mark_rems_form_submitted(appointment=appointment, submitted_by=front_desk)
    assert refused.value.missing == ["Birthdate"]
    assert RemsMonitoringForm.objects.get(appointment=appointment).submitted_at is None


def test_a_complete_form_is_marked_sent_with_who_and_when_audited_and_then_kept_as_sent(
    client, session, front_desk
):
    client.force_login(front_desk)
    with time_machine.travel(LATER, tick=False):
        fill_and_save(client, session)
        sent = client.post(reverse("scheduling:rems_form_submitted", args=[session.pk]))
    assert sent.status_code == 302
    form = RemsMonitoringForm.objects.get(appointment=session)
    assert form.submitted_at == LATER and form.submitted_by == front_desk
    stamp = AuditEvent.objects.filter(table_name="scheduling_remsmonitoringform", action="UPDATE").latest(
        "id"
    )
    assert stamp.actor_id == front_desk.pk and stamp.patient_id == session.patient_id
    assert "submitted_at" in stamp.new_data and stamp.old_data["submitted_at"] is None
    assert selectors.rems_forms_due(session.location, now=LATER) == []

    # Sent is final: neither saved over nor sent twice.
    with time_machine.travel(LATER + timedelta(minutes=5), tick=False):
        again = client.post(
            reverse("scheduling:rems_form", args=[session.pk]), {**CLINICIAN_ANSWERS, "patient_sex": "male"}
        )
        twice = client.post(reverse("scheduling:rems_form_submitted", args=[session.pk]))
    assert again.status_code == 409 and twice.status_code == 409
    form.refresh_from_db()
    assert form.patient_sex == "female" and form.submitted_at == LATER


def test_the_total_time_saved_is_first_administration_to_end_of_monitoring_not_check_in_to_discharge(
    client, session, front_desk
):
    client.force_login(front_desk)
    with time_machine.travel(LATER, tick=False):
        # Monitoring ended five minutes before the discharge button was pressed.
        ended = (DISCHARGED - timedelta(minutes=5)).astimezone(session.location.tz).strftime("%H:%M")
        fill_and_save(client, session, monitoring_completed_at=ended)
    page = selectors.rems_form_page(session, now=LATER)
    assert page.values["total_minutes"] == 125
    assert int((session.discharged_at - session.checked_in_at).total_seconds() // 60) == 155  # not this


def test_bad_answers_are_refused_with_a_message_and_nothing_written(client, session, front_desk):
    client.force_login(front_desk)
    with time_machine.travel(LATER, tick=False):
        base = {**prefilled_post(client, session), **CLINICIAN_ANSWERS}
        too_late = client.post(
            reverse("scheduling:rems_form", args=[session.pk]), {**base, "ready_to_leave_minutes": "400"}
        )
        upside_down = client.post(
            reverse("scheduling:rems_form", args=[session.pk]),
            {**base, "bp_before_systolic": "70", "bp_before_diastolic": "90"},
        )
        garbage = client.post(reverse("scheduling:rems_form", args=[session.pk]), {**base, "dose_mg": "lots"})
    assert (
        too_late.status_code == 400
        and "cannot have been ready to leave at 400 minutes" in too_late.content.decode()
    )
    assert upside_down.status_code == 400 and "systolic must be higher" in upside_down.content.decode()
    assert garbage.status_code == 400
    assert not RemsMonitoringForm.objects.filter(appointment=session).exists()


# --- The PDF --------------------------------------------------------------------------------------------------------


def test_the_pdf_carries_every_field_label_and_its_answer(client, session, front_desk):
    client.force_login(front_desk)
    with time_machine.travel(LATER, tick=False):
        fill_and_save(client, session)
        response = client.get(reverse("scheduling:rems_form_pdf", args=[session.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert session.patient.legal_last_name not in response["Content-Disposition"]
    text = pdf_text(response.content)
    page = selectors.rems_form_page(session, now=LATER)
    asked = [f for f in rems_form.FIELDS.values() if rems_form.is_asked(f, page.values)]
    # Every question but the follow-up of "respiratory depression: no" is asked on this form.
    assert len(asked) == len(rems_form.FIELDS) - 1
    for field in asked:
        assert field.label in text, field.label
    for expected in [
        "Rae", session.patient.legal_last_name, "05/17/1980", "[X] Female", "RP-4411", "03/03/2027",
        "[X] 56 mg", "LOT-77", "9:15 AM EST", "11:25 AM EST", "130", "95", "132/84", "148/92", "126/80",
        "Nausea, resolved without treatment", "Ician1", "1 Harbor Way", "Boston", "MA", "02118",
        rems_form.FORM_VERSION,
    ]:  # fmt: skip
        assert expected in text, expected
    assert page.values["total_minutes"] == 130
    assert RecordView.objects.filter(patient_id=session.patient_id, what="REMS monitoring form PDF").exists()
    # Every answer, as the page shows it, is in the PDF (the list above is the spot check; this is all of them).
    flat = " ".join(text.split())
    for _section, answers in page.sections:
        for field, shown in answers:
            assert " ".join(shown.split()) in flat, (field.key, shown)


# --- The due list -------------------------------------------------------------------------------------------------


def test_the_due_list_shows_each_deadline_and_the_overdue_ones(client, book, clinic, front_desk, clinician):
    old = discharged_spravato(
        book,
        clinic,
        by=front_desk,
        clinician_user=clinician,
        first="Olden",
        start=local(date(2027, 2, 17), 9),
    )
    recent = discharged_spravato(book, clinic, by=front_desk, clinician_user=clinician, first="Recent")
    client.force_login(front_desk)
    with time_machine.travel(LATER, tick=False):
        html = client.get(
            reverse("scheduling:rems_forms_due"), {"location": clinic.location.pk}
        ).content.decode()
        rows = selectors.rems_forms_due(clinic.location, now=LATER)
    assert [(r.appointment.pk, r.due, r.overdue) for r in rows] == [
        (old.pk, local(date(2027, 2, 24), 9), True),
        (recent.pk, local(date(2027, 3, 10), 9), False),
    ]
    assert "Wed, Feb 24, 2027, 9:00 AM EST" in html and "Wed, Mar 10, 2027, 9:00 AM EST" in html
    assert html.count(">Overdue<") == 1 and "1 overdue." in html and "6 days left" in html
    assert "answers missing" in html


# --- Access ---------------------------------------------------------------------------------------------------------


def test_only_staff_allowed_on_the_patients_location_see_or_download_the_form(
    client, settings, book, clinic, front_desk, clinician
):
    settings.REVIEW_RESTRICT_TO_CLINICIAN_LOCATIONS = True
    bayside = Clinic(*build_clinic())
    Clinician.objects.create(user=clinician, credentials="MD").locations.add(clinic.location)
    here = discharged_spravato(book, clinic, by=front_desk, clinician_user=clinician)
    there = discharged_spravato(
        lambda patient, start, kind, now: services.book_appointment(
            patient=patient,
            treatment_type=kind,
            location=bayside.location,
            start=start,
            resource=bayside.chairs[0],
            clinician=bayside.clinicians[0],
            booked_by=front_desk,
            now=now,
        ),  # fmt: skip
        bayside,
        by=front_desk,
        clinician_user=bayside.clinicians[0].user,
        first="There",
    )
    client.force_login(clinician)
    with time_machine.travel(LATER, tick=False):
        for name in ("scheduling:rems_form", "scheduling:rems_form_pdf"):
            assert client.get(reverse(name, args=[here.pk])).status_code == 200
            assert client.get(reverse(name, args=[there.pk])).status_code == 404
        assert (
            client.post(reverse("scheduling:rems_form", args=[there.pk]), CLINICIAN_ANSWERS).status_code
            == 404
        )
        assert client.post(reverse("scheduling:rems_form_submitted", args=[there.pk])).status_code == 404
    assert not RemsMonitoringForm.objects.filter(appointment=there).exists()
