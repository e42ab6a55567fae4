"""The day of the session: checklist, re-screen, vitals with BP flags and hard stop, dose, discharge, REMS form."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from scheduling import selectors, services
from scheduling.models import Appointment, RemsEnrollment
from scheduling.session_rules import BpFlag, bp_flag
from tests.factories import A_WEDNESDAY, give_rescreen, local, make_patient, ready_to_dose

pytestmark = pytest.mark.django_db

NINE = local(A_WEDNESDAY, 9)
BEFORE = local(A_WEDNESDAY, 8, 50)


@pytest.mark.parametrize(
    ("bp", "flag"),
    [
        ((140, 90), BpFlag.OK),
        ((141, 80), BpFlag.REVIEW),
        ((130, 91), BpFlag.REVIEW),
        ((180, 100), BpFlag.REVIEW),
        ((181, 90), BpFlag.HARD_STOP),
        ((150, 101), BpFlag.HARD_STOP),
    ],
)
def test_bp_flags_follow_the_limits(bp, flag):
    assert bp_flag(*bp) is flag


@pytest.fixture
def checked_in(clinic, book, front_desk):
    appointment = book(make_patient(), NINE)
    services.check_in(appointment=appointment, checked_in_by=front_desk, now=BEFORE)
    return appointment


def test_dosing_cannot_start_until_checklist_rescreen_and_vitals(checked_in, front_desk):
    with pytest.raises(services.InvalidTransition) as caught:
        services.start_session(appointment=checked_in, started_by=front_desk, now=BEFORE)
    blockers = " ".join(caught.value.blockers)
    assert "check-in checklist" in blockers
    assert "re-screen" in blockers
    assert "pre-dose vital signs" in blockers
    ready_to_dose(checked_in, by=front_desk, now=BEFORE)
    assert (
        services.start_session(appointment=checked_in, started_by=front_desk, now=BEFORE).status
        == "in_session"
    )


def test_a_confirmed_escort_needs_a_name_and_phone(checked_in, front_desk):
    with pytest.raises(services.SessionRefused, match="name and phone"):
        services.record_check_in_checklist(
            appointment=checked_in, escort_name="", escort_phone="", escort_confirmed=True, fasting_confirmed=True,
            recorded_by=front_desk, now=BEFORE,
        )  # fmt: skip


@pytest.mark.parametrize(
    ("typed", "message"),
    [("555-CALL-NOW", "letters are not accepted"), ("12", "does not look like a real number")],
)
def test_an_escort_phone_nobody_can_dial_is_refused_and_nothing_is_saved(checked_in, front_desk, client, typed,
                                                                        message):  # fmt: skip
    from scheduling.models import SessionRecord

    client.force_login(front_desk)
    url = reverse("scheduling:session_checklist", args=[checked_in.pk])
    with time_machine.travel(BEFORE, tick=False):
        refused = client.post(url, {"checklist-escort_name": "Jo Driver", "checklist-escort_phone": typed,
                                    "checklist-escort_confirmed": "on", "checklist-fasting_confirmed": "on"})  # fmt: skip
        assert refused.status_code == 400 and message in refused.content.decode()
        assert not SessionRecord.objects.filter(appointment=checked_in, escort_phone__gt="").exists()
        saved = client.post(url, {"checklist-escort_name": "Jo Driver", "checklist-escort_phone": "617 555 0123",
                                  "checklist-escort_confirmed": "on", "checklist-fasting_confirmed": "on"})  # fmt: skip
    assert saved.status_code == 302
    assert SessionRecord.objects.get(appointment=checked_in).escort_phone == "+16175550123"


def test_a_high_risk_rescreen_blocks_dosing(checked_in, front_desk):
    ready_to_dose(checked_in, by=front_desk, now=BEFORE)
    give_rescreen(checked_in.patient, at=BEFORE + timedelta(minutes=1), cssrs_risk="high")
    with pytest.raises(services.InvalidTransition, match="high suicide risk"):
        services.start_session(
            appointment=checked_in, started_by=front_desk, now=BEFORE + timedelta(minutes=2)
        )


def test_a_rescreen_older_than_24_hours_does_not_count(checked_in, front_desk):
    give_rescreen(checked_in.patient, at=NINE - timedelta(hours=25))
    assert selectors.start_facts(checked_in, starter=front_desk, now=BEFORE).rescreen.done is False
    give_rescreen(checked_in.patient, at=NINE - timedelta(hours=23))
    assert selectors.start_facts(checked_in, starter=front_desk, now=BEFORE).rescreen.done is True


def test_bp_above_140_90_needs_a_clinician_to_start(checked_in, front_desk, clinician):
    ready_to_dose(checked_in, by=front_desk, now=BEFORE, bp=(150, 92))
    with pytest.raises(services.InvalidTransition, match="a clinician decides"):
        services.start_session(appointment=checked_in, started_by=front_desk, now=BEFORE)
    assert (
        services.start_session(appointment=checked_in, started_by=clinician, now=BEFORE).status
        == "in_session"
    )


def test_bp_above_180_100_is_a_hard_stop_until_a_clinician_overrides(checked_in, front_desk, clinician):
    ready_to_dose(checked_in, by=front_desk, now=BEFORE, bp=(185, 95))
    with pytest.raises(services.InvalidTransition, match="hard stop"):
        services.start_session(appointment=checked_in, started_by=clinician, now=BEFORE)
    with pytest.raises(services.SessionRefused, match="Only a clinician"):
        services.override_bp_hard_stop(
            appointment=checked_in, reason="ok", clinician_user=front_desk, now=BEFORE
        )
    with pytest.raises(services.SessionRefused, match="Say why"):
        services.override_bp_hard_stop(
            appointment=checked_in, reason=" ", clinician_user=clinician, now=BEFORE
        )
    services.override_bp_hard_stop(
        appointment=checked_in, reason="Repeat reading after rest, known white-coat pattern", clinician_user=clinician,
        now=BEFORE + timedelta(minutes=1),
    )  # fmt: skip
    # A newer, still high reading needs a new override.
    services.record_vitals(
        appointment=checked_in, phase="pre_dose", systolic=190, diastolic=105, heart_rate=80, spo2=97,
        recorded_by=front_desk, now=BEFORE + timedelta(minutes=2),
    )  # fmt: skip
    with pytest.raises(services.InvalidTransition, match="hard stop"):
        services.start_session(
            appointment=checked_in, started_by=clinician, now=BEFORE + timedelta(minutes=3)
        )
    services.override_bp_hard_stop(
        appointment=checked_in,
        reason="Reviewed again",
        clinician_user=clinician,
        now=BEFORE + timedelta(minutes=4),
    )
    started = services.start_session(
        appointment=checked_in, started_by=clinician, now=BEFORE + timedelta(minutes=5)
    )
    assert started.status == "in_session"


def test_implausible_vitals_are_refused_with_a_message(checked_in, front_desk):
    with pytest.raises(services.SessionRefused, match="SpO2 must be a whole number from 50 to 100"):
        services.record_vitals(
            appointment=checked_in, phase="pre_dose", systolic=120, diastolic=80, heart_rate=70, spo2=120,
            recorded_by=front_desk, now=BEFORE,
        )  # fmt: skip
    with pytest.raises(services.SessionRefused, match="higher than diastolic"):
        services.record_vitals(
            appointment=checked_in, phase="pre_dose", systolic=80, diastolic=90, heart_rate=70, spo2=98,
            recorded_by=front_desk, now=BEFORE,
        )  # fmt: skip


def test_the_dose_record_rules(clinic, book, front_desk, clinician):
    iv = book(make_patient(), NINE)
    ready_to_dose(iv, by=front_desk, now=BEFORE)
    services.start_session(appointment=iv, started_by=front_desk, now=BEFORE)
    with pytest.raises(services.SessionRefused, match="Only a clinician"):
        services.record_dose(
            appointment=iv,
            dose_mg=Decimal(35),
            lot_number="L",
            started_at=BEFORE,
            recorded_by=front_desk,
            now=BEFORE,
        )
    with pytest.raises(services.SessionRefused, match="not plausible"):
        services.record_dose(
            appointment=iv,
            dose_mg=Decimal(35),
            weight_kg=Decimal(700),
            lot_number="L",
            started_at=BEFORE,
            recorded_by=clinician,
            now=BEFORE,
        )
    # Without a weight, the day's weight in the plan is the one the dose is recorded at.
    assert services.record_dose(
        appointment=iv,
        dose_mg=Decimal(35),
        lot_number="L",
        started_at=BEFORE,
        recorded_by=clinician,
        now=BEFORE,
    ).weight_kg == Decimal(70)
    record = services.record_dose(
        appointment=iv, dose_mg=Decimal("41.0"), weight_kg=Decimal("82"), lot_number="L1", started_at=BEFORE,
        ended_at=BEFORE + timedelta(minutes=40), recorded_by=clinician, now=BEFORE + timedelta(minutes=45),
    )  # fmt: skip
    assert record.dose_mg_per_kg == Decimal("0.500")
    assert record.route == "iv"

    patient = make_patient()
    RemsEnrollment.objects.create(patient=patient, enrolled_on=date(2027, 1, 1))
    spravato = book(patient, NINE, chair=1, clinician=1, kind=clinic.spravato)
    ready_to_dose(spravato, by=front_desk, now=BEFORE)
    services.start_session(appointment=spravato, started_by=front_desk, now=BEFORE)
    with pytest.raises(services.SessionRefused, match="56 mg .2 devices. or 84 mg"):
        services.record_dose(
            appointment=spravato,
            dose_mg=Decimal(70),
            lot_number="S",
            started_at=BEFORE,
            recorded_by=clinician,
            now=BEFORE,
        )
    assert (
        services.record_dose(
            appointment=spravato,
            dose_mg=Decimal(84),
            lot_number="S",
            started_at=BEFORE,
            recorded_by=clinician,
            now=BEFORE,
        ).route
        == "intranasal"
    )
    with pytest.raises(services.SessionRefused, match="MOAA/S"):
        services.record_observation_scores(
            appointment=spravato, dissociation_score=10, sedation_score=7, recorded_by=clinician
        )
    services.record_observation_scores(
        appointment=spravato, dissociation_score=10, sedation_score=4, recorded_by=clinician
    )


def test_discharge_lists_what_is_missing(checked_in, front_desk):
    ready_to_dose(checked_in, by=front_desk, now=BEFORE)
    services.start_session(appointment=checked_in, started_by=front_desk, now=BEFORE)
    services.start_recovery(appointment=checked_in, by=front_desk, now=BEFORE + timedelta(minutes=45))
    with pytest.raises(services.InvalidTransition) as caught:
        services.discharge(
            appointment=checked_in, discharged_by=front_desk, now=BEFORE + timedelta(minutes=100)
        )
    text = " ".join(caught.value.blockers)
    assert "Record the dose" in text and "before discharge" in text and "escort" in text


# --- Through the pages ----------------------------------------------------------------------------------------------


def test_a_session_day_from_check_in_to_discharge_through_the_pages(
    client, clinic, book, front_desk, clinician
):
    appointment = book(make_patient(first="Eli", last="Okonkwo"), NINE)
    url = reverse("scheduling:session_day", args=[appointment.pk])
    with time_machine.travel(BEFORE, tick=False):
        client.force_login(front_desk)
        assert client.get(url).status_code == 200
        client.post(
            reverse("scheduling:transition", args=[appointment.pk]), {"to": "checked_in", "next": url}
        )
        bad = client.post(
            reverse("scheduling:session_vitals", args=[appointment.pk]),
            {"vitals-phase": "pre_dose", "vitals-systolic": "80", "vitals-diastolic": "90", "vitals-heart_rate": "70", "vitals-spo2": "98"},
        )  # fmt: skip
        assert bad.status_code == 400
        assert "higher than diastolic" in bad.content.decode()
        client.post(
            reverse("scheduling:session_checklist", args=[appointment.pk]),
            {"checklist-escort_name": "Jo Driver", "checklist-escort_phone": "+16175550123",
             "checklist-escort_confirmed": "on", "checklist-fasting_confirmed": "on"},
        )  # fmt: skip
        give_rescreen(appointment.patient, at=datetime(2027, 3, 3, 12, 0, tzinfo=UTC))
        client.post(
            reverse("scheduling:session_vitals", args=[appointment.pk]),
            {"vitals-phase": "pre_dose", "vitals-systolic": "186", "vitals-diastolic": "96", "vitals-heart_rate": "80", "vitals-spo2": "98"},
        )  # fmt: skip
        page = client.get(url).content.decode()
        assert "Above 180/100: hard stop" in page
        assert "A clinician must review it" in page
        # Front desk cannot record the override (the page is clinicians' only).
        assert (
            client.post(
                reverse("scheduling:session_override", args=[appointment.pk]), {"override-reason": "x"}
            ).status_code
            == 404
        )

    with time_machine.travel(BEFORE + timedelta(minutes=2), tick=False):
        client.logout()
        client.force_login(clinician)
        client.post(
            reverse("scheduling:session_override", args=[appointment.pk]),
            {"override-reason": "Repeat reading after rest 150/88; proceed"},
        )
        client.post(
            reverse("scheduling:session_plan", args=[appointment.pk]),
            {"plan-weight_kg": "70", "plan-mg_per_kg": "0.5"},
        )
        response = client.post(
            reverse("scheduling:transition", args=[appointment.pk]), {"to": "in_session", "next": url}
        )
        assert response.status_code == 302
        appointment.refresh_from_db()
        assert appointment.status == "in_session"
        client.post(
            reverse("scheduling:session_dose", args=[appointment.pk]),
            {"dose-dose_mg": "35", "dose-weight_kg": "70", "dose-lot_number": "K-22", "dose-started_at": "08:52",
             "dose-ended_at": "", "dose-drug": ""},  # recorded as the infusion starts: no end time yet
        )  # fmt: skip
        client.post(
            reverse("scheduling:session_scores", args=[appointment.pk]),
            {"scores-dissociation_score": "12", "scores-sedation_score": "4"},
        )
    # Staff sessions expire after idle time, and these jumps are longer than that: sign in again after each.
    with time_machine.travel(BEFORE + timedelta(minutes=50), tick=False):
        client.logout()
        client.force_login(clinician)
        client.post(
            reverse("scheduling:session_vitals", args=[appointment.pk]),
            {"vitals-phase": "at_40_min", "vitals-systolic": "142", "vitals-diastolic": "88", "vitals-heart_rate": "80", "vitals-spo2": "98"},
        )  # fmt: skip
        client.post(reverse("scheduling:transition", args=[appointment.pk]), {"to": "recovering"})
    with time_machine.travel(BEFORE + timedelta(minutes=100), tick=False):
        client.logout()
        client.force_login(clinician)
        client.post(
            reverse("scheduling:session_vitals", args=[appointment.pk]),
            {"vitals-phase": "pre_discharge", "vitals-systolic": "126", "vitals-diastolic": "82", "vitals-heart_rate": "72", "vitals-spo2": "99"},
        )  # fmt: skip
        refused = client.post(reverse("scheduling:session_discharge", args=[appointment.pk]), {})
        assert refused.status_code == 400
        assert "Confirm the escort or driver is here" in refused.content.decode()
        done = client.post(
            reverse("scheduling:session_discharge", args=[appointment.pk]), {"discharge-escort_present": "on"}
        )
        assert done.status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.DISCHARGED
    record = appointment.session_record
    assert record.dose_mg_per_kg == Decimal("0.500")
    assert record.lot_number == "K-22"
    assert record.bp_override_by == clinician
    summary = client.get(reverse("scheduling:session_summary", args=[appointment.pk])).content.decode()
    assert "Eli Okonkwo" in summary and "K-22" in summary and "186/96" in summary


def test_session_pages_are_404_for_patients(client, clinic, book, patient):
    appointment = book(make_patient(), NINE)
    client.force_login(patient)
    for name in ["scheduling:session_day", "scheduling:session_summary"]:
        assert client.get(reverse(name, args=[appointment.pk])).status_code == 404
    assert client.get(reverse("scheduling:rems_forms_due")).status_code == 404


def test_a_dose_cannot_be_recorded_in_the_future_or_before_the_session(clinic, book, front_desk, clinician):
    iv = book(make_patient(), NINE)
    ready_to_dose(iv, by=front_desk, now=BEFORE)
    services.start_session(appointment=iv, started_by=front_desk, now=BEFORE)
    dose = {
        "appointment": iv,
        "dose_mg": Decimal(35),
        "weight_kg": Decimal(70),
        "lot_number": "L",
        "recorded_by": clinician,
    }
    with pytest.raises(services.SessionRefused, match="cannot be in the future"):
        services.record_dose(**dose, started_at=BEFORE + timedelta(minutes=30), now=BEFORE)
    with pytest.raises(services.SessionRefused, match="before this session began"):
        services.record_dose(**dose, started_at=BEFORE - timedelta(hours=2), now=BEFORE)
    assert services.record_dose(
        **dose, started_at=BEFORE + timedelta(minutes=2), now=BEFORE
    ).dose_mg == Decimal(35)
