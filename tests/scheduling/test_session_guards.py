"""Session-day guard rails: the treatment type's monitoring protocol at discharge (minimum time, required readings,
a clinician's audited override), the dose checked before it is given (IV mg/kg thresholds and a second clinician's
co-signature, Spravato 56 or 84 mg against the schedule), the dose given recorded whatever it was and flagged, the
correction form that keeps what was entered, and bad input answered with a message and nothing written."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from clinic.models import AuditEvent
from scheduling import selectors, services
from scheduling.models import RemsEnrollment, SessionRecord, TreatmentType
from tests.factories import A_WEDNESDAY, local, make_patient, ready_to_dose

pytestmark = pytest.mark.django_db

NINE = local(A_WEDNESDAY, 9)
CHECKED_IN = NINE - timedelta(minutes=10)
DOSED = NINE  # dosing (and the infusion, or the first device) starts at nine
INFUSION_ENDS = DOSED + timedelta(minutes=40)


def vitals(appointment, phase, at, *, by, bp=(128, 82)):
    services.record_vitals(
        appointment=appointment, phase=phase, systolic=bp[0], diastolic=bp[1], heart_rate=74, spo2=98,
        recorded_by=by, now=at,
    )  # fmt: skip


def dosed_iv(book, clinic, *, by, clinician_user, dose_mg=Decimal(35), ended=INFUSION_ENDS):
    """An IV session checked in, planned (0.5 mg/kg at 70 kg), started at nine, given, recovering."""
    appointment = book(make_patient(), NINE)
    ready_to_dose(appointment, by=by, now=CHECKED_IN)
    services.start_session(appointment=appointment, started_by=by, now=DOSED)
    services.record_dose(
        appointment=appointment, dose_mg=dose_mg, lot_number="K-1", started_at=DOSED, ended_at=ended,
        recorded_by=clinician_user, now=INFUSION_ENDS,
    )  # fmt: skip
    services.start_recovery(appointment=appointment, by=by, now=INFUSION_ENDS)
    return appointment


def dosed_spravato(book, clinic, *, by, clinician_user, dose_mg=Decimal(56)):
    patient = make_patient()
    RemsEnrollment.objects.create(patient=patient, enrolled_on=date(2027, 1, 5))
    appointment = book(patient, NINE, kind=clinic.spravato)
    ready_to_dose(appointment, by=by, now=CHECKED_IN)
    services.start_session(appointment=appointment, started_by=by, now=DOSED)
    services.record_dose(
        appointment=appointment, dose_mg=dose_mg, lot_number="S-1", started_at=DOSED, recorded_by=clinician_user,
        now=DOSED,
    )  # fmt: skip
    return appointment


def discharge(appointment, at, *, by, reason=""):
    return services.discharge(
        appointment=appointment, discharged_by=by, now=at, escort_present=True, override_reason=reason
    )


# --- Discharge: the protocol ------------------------------------------------------------------------------------


def test_the_default_treatment_types_carry_the_reference_protocols(clinic):
    spravato, iv = selectors.protocol_of(clinic.spravato), selectors.protocol_of(clinic.iv)
    assert (spravato.min_monitoring_minutes, spravato.monitoring_from_dose_end) == (120, False)
    assert spravato.vitals_at_40_min and spravato.vitals_before_discharge
    assert (iv.min_monitoring_minutes, iv.monitoring_from_dose_end) == (30, True)
    assert iv.vitals_at_40_min and iv.vitals_before_discharge
    assert clinic.iv.vitals_during_dose_every_minutes == 15  # offered, never a blocker
    assert selectors.protocol_of(clinic.consultation).min_monitoring_minutes == 0


def test_the_database_keeps_spravato_at_the_labels_minimum(clinic):
    for change in ({"min_monitoring_minutes": 60}, {"vitals_at_40_min_required": False}):
        with pytest.raises(IntegrityError), transaction.atomic():
            TreatmentType.objects.filter(pk=clinic.spravato.pk).update(**change)
    TreatmentType.objects.filter(pk=clinic.spravato.pk).update(
        min_monitoring_minutes=150
    )  # longer is allowed


def test_the_set_up_screen_says_why_a_shorter_spravato_protocol_is_refused(clinic):
    """The admin's form validates the model's constraints: this message is what the clinic admin reads."""
    spravato = clinic.spravato
    spravato.min_monitoring_minutes = 60
    with pytest.raises(ValidationError, match="at least 120 minutes of monitoring from administration"):
        spravato.validate_constraints()
    iv = clinic.iv
    iv.min_monitoring_minutes = 45  # clinic policy: any value
    iv.validate_constraints()


def test_iv_discharge_is_refused_the_minute_dosing_started(clinic, book, front_desk):
    appointment = book(make_patient(), NINE)
    ready_to_dose(appointment, by=front_desk, now=CHECKED_IN)
    services.start_session(appointment=appointment, started_by=front_desk, now=DOSED)
    services.start_recovery(appointment=appointment, by=front_desk, now=DOSED + timedelta(minutes=1))
    with pytest.raises(services.InvalidTransition) as caught:
        discharge(appointment, DOSED + timedelta(minutes=2), by=front_desk)
    text = " ".join(caught.value.blockers)
    assert "Record the dose" in text
    assert "at least 30 minutes after the end of the infusion; 1 minutes so far" in text
    assert "about 40 minutes after the dose" in text and "before discharge" in text
    appointment.refresh_from_db()
    assert appointment.status == "recovering" and appointment.discharged_at is None


def test_iv_discharge_waits_30_minutes_after_the_infusion_ends(clinic, book, front_desk, clinician):
    appointment = dosed_iv(book, clinic, by=front_desk, clinician_user=clinician)
    vitals(appointment, "at_40_min", DOSED + timedelta(minutes=40), by=front_desk)
    vitals(appointment, "pre_discharge", INFUSION_ENDS + timedelta(minutes=25), by=front_desk)
    with pytest.raises(services.InvalidTransition, match="after the end of the infusion; 29 minutes so far"):
        discharge(appointment, INFUSION_ENDS + timedelta(minutes=29), by=front_desk)
    assert discharge(appointment, INFUSION_ENDS + timedelta(minutes=30), by=front_desk).status == "discharged"


def test_without_a_recorded_end_the_infusion_ends_when_recovery_starts(clinic, book, front_desk, clinician):
    appointment = dosed_iv(book, clinic, by=front_desk, clinician_user=clinician, ended=None)
    appointment.refresh_from_db()
    facts = selectors.discharge_facts(appointment, now=INFUSION_ENDS + timedelta(minutes=12))
    assert facts.minutes_monitored == 12


def test_spravato_needs_its_40_minute_reading_and_one_too_early_does_not_count(
    clinic, book, front_desk, clinician
):
    appointment = dosed_spravato(book, clinic, by=front_desk, clinician_user=clinician)
    vitals(appointment, "at_40_min", DOSED + timedelta(minutes=10), by=front_desk)
    services.start_recovery(appointment=appointment, by=front_desk, now=DOSED + timedelta(minutes=45))
    vitals(appointment, "pre_discharge", DOSED + timedelta(minutes=115), by=front_desk)
    with pytest.raises(services.InvalidTransition, match="taken 10 minutes after it: take it again from 30"):
        discharge(appointment, DOSED + timedelta(minutes=125), by=front_desk)
    vitals(appointment, "at_40_min", DOSED + timedelta(minutes=41), by=front_desk)
    assert discharge(appointment, DOSED + timedelta(minutes=125), by=front_desk).status == "discharged"


def test_a_missing_reading_before_discharge_is_refused(clinic, book, front_desk, clinician):
    appointment = dosed_spravato(book, clinic, by=front_desk, clinician_user=clinician)
    vitals(appointment, "at_40_min", DOSED + timedelta(minutes=40), by=front_desk)
    services.start_recovery(appointment=appointment, by=front_desk, now=DOSED + timedelta(minutes=45))
    with pytest.raises(services.InvalidTransition) as caught:
        discharge(appointment, DOSED + timedelta(minutes=130), by=front_desk)
    assert caught.value.blockers == ["Record the vital signs before discharge."]


def test_spravato_monitoring_runs_from_administration_not_from_dosing_start(
    clinic, book, front_desk, clinician
):
    """The REMS form's total time runs from the first device: so does the label's 120 minutes."""
    patient = make_patient()
    RemsEnrollment.objects.create(patient=patient, enrolled_on=date(2027, 1, 5))
    appointment = book(patient, NINE, kind=clinic.spravato)
    ready_to_dose(appointment, by=front_desk, now=CHECKED_IN)
    services.start_session(appointment=appointment, started_by=front_desk, now=DOSED)
    first_device = DOSED + timedelta(minutes=10)
    services.record_dose(
        appointment=appointment, dose_mg=Decimal(56), lot_number="S-1", started_at=first_device,
        recorded_by=clinician, now=first_device,
    )  # fmt: skip
    vitals(appointment, "at_40_min", first_device + timedelta(minutes=40), by=front_desk)
    services.start_recovery(appointment=appointment, by=front_desk, now=first_device + timedelta(minutes=45))
    vitals(appointment, "pre_discharge", first_device + timedelta(minutes=115), by=front_desk)
    with pytest.raises(services.InvalidTransition, match="120 minutes after administration; 119 minutes"):
        discharge(appointment, first_device + timedelta(minutes=119), by=front_desk)
    done = discharge(appointment, first_device + timedelta(minutes=120), by=front_desk)
    prefill = selectors.rems_form_prefill(done)
    assert prefill["first_administration_at"] == first_device
    assert prefill["monitoring_completed_at"] == done.discharged_at


# --- Discharge: the clinician's override ------------------------------------------------------------------------


def test_an_early_discharge_needs_a_clinicians_override_with_a_reason_audited_and_on_the_summary(
    client, clinic, book, front_desk, clinician
):
    appointment = dosed_spravato(book, clinic, by=front_desk, clinician_user=clinician)
    vitals(appointment, "at_40_min", DOSED + timedelta(minutes=40), by=front_desk)
    services.start_recovery(appointment=appointment, by=front_desk, now=DOSED + timedelta(minutes=45))
    vitals(appointment, "pre_discharge", DOSED + timedelta(minutes=90), by=front_desk)
    early = DOSED + timedelta(minutes=95)
    with pytest.raises(services.SessionRefused, match="Only a clinician"):
        discharge(appointment, early, by=front_desk, reason="Patient insists")
    with pytest.raises(services.InvalidTransition, match="recording an override with a reason"):
        discharge(appointment, early, by=clinician, reason="   ")
    record = SessionRecord.objects.get(appointment=appointment)
    assert record.discharge_override_at is None
    events_before = AuditEvent.objects.filter(table_name="scheduling_sessionrecord").count()
    done = discharge(appointment, early, by=clinician, reason="Stable, leaving against advice with family")
    assert done.status == "discharged"
    record.refresh_from_db()
    assert record.discharge_override_by == clinician
    assert record.discharge_override_at == early
    assert record.discharge_override_blockers == [
        "Monitoring must last at least 120 minutes after administration; 95 minutes so far."
    ]
    audited = AuditEvent.objects.filter(table_name="scheduling_sessionrecord").order_by("id")[events_before:]
    assert any(
        (event.new_data or {}).get("discharge_override_reason")
        == "Stable, leaving against advice with family"
        for event in audited
    )
    with time_machine.travel(early + timedelta(minutes=5), tick=False):
        client.force_login(front_desk)
        summary = client.get(reverse("scheduling:session_summary", args=[appointment.pk])).content.decode()
    assert "Discharge override" in summary and "Stable, leaving against advice with family" in summary
    assert "Overrode: Monitoring must last at least 120 minutes" in summary
    assert "95 minutes from administration to discharge" in summary
    # The REMS form will say so too: monitoring shorter than the label's 120 minutes is a warning there.
    assert selectors.rems_form_page(done, now=early).values["total_minutes"] is None  # not filled in yet
    assert selectors.rems_form_prefill(done)["monitoring_completed_at"] == early


def test_an_override_does_not_stand_in_for_the_dose_record_or_the_escort(clinic, book, front_desk, clinician):
    appointment = book(make_patient(), NINE)
    ready_to_dose(appointment, by=front_desk, now=CHECKED_IN)
    services.start_session(appointment=appointment, started_by=front_desk, now=DOSED)
    services.start_recovery(appointment=appointment, by=front_desk, now=DOSED + timedelta(minutes=5))
    with pytest.raises(services.InvalidTransition, match="Record the dose"):
        discharge(appointment, DOSED + timedelta(minutes=10), by=clinician, reason="Needs to go")
    appointment.refresh_from_db()
    assert appointment.status == "recovering"
    assert SessionRecord.objects.get(appointment=appointment).discharge_override_at is None


# --- The dose checked before it is given -------------------------------------------------------------------------


@pytest.fixture
def iv_checked_in(clinic, book, front_desk):
    appointment = book(make_patient(), NINE)
    services.check_in(appointment=appointment, checked_in_by=front_desk, now=CHECKED_IN)
    ready_to_dose(appointment, by=front_desk, now=CHECKED_IN)  # plans 0.5 mg/kg as the session's clinician
    return appointment


def plan_iv(appointment, by, mg_per_kg, weight=Decimal(70)):
    return services.plan_dose(
        appointment=appointment, planned_by=by, weight_kg=weight, mg_per_kg=Decimal(mg_per_kg), now=CHECKED_IN
    )


def test_iv_plan_is_mg_per_kg_from_the_days_weight_with_the_clinics_default(iv_checked_in, clinic):
    record = services.plan_dose(
        appointment=iv_checked_in, planned_by=clinic.clinicians[0].user, weight_kg=Decimal("82.4"),
        now=CHECKED_IN,
    )  # fmt: skip
    assert (record.plan_mg_per_kg, record.plan_dose_mg, record.plan_warnings) == (
        Decimal("0.500"),
        Decimal("41.2"),
        [],
    )


def test_above_075_mg_per_kg_the_plan_carries_a_warning(iv_checked_in, clinic, front_desk):
    record = plan_iv(iv_checked_in, clinic.clinicians[0].user, "0.8")
    assert record.plan_warnings == [
        "0.8 mg/kg is above 0.75 mg/kg, the top of the studied range (0.1-0.75 mg/kg)."
    ]
    assert services.start_session(appointment=iv_checked_in, started_by=front_desk, now=DOSED).status == (
        "in_session"
    )


def test_above_1_mg_per_kg_dosing_waits_for_a_second_different_clinician(iv_checked_in, clinic, front_desk):
    planner, second = clinic.clinicians[0].user, clinic.clinicians[1].user
    plan_iv(iv_checked_in, planner, "1.2")
    with pytest.raises(services.InvalidTransition, match="a second clinician must co-sign it"):
        services.start_session(appointment=iv_checked_in, started_by=planner, now=DOSED)
    with pytest.raises(services.SessionRefused, match="cannot co-sign it"):
        services.cosign_dose_plan(appointment=iv_checked_in, cosigned_by=planner, now=CHECKED_IN)
    with pytest.raises(services.SessionRefused, match="Only a clinician"):
        services.cosign_dose_plan(appointment=iv_checked_in, cosigned_by=front_desk, now=CHECKED_IN)
    assert SessionRecord.objects.get(appointment=iv_checked_in).plan_cosigned_at is None
    services.cosign_dose_plan(appointment=iv_checked_in, cosigned_by=second, now=CHECKED_IN)
    assert (
        services.start_session(appointment=iv_checked_in, started_by=planner, now=DOSED).status
        == "in_session"
    )


def test_a_changed_plan_needs_a_new_co_signature(iv_checked_in, clinic):
    planner, second = clinic.clinicians[0].user, clinic.clinicians[1].user
    plan_iv(iv_checked_in, planner, "1.2")
    services.cosign_dose_plan(appointment=iv_checked_in, cosigned_by=second, now=CHECKED_IN)
    plan_iv(iv_checked_in, planner, "1.4")
    assert selectors.plan_awaits_cosign(SessionRecord.objects.get(appointment=iv_checked_in), iv_checked_in)
    with pytest.raises(services.InvalidTransition, match="co-sign"):
        services.start_session(appointment=iv_checked_in, started_by=planner, now=DOSED)


def test_a_co_signature_is_for_the_plan_the_co_signer_saw(client, iv_checked_in, clinic):
    planner, second = clinic.clinicians[0].user, clinic.clinicians[1].user
    plan_iv(iv_checked_in, planner, "1.2")
    with time_machine.travel(CHECKED_IN + timedelta(minutes=1), tick=False):
        client.force_login(second)
        page = client.get(reverse("scheduling:session_day", args=[iv_checked_in.pk]))
        seen = page.context["cosign_form"].initial["plan_seen_at"]
        services.plan_dose(  # the planner changes it meanwhile
            appointment=iv_checked_in,
            planned_by=planner,
            weight_kg=Decimal(70),
            mg_per_kg=Decimal("1.6"),
            now=CHECKED_IN + timedelta(minutes=1),
        )
        stale = post(
            client, "session_cosign", iv_checked_in, {"cosign-confirmed": "on", "cosign-plan_seen_at": seen}
        )
        assert stale.status_code == 400
        assert "The planned dose changed after you opened the page" in stale.content.decode()
        assert SessionRecord.objects.get(appointment=iv_checked_in).plan_cosigned_at is None
        fresh = client.get(reverse("scheduling:session_day", args=[iv_checked_in.pk]))
        now_seen = fresh.context["cosign_form"].initial["plan_seen_at"]
        assert (
            post(
                client,
                "session_cosign",
                iv_checked_in,
                {"cosign-confirmed": "on", "cosign-plan_seen_at": now_seen},
            ).status_code
            == 302
        )
    record = SessionRecord.objects.get(appointment=iv_checked_in)
    assert (record.plan_mg_per_kg, record.plan_cosigned_by) == (Decimal("1.600"), second)


def test_the_database_refuses_a_co_signature_by_the_planner(iv_checked_in, clinic):
    planner = clinic.clinicians[0].user
    with pytest.raises(IntegrityError), transaction.atomic():
        SessionRecord.objects.filter(appointment=iv_checked_in).update(
            plan_cosigned_by=planner, plan_cosigned_at=CHECKED_IN
        )


def test_dosing_waits_for_a_plan(clinic, book, front_desk):
    appointment = book(make_patient(), NINE)
    ready_to_dose(appointment, by=front_desk, now=CHECKED_IN)
    SessionRecord.objects.filter(appointment=appointment).update(plan_dose_mg=None, plan_mg_per_kg=None)
    with pytest.raises(services.InvalidTransition, match="records the planned dose"):
        services.start_session(appointment=appointment, started_by=front_desk, now=DOSED)


def test_spravato_plans_56_or_84_mg_and_flags_a_change_against_the_schedule(clinic, book, front_desk):
    patient = make_patient()
    RemsEnrollment.objects.create(patient=patient, enrolled_on=date(2027, 1, 5))
    appointment = book(patient, NINE, kind=clinic.spravato)  # booked as 56 mg
    services.check_in(appointment=appointment, checked_in_by=front_desk, now=CHECKED_IN)
    planner = clinic.clinicians[0].user
    for wrong in (Decimal(70), Decimal("56.5"), Decimal(28)):
        with pytest.raises(services.SessionRefused, match=r"56 mg \(2 devices\) or 84 mg \(3 devices\)"):
            services.plan_dose(appointment=appointment, planned_by=planner, dose_mg=wrong, now=CHECKED_IN)
    record = services.plan_dose(appointment=appointment, planned_by=planner, dose_mg=84, now=CHECKED_IN)
    assert record.plan_dose_mg == 84
    assert record.plan_warnings == [
        "The schedule books 56 mg for this session; the plan is 84 mg.",
        "This is the patient's first Spravato session: the label's first dose for treatment-resistant depression "
        "is 56 mg.",
    ]
    assert (
        services.plan_dose(
            appointment=appointment, planned_by=planner, dose_mg=56, now=CHECKED_IN
        ).plan_warnings
        == []
    )


# --- The dose as given ----------------------------------------------------------------------------------------


def test_a_dose_given_that_differs_from_the_plan_is_recorded_flagged_and_told_to_the_clinic_once(
    clinic, book, front_desk, clinician, clinic_admin, django_capture_on_commit_callbacks
):
    appointment = book(make_patient(), NINE)
    ready_to_dose(appointment, by=front_desk, now=CHECKED_IN)  # planned 35 mg (0.5 mg/kg at 70 kg)
    services.start_session(appointment=appointment, started_by=front_desk, now=DOSED)
    with django_capture_on_commit_callbacks() as told:
        record = services.record_dose(
            appointment=appointment, dose_mg=Decimal(2000), lot_number="K-1", started_at=DOSED,
            recorded_by=clinician, now=DOSED,
        )  # fmt: skip
    assert len(told) == 1
    record.refresh_from_db()
    assert (record.dose_mg, record.weight_kg, record.dose_mg_per_kg) == (
        Decimal(2000),
        Decimal(70),
        Decimal("28.571"),
    )
    assert selectors.dose_flags(appointment, record) == [
        "2000 mg (28.571 mg/kg) was given; the checked plan was 35 mg (0.5 mg/kg).",
        "28.571 mg/kg is above 1.0 mg/kg without a second clinician's co-signature.",
    ]
    assert services.tell_clinic_of_dose_flags(record_id=record.pk) is True
    assert (
        services.tell_clinic_of_dose_flags(record_id=record.pk) is False
    )  # a redelivered task sends nothing
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert "boss@example.org" in sent.to and clinic.clinicians[0].user.email in sent.to
    assert appointment.patient.initials in sent.subject
    assert reverse("scheduling:session_summary", args=[appointment.pk]) in sent.body
    assert "2000" not in sent.body and appointment.patient.legal_last_name not in sent.body
    # Corrected to the plan: nothing left to flag, nothing more to tell.
    with django_capture_on_commit_callbacks() as told_again:
        services.record_dose(
            appointment=appointment, dose_mg=Decimal(35), lot_number="K-1", started_at=DOSED,
            recorded_by=clinician, now=DOSED,
        )  # fmt: skip
    assert told_again == []
    assert selectors.dose_flags(appointment, SessionRecord.objects.get(appointment=appointment)) == []


def test_a_spravato_dose_stopped_after_one_device_is_recorded_and_flagged(
    clinic, book, front_desk, clinician
):
    appointment = dosed_spravato(book, clinic, by=front_desk, clinician_user=clinician, dose_mg=Decimal(28))
    record = SessionRecord.objects.get(appointment=appointment)
    assert record.dose_mg == 28
    assert selectors.dose_flags(appointment, record) == ["28 mg was given; the checked plan was 56 mg."]
    with pytest.raises(services.SessionRefused, match="whole 28 mg devices"):
        services.record_dose(
            appointment=appointment, dose_mg=Decimal(70), lot_number="S-1", started_at=DOSED,
            recorded_by=clinician, now=DOSED,
        )  # fmt: skip


# --- Through the pages ----------------------------------------------------------------------------------------


def post(client, name, appointment, data):
    return client.post(reverse(f"scheduling:{name}", args=[appointment.pk]), data)


def test_co_signing_through_the_pages(client, clinic, book, front_desk):
    appointment = book(make_patient(), NINE)
    ready_to_dose(appointment, by=front_desk, now=CHECKED_IN)
    planner, second = clinic.clinicians[0].user, clinic.clinicians[1].user
    with time_machine.travel(CHECKED_IN + timedelta(minutes=1), tick=False):
        client.force_login(planner)
        planned = post(client, "session_plan", appointment, {"plan-weight_kg": "70", "plan-mg_per_kg": "1.2"})
        assert planned.status_code == 302
        page = client.get(reverse("scheduling:session_day", args=[appointment.pk])).content.decode()
        assert "Co-signature needed" in page and "You planned this dose" in page
        assert 'action="' + reverse("scheduling:session_cosign", args=[appointment.pk]) not in page
        refused = post(client, "session_cosign", appointment, {"cosign-confirmed": "on"})
        assert refused.status_code == 400
        assert "the clinician who planned the dose cannot co-sign it" in refused.content.decode()
        client.logout()
        client.force_login(second)
        unconfirmed = post(client, "session_cosign", appointment, {})
        assert unconfirmed.status_code == 400
        assert "Confirm you have checked the planned dose" in unconfirmed.content.decode()
        assert post(client, "session_cosign", appointment, {"cosign-confirmed": "on"}).status_code == 302
    record = SessionRecord.objects.get(appointment=appointment)
    assert (record.planned_by, record.plan_cosigned_by, record.plan_dose_mg) == (planner, second, Decimal(84))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"plan-weight_kg": "-70", "plan-mg_per_kg": "0.5"}, "Give the weight in kg above 0."),
        ({"plan-weight_kg": "700", "plan-mg_per_kg": "0.5"}, "A weight of 700 kg is not plausible"),
        ({"plan-weight_kg": "7", "plan-mg_per_kg": "0.5"}, "A weight of 7 kg is not plausible"),
        ({"plan-weight_kg": "seventy", "plan-mg_per_kg": "0.5"}, "Give the weight in kg as a number"),
        ({"plan-weight_kg": "70", "plan-mg_per_kg": "half"}, "Give the dose in mg/kg as a number"),
        ({"plan-weight_kg": "70", "plan-mg_per_kg": "-0.5"}, "Give the dose in mg/kg above 0."),
        ({"plan-weight_kg": "70", "plan-mg_per_kg": "9"}, "at most 5"),
        ({"plan-weight_kg": "", "plan-mg_per_kg": "0.5"}, "Give the patient&#x27;s weight today, in kg."),
    ],
)
def test_a_bad_plan_is_answered_with_a_message_and_nothing_written(
    client, clinic, book, front_desk, data, message
):
    appointment = book(make_patient(), NINE)
    services.check_in(appointment=appointment, checked_in_by=front_desk, now=CHECKED_IN)
    with time_machine.travel(CHECKED_IN + timedelta(minutes=1), tick=False):
        client.force_login(clinic.clinicians[0].user)
        response = post(client, "session_plan", appointment, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not SessionRecord.objects.filter(appointment=appointment, plan_dose_mg__isnull=False).exists()


@pytest.mark.parametrize(
    ("dose", "weight", "message"),
    [
        ("-35", "", "Give the dose in mg above 0."),
        ("0", "", "Give the dose in mg above 0."),
        ("thirty", "", "Give the dose in mg as a number"),
        ("35", "700", "A weight of 700 kg is not plausible"),
        ("35", "0.0", "Give the weight in kg above 0."),
        ("35", "heavy", "Give the weight in kg as a number"),
        ("99999", "", "The dose must be below 10000 mg"),
    ],
)
def test_a_bad_dose_record_is_answered_with_a_message_and_nothing_written(
    client, clinic, book, front_desk, dose, weight, message
):
    appointment = book(make_patient(), NINE)
    ready_to_dose(appointment, by=front_desk, now=CHECKED_IN)
    services.start_session(appointment=appointment, started_by=front_desk, now=DOSED)
    with time_machine.travel(DOSED + timedelta(minutes=2), tick=False):
        client.force_login(clinic.clinicians[0].user)
        response = post(
            client, "session_dose", appointment,
            {"dose-dose_mg": dose, "dose-weight_kg": weight, "dose-lot_number": "K-9", "dose-started_at": "09:00",
             "dose-ended_at": "", "dose-drug": ""},
        )  # fmt: skip
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert 'value="K-9"' in html  # what was typed is kept
    record = SessionRecord.objects.get(appointment=appointment)
    assert (record.dose_mg, record.lot_number, record.weight_kg) == (None, "", None)


def test_the_2000_mg_dose_is_recorded_with_a_warning_and_the_correction_form_keeps_what_was_entered(
    client, clinic, book, front_desk
):
    appointment = book(make_patient(), NINE)
    ready_to_dose(appointment, by=front_desk, now=CHECKED_IN)
    services.start_session(appointment=appointment, started_by=front_desk, now=DOSED)
    url = reverse("scheduling:session_day", args=[appointment.pk])
    with time_machine.travel(DOSED + timedelta(minutes=2), tick=False):
        client.force_login(clinic.clinicians[0].user)
        first = client.get(url).context["dose_form"]
        assert first.initial["dose_mg"] == Decimal(35) and first.initial["weight_kg"] == Decimal(
            70
        )  # the plan
        given = post(
            client, "session_dose", appointment,
            {"dose-dose_mg": "2000", "dose-weight_kg": "", "dose-lot_number": "K-22", "dose-started_at": "09:00",
             "dose-ended_at": "", "dose-drug": ""},
        )  # fmt: skip
        assert given.status_code == 302
        page = client.get(url)
        flagged = client.get(reverse("scheduling:session_summary", args=[appointment.pk])).content.decode()
    assert "The dose given departs from the checked plan" in flagged
    assert "2000 mg (28.571 mg/kg) was given; the checked plan was 35 mg (0.5 mg/kg)." in flagged
    html = page.content.decode()
    assert "Dose recorded as given: 2000 mg (28.571 mg/kg). Flagged" in html
    assert "Dose flagged" in html and "the checked plan was 35 mg" in html
    correction = page.context["dose_form"]
    assert correction.initial["dose_mg"] == Decimal(2000)
    assert correction.initial["weight_kg"] == Decimal(70)
    assert correction.initial["lot_number"] == "K-22"
    assert correction.initial["started_at"].strftime("%H:%M") == "09:00"
    assert 'value="K-22"' in html and 'value="70.0"' in html
    # Posting the correction form back as it came, with only the dose changed, is accepted.
    data = {f"dose-{name}": "" if value is None else str(value) for name, value in correction.initial.items()}
    data.update({"dose-dose_mg": "35", "dose-started_at": "09:00", "dose-ended_at": "", "dose-drug": ""})
    with time_machine.travel(DOSED + timedelta(minutes=3), tick=False):
        assert post(client, "session_dose", appointment, data).status_code == 302
        summary = client.get(reverse("scheduling:session_summary", args=[appointment.pk])).content.decode()
    record = SessionRecord.objects.get(appointment=appointment)
    assert (record.dose_mg, record.weight_kg, record.lot_number) == (Decimal(35), Decimal(70), "K-22")
    assert "Dose flagged" not in summary and "Planned dose (checked before dosing)" in summary


def test_the_override_through_the_discharge_form(client, clinic, book, front_desk, clinician):
    appointment = dosed_iv(book, clinic, by=front_desk, clinician_user=clinician)
    vitals(appointment, "at_40_min", DOSED + timedelta(minutes=40), by=front_desk)
    vitals(appointment, "pre_discharge", INFUSION_ENDS + timedelta(minutes=10), by=front_desk)
    with time_machine.travel(INFUSION_ENDS + timedelta(minutes=12), tick=False):
        client.force_login(front_desk)
        page = client.get(reverse("scheduling:session_day", args=[appointment.pk])).content.decode()
        assert "Only a clinician can discharge before the minimum time" in page
        assert "discharge-override_reason" not in page
        refused = post(client, "session_discharge", appointment, {"discharge-escort_present": "on"})
        assert refused.status_code == 409
        assert "12 minutes so far" in refused.content.decode()
        client.logout()
        client.force_login(clinician)
        page = client.get(reverse("scheduling:session_day", args=[appointment.pk])).content.decode()
        assert "discharge-override_reason" in page
        done = post(
            client, "session_discharge", appointment,
            {"discharge-escort_present": "on", "discharge-override_reason": "Stable; transport leaving now"},
        )  # fmt: skip
        assert done.status_code == 302
    record = SessionRecord.objects.get(appointment=appointment)
    assert record.discharge_override_reason == "Stable; transport leaving now"
    assert record.discharge_override_by == clinician
    # The audit trail names who did it, from the request.
    override = [
        event
        for event in AuditEvent.objects.filter(table_name="scheduling_sessionrecord", row_pk=str(record.pk))
        if (event.new_data or {}).get("discharge_override_reason")
    ]
    assert [event.actor_id for event in override] == [clinician.pk]
