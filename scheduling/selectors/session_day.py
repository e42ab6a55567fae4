"""The day of the session: what the session page shows and the facts the session rules judge (the REMS forms:
scheduling.selectors.rems)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from clinic.roles import Role
from intake.models import IntakeSubmission, UrgentAlert
from scheduling import session_rules
from scheduling.models import Appointment, RemsEnrollment, SessionRecord, TreatmentType, VitalSigns

RESCREEN_WINDOW = timedelta(hours=24)


def rescreen_state(appointment: Appointment, *, now: datetime) -> session_rules.Rescreen:
    """The re-screen the patient submitted in the 24 hours before the session (or since), and any open alert."""
    latest = (
        IntakeSubmission.objects.filter(
            patient_id=appointment.patient_id,
            kind=IntakeSubmission.Kind.RESCREEN,
            submitted_at__gte=appointment.start_at - RESCREEN_WINDOW,
            submitted_at__lte=now,
        )
        .order_by("-submitted_at")
        .values("cssrs_risk", "is_urgent")
        .first()
    )
    open_alert = UrgentAlert.objects.filter(
        patient_id=appointment.patient_id, acknowledged_at__isnull=True
    ).exists()
    return session_rules.Rescreen(
        done=latest is not None,
        high_risk=bool(latest and (latest["cssrs_risk"] == "high" or latest["is_urgent"])),
        open_alert=open_alert,
    )


def _record_of(appointment: Appointment) -> SessionRecord | None:
    return SessionRecord.objects.filter(appointment_id=appointment.pk).first()


def _latest_vitals(appointment: Appointment, phase: str) -> VitalSigns | None:
    return (
        VitalSigns.objects.filter(appointment_id=appointment.pk, phase=phase).order_by("-recorded_at").first()
    )


def start_facts(appointment: Appointment, *, starter, now: datetime) -> session_rules.StartFacts:
    record = _record_of(appointment)
    pre_dose = _latest_vitals(appointment, VitalSigns.Phase.PRE_DOSE)
    modality = appointment.treatment_type.modality
    is_treatment = modality != TreatmentType.Modality.CONSULTATION
    return session_rules.StartFacts(
        is_treatment=is_treatment,
        is_spravato=modality == TreatmentType.Modality.SPRAVATO,
        checklist_complete=bool(record and record.checklist_complete),
        rescreen=rescreen_state(appointment, now=now) if is_treatment else session_rules.Rescreen(done=True),
        pre_dose_bp=(pre_dose.systolic, pre_dose.diastolic) if pre_dose else None,
        # An override answers the reading it was made for: a newer, worse reading needs a new one.
        bp_overridden=bool(
            record and record.bp_override_at and pre_dose and record.bp_override_at >= pre_dose.recorded_at
        ),
        starter_is_clinician=getattr(starter, "role", None) is Role.CLINICIAN,
        rems_enrolled=RemsEnrollment.objects.filter(patient_id=appointment.patient_id).exists(),
    )


def discharge_facts(appointment: Appointment, *, now: datetime) -> session_rules.DischargeFacts:
    record = _record_of(appointment)
    modality = appointment.treatment_type.modality
    dosed_at = (record.dose_started_at if record else None) or appointment.session_started_at
    return session_rules.DischargeFacts(
        is_treatment=modality != TreatmentType.Modality.CONSULTATION,
        is_spravato=modality == TreatmentType.Modality.SPRAVATO,
        minutes_observed=int((now - dosed_at).total_seconds() // 60) if dosed_at else None,
        dose_recorded=bool(record and record.dose_recorded),
        pre_discharge_vitals=_latest_vitals(appointment, VitalSigns.Phase.PRE_DISCHARGE) is not None,
        escort_present=bool(record and record.escort_present_at_discharge),
    )


@dataclass
class VitalsRow:
    vitals: VitalSigns
    flag: session_rules.BpFlag


@dataclass
class SessionDay:
    appointment: Appointment
    record: SessionRecord | None
    vitals: list[VitalsRow]
    rescreen: session_rules.Rescreen
    start_blockers: list[str]
    discharge_blockers: list[str]
    pre_dose_flag: session_rules.BpFlag | None
    needs_override: bool


def session_day(appointment: Appointment, *, user, now: datetime) -> SessionDay:
    """Everything the session page shows, with the blockers the next step would meet."""
    record = _record_of(appointment)
    vitals = [
        VitalsRow(vitals=v, flag=session_rules.bp_flag(v.systolic, v.diastolic))
        for v in VitalSigns.objects.filter(appointment_id=appointment.pk)
        .select_related("recorded_by")
        .order_by("recorded_at")
    ]
    facts = start_facts(appointment, starter=user, now=now)
    pre_dose_flag = session_rules.bp_flag(*facts.pre_dose_bp) if facts.pre_dose_bp else None
    return SessionDay(
        appointment=appointment,
        record=record,
        vitals=vitals,
        rescreen=facts.rescreen,
        start_blockers=session_rules.start_blockers(facts),
        discharge_blockers=session_rules.discharge_blockers(discharge_facts(appointment, now=now)),
        pre_dose_flag=pre_dose_flag,
        needs_override=pre_dose_flag is session_rules.BpFlag.HARD_STOP and not facts.bp_overridden,
    )
