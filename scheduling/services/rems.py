"""SPRAVATO REMS: the patient's enrollment (the Patient Enrollment Form), required before a Spravato session, and
the Patient Monitoring Form of each session (scheduling.rems_form), sent within 7 days only once complete."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from clinic.local_time import format_local
from intake.export import staff_name
from intake.models import Patient
from scheduling import rems_form, selectors
from scheduling.errors import InvalidTransition, RemsFormIncomplete, SessionRefused
from scheduling.models import Appointment, RemsEnrollment, RemsMonitoringForm, TreatmentType
from scheduling.services.holds import locked


@transaction.atomic
def record_rems_enrollment(
    *, patient: Patient, enrolled_on: date, rems_patient_id: str = "", recorded_by
) -> RemsEnrollment:
    """Record (or correct) the patient's SPRAVATO REMS Patient Enrollment Form."""
    enrollment, _ = RemsEnrollment.objects.update_or_create(
        patient=patient,
        defaults={
            "enrolled_on": enrolled_on,
            "rems_patient_id": rems_patient_id.strip(),
            "recorded_by": recorded_by,
        },
    )
    return enrollment


@transaction.atomic
def remove_rems_enrollment(*, enrollment: RemsEnrollment) -> None:
    """Take back an enrollment recorded in error (the wrong patient): no Spravato session can be booked on it."""
    enrollment.delete()


# --- The Patient Monitoring Form of each session ----------------------------------------------------------------

# The answers typed on the form (the model's fields that are neither the session's key nor who saved or sent it).
FORM_ANSWERS = tuple(
    f.name
    for f in RemsMonitoringForm._meta.concrete_fields
    if f.name not in ("id", "appointment", "updated_at", "updated_by", "submitted_at", "submitted_by")
)
BP_LIMITS = {"systolic": (40, 300), "diastolic": (20, 200)}


def _form_session(appointment: Appointment) -> Appointment:
    """The appointment re-read under lock, if it is a discharged Spravato session: only those have a form."""
    appointment = locked(appointment)
    if appointment.treatment_type.modality != TreatmentType.Modality.SPRAVATO:
        raise SessionRefused(gettext("Only Spravato sessions have a REMS monitoring form."))
    if appointment.status != Appointment.Status.DISCHARGED:
        raise InvalidTransition(
            gettext(
                "This session is %(appointment)s: its REMS monitoring form is filled in once the patient is discharged."
            )
            % {"appointment": appointment.get_status_display().lower()}
        )
    return appointment


def _refuse_if_sent(form: RemsMonitoringForm, appointment: Appointment) -> None:
    if form.submitted_at is not None:
        sent = format_local(form.submitted_at, appointment.location)
        if form.submitted_by_id:
            message = gettext(
                "This REMS monitoring form was marked sent on %(sent)s by %(staff)s: it stays as it was sent."
            ) % {"sent": sent, "staff": staff_name(form.submitted_by)}
        else:
            message = gettext(
                "This REMS monitoring form was marked sent on %(sent)s: it stays as it was sent."
            ) % {"sent": sent}
        raise InvalidTransition(message)


