"""The day of the session: what the session page shows and the facts the session rules judge (the REMS forms:
scheduling.selectors.rems)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

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


def protocol_of(treatment_type: TreatmentType) -> session_rules.Protocol:
    return session_rules.Protocol(
        min_monitoring_minutes=treatment_type.min_monitoring_minutes,
        monitoring_from_dose_end=treatment_type.monitoring_from == TreatmentType.MonitoringFrom.DOSE_END,
        vitals_at_40_min=treatment_type.vitals_at_40_min_required,
        vitals_before_discharge=treatment_type.vitals_before_discharge_required,
    )


def dose_policy() -> session_rules.DosePolicy:
    return session_rules.DosePolicy(
        default_mg_per_kg=settings.SESSION_IV_DOSE_DEFAULT_MG_PER_KG,
        warn_above_mg_per_kg=settings.SESSION_IV_DOSE_WARN_ABOVE_MG_PER_KG,
        cosign_above_mg_per_kg=settings.SESSION_IV_DOSE_COSIGN_ABOVE_MG_PER_KG,
    )


def plan_awaits_cosign(record: SessionRecord | None, appointment: Appointment) -> bool:
    """An IV plan above the co-signature threshold that no second clinician has co-signed yet."""
    return bool(
        record
        and appointment.treatment_type.modality == TreatmentType.Modality.IV_KETAMINE
        and session_rules.iv_plan_needs_cosign(record.plan_mg_per_kg, dose_policy())
        and record.plan_cosigned_at is None
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
        dose_planned=bool(record and record.dose_planned),
        plan_awaits_cosign=plan_awaits_cosign(record, appointment),
    )


def administered_at(appointment: Appointment, record: SessionRecord | None) -> datetime | None:
    """When the dose was given: the first device, or the infusion's start (the dose record); until it is
    recorded, when dosing started."""
    return (record.dose_started_at if record else None) or appointment.session_started_at


def monitoring_started_at(appointment: Appointment, record: SessionRecord | None) -> datetime | None:
    """Where the protocol's monitoring time runs from: administration, or the end of the dose (the recorded end
    of the infusion, else the moment the team marked dosing finished)."""
    if appointment.treatment_type.monitoring_from == TreatmentType.MonitoringFrom.DOSE_END:
        return (record.dose_ended_at if record else None) or appointment.recovery_started_at
    return administered_at(appointment, record)


def _minutes(start: datetime | None, end: datetime) -> int | None:
    return int((end - start).total_seconds() // 60) if start else None


def discharge_facts(appointment: Appointment, *, now: datetime) -> session_rules.DischargeFacts:
    record = _record_of(appointment)
    modality = appointment.treatment_type.modality
    given = administered_at(appointment, record)
    at_40 = _latest_vitals(appointment, VitalSigns.Phase.AT_40_MIN)
    return session_rules.DischargeFacts(
        is_treatment=modality != TreatmentType.Modality.CONSULTATION,
        protocol=protocol_of(appointment.treatment_type),
        minutes_monitored=_minutes(monitoring_started_at(appointment, record), now),
        dose_recorded=bool(record and record.dose_recorded),
        at_40_min_reading_after=_minutes(given, at_40.recorded_at) if at_40 and given else None,
        pre_discharge_vitals=_latest_vitals(appointment, VitalSigns.Phase.PRE_DISCHARGE) is not None,
        escort_present=bool(record and record.escort_present_at_discharge),
    )


def spravato_schedule_facts(appointment: Appointment) -> tuple[bool, int | None]:
    """(whether this is the patient's first Spravato session, the dose given at their last one)."""
    last = (
        SessionRecord.objects.filter(
            appointment__patient_id=appointment.patient_id,
            appointment__treatment_type__modality=TreatmentType.Modality.SPRAVATO,
            appointment__start_at__lt=appointment.start_at,
            dose_mg__isnull=False,
        )
        .exclude(appointment_id=appointment.pk)
        .order_by("-appointment__start_at")
        .values_list("dose_mg", flat=True)
        .first()
    )
    return last is None, int(last) if last is not None else None


def dose_flags(appointment: Appointment, record: SessionRecord | None) -> list[str]:
    """How the dose given departs from the checked plan (empty when it does not, or none is recorded)."""
    if record is None:
        return []
    return session_rules.dose_flags(
        session_rules.DoseFacts(
            is_iv=appointment.treatment_type.modality == TreatmentType.Modality.IV_KETAMINE,
            plan_dose_mg=record.plan_dose_mg,
            plan_mg_per_kg=record.plan_mg_per_kg,
            plan_weight_kg=record.plan_weight_kg,
            plan_cosigned=record.plan_cosigned_at is not None,
            given_mg=record.dose_mg,
            given_mg_per_kg=record.dose_mg_per_kg,
            given_weight_kg=record.weight_kg,
        ),
        dose_policy(),
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
    discharge: session_rules.DischargeCheck
    pre_dose_flag: session_rules.BpFlag | None
    needs_override: bool
    protocol: session_rules.Protocol
    plan_awaits_cosign: bool
    dose_flags: list[str]
    # Minutes from administration to discharge (or to now, while the patient is still here).
    monitored_minutes: int | None
    # Offered, not required (the treatment type's suggestion): when the next reading during the dose is due.
    next_during_dose_reading_at: datetime | None

    @property
    def discharge_blockers(self) -> list[str]:
        return self.discharge.blockers


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
    given = administered_at(appointment, record)
    every = appointment.treatment_type.vitals_during_dose_every_minutes
    next_during = None
    if every and appointment.status == Appointment.Status.IN_SESSION and given:
        readings = [row.vitals.recorded_at for row in vitals if row.vitals.recorded_at >= given]
        next_during = max([given, *readings]) + timedelta(minutes=every)
    return SessionDay(
        appointment=appointment,
        record=record,
        vitals=vitals,
        rescreen=facts.rescreen,
        start_blockers=session_rules.start_blockers(facts),
        discharge=session_rules.discharge_check(discharge_facts(appointment, now=now)),
        pre_dose_flag=pre_dose_flag,
        needs_override=pre_dose_flag is session_rules.BpFlag.HARD_STOP and not facts.bp_overridden,
        protocol=protocol_of(appointment.treatment_type),
        plan_awaits_cosign=facts.plan_awaits_cosign,
        dose_flags=dose_flags(appointment, record),
        monitored_minutes=_minutes(given, appointment.discharged_at or now),
        next_during_dose_reading_at=next_during,
    )
