"""Scheduling's part of the patient's "download my data" (intake.export, settings.PATIENT_EXPORT_SECTIONS): their
appointments, each with the record of its session, and their REMS enrollment and waiting-list entries."""

from __future__ import annotations

from django.utils.translation import gettext_noop

from intake.export import staff_name
from scheduling import rems_form
from scheduling.models import Appointment, RemsEnrollment, WaitlistEntry
from scheduling.selectors.rems import form_values


def export_section(patient) -> tuple[str, list[dict]]:
    """The patient's appointments, each with the record of its session, for their "download my data"
    (intake.export)."""
    rows = (
        Appointment.objects.filter(patient=patient)
        .select_related(
            "patient", "location", "treatment_type", "session_record__bp_override_by", "rems_form"
        )
        .prefetch_related("vitals")
        .order_by("start_at")
    )
    return gettext_noop("Appointments"), [
        {
            "starts": appointment.start_at,
            "ends": appointment.end_at,
            "where": appointment.location.name,
            "treatment": appointment.treatment_type.label,
            "status": appointment.get_status_display(),
            "cancellation_reason": appointment.cancellation_reason,
            "note_for_the_care_team": appointment.notes,
            "session_record": _session_export(appointment),
            "rems_monitoring_form": _rems_form_export(appointment),
        }
        for appointment in rows
    ]


def _session_export(appointment: Appointment) -> dict | None:
    record = getattr(appointment, "session_record", None)
    vitals = [
        {"when": v.get_phase_display(), "recorded_at": v.recorded_at, "blood_pressure": f"{v.systolic}/{v.diastolic}",
         "heart_rate": v.heart_rate, "oxygen_saturation_percent": v.spo2}
        for v in appointment.vitals.all()
    ]  # fmt: skip
    if record is None:
        return {"vital_signs": vitals} if vitals else None
    return {
        "escort_or_driver": record.escort_name,
        "escort_or_driver_phone": record.escort_phone,
        "escort_confirmed_at": record.escort_confirmed_at,
        "fasting_confirmed_at": record.fasting_confirmed_at,
        "vital_signs": vitals,
        "blood_pressure_above_limit_cleared_by": staff_name(record.bp_override_by),
        "why_it_was_safe_to_proceed": record.bp_override_reason,
        "drug": record.drug,
        "dose_mg": record.dose_mg,
        "weight_kg": record.weight_kg,
        "dose_mg_per_kg": record.dose_mg_per_kg,
        "route": record.get_route_display(),
        "lot_number": record.lot_number,
        "dose_started_at": record.dose_started_at,
        "dose_ended_at": record.dose_ended_at,
        "dissociation_score_cadss": record.dissociation_score,
        "sedation_score_moaa_s": record.sedation_score,
        "escort_present_at_discharge": record.escort_present_at_discharge,
    }


def _rems_form_export(appointment: Appointment) -> dict | None:
    """The REMS Patient Monitoring Form's answers as printed, and when it was sent."""
    form = getattr(appointment, "rems_form", None)
    if form is None:
        return None
    values = form_values(appointment, form, None)
    return {
        "answers": {
            f.label: rems_form.shown(f, values.get(f.key))
            for f in rems_form.FIELDS.values()
            if rems_form.is_asked(f, values) and not f.from_record
        },
        "sent_at": form.submitted_at,
    }


def requests_export_section(patient) -> tuple[str, dict]:
    """The patient's SPRAVATO REMS enrollment and waiting-list entries, for their "download my data"."""
    rems = RemsEnrollment.objects.filter(patient=patient).first()
    entries = WaitlistEntry.objects.filter(patient=patient).select_related("location", "treatment_type")
    return gettext_noop("REMS enrollment and waiting list"), {
        "rems_enrollment": {"enrolled_on": rems.enrolled_on, "rems_patient_id": rems.rems_patient_id}
        if rems
        else None,
        "waiting_list": [
            {"treatment": e.treatment_type.label, "where": e.location.name, "from": e.earliest_date,
             "until": e.latest_date, "status": e.get_status_display(), "offered_time": e.offered_start,
             "notes": e.notes}
            for e in entries.order_by("created_at")
        ],
    }  # fmt: skip