def _check_answers(answers: Mapping[str, Any]) -> None:
    """Refuse implausible answers with the field they belong to (the database's constraints are the guarantee)."""
    unknown = set(answers) - set(FORM_ANSWERS)
    if unknown:
        raise SessionRefused(
            gettext("The form has no field named %(unknown)s.") % {"unknown": ", ".join(sorted(unknown))}
        )
    sex = answers.get("patient_sex", "")
    if sex and sex not in RemsMonitoringForm.Sex.values:
        raise SessionRefused(gettext("Sex is male, female or other."), field="patient_sex")
    dose = answers.get("dose_mg")
    if dose is not None and not 1 <= dose <= 200:
        raise SessionRefused(
            gettext("Give the dose administered in mg (56 or 84 for Spravato)."), field="dose_mg"
        )
    for bp in ("bp_before", "bp_40_min", "bp_at_completion"):
        systolic, diastolic = answers.get(f"{bp}_systolic"), answers.get(f"{bp}_diastolic")
        label = rems_form.FIELDS[bp].label
        if (systolic is None) != (diastolic is None):
            raise SessionRefused(
                gettext("%(label)s: give both numbers or neither.") % {"label": label}, field=f"{bp}_systolic"
            )
        if systolic is None:
            continue
        for part, value in (("systolic", systolic), ("diastolic", diastolic)):
            low, high = BP_LIMITS[part]
            if not low <= value <= high:
                raise SessionRefused(
                    gettext("%(label)s: %(part)s %(value)s is not plausible (%(low)s-%(high)s).")
                    % {"label": label, "part": part, "value": value, "low": low, "high": high},
                    field=f"{bp}_{part}",
                )
        if systolic <= diastolic:
            raise SessionRefused(
                gettext("%(label)s: systolic must be higher than diastolic.") % {"label": label},
                field=f"{bp}_systolic",
            )
    first, done = answers.get("first_administration_at"), answers.get("monitoring_completed_at")
    if first and done and done < first:
        raise SessionRefused(
            gettext("Monitoring cannot be completed before the first device was administered."),
            field="monitoring_completed_at",
        )
    ready = answers.get("ready_to_leave_minutes")
    if ready is not None and not 0 <= ready <= 1440:
        raise SessionRefused(
            gettext("Give the minutes from the start of administration (0 to 1440)."),
            field="ready_to_leave_minutes",
        )
    total = rems_form.total_minutes(first, done)
    if ready is not None and total is not None and ready > total:
        raise SessionRefused(
            gettext(
                "The patient cannot have been ready to leave at %(ready)s minutes when monitoring was completed at %(total)s minutes."
            )
            % {"ready": ready, "total": total},
            field="ready_to_leave_minutes",
        )


@transaction.atomic
def save_rems_monitoring_form(
    *, appointment: Appointment, answers: Mapping[str, Any], saved_by, now: datetime | None = None
) -> RemsMonitoringForm:
    """Save the answers of a session's REMS Patient Monitoring Form (all of them: a blank answer is saved blank).
    A form may be saved incomplete; it is marked sent only when complete (mark_rems_form_submitted)."""
    now = now or timezone.now()
    appointment = _form_session(appointment)
    form, _ = RemsMonitoringForm.objects.select_for_update().get_or_create(appointment_id=appointment.pk)
    _refuse_if_sent(form, appointment)
    complete = {name: answers.get(name) for name in FORM_ANSWERS}
    _check_answers(complete)
    for name, value in complete.items():
        field = RemsMonitoringForm._meta.get_field(name)
        if value is None and not field.null:
            value = ""  # a text answer left blank
        setattr(form, name, value.strip() if isinstance(value, str) else value)
    form.updated_at = now
    form.updated_by = saved_by
    form.save()
    return form


@transaction.atomic
def mark_rems_form_submitted(
    *, appointment: Appointment, submitted_by, now: datetime | None = None
) -> RemsMonitoringForm:
    """The session's REMS Patient Monitoring Form was sent to the REMS (due within 7 days). Refused, with every
    missing answer named, while the form is incomplete; who sent it and when are recorded (and audited)."""
    now = now or timezone.now()
    appointment = _form_session(appointment)
    form = RemsMonitoringForm.objects.select_for_update().filter(appointment_id=appointment.pk).first()
    if form is not None:
        _refuse_if_sent(form, appointment)
    enrollment = RemsEnrollment.objects.filter(patient_id=appointment.patient_id).first()
    values = selectors.form_values(appointment, form, enrollment)
    missing = rems_form.missing_fields(values)
    problems = rems_form.inconsistencies(values)
    if form is None or missing or problems:
        parts = []
        if missing:
            parts.append(f"missing: {'; '.join(missing)}")
        if problems:
            parts.append(" ".join(problems))
        raise RemsFormIncomplete(
            "The REMS monitoring form cannot be marked sent until it is complete, "
            + (" ".join(parts) if parts else "it has not been filled in yet")
            + ".",
            missing=missing,
            problems=problems,
        )
    form.submitted_at = now
    form.submitted_by = submitted_by
    form.save(update_fields=["submitted_at", "submitted_by"])
    return form
