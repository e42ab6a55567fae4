"""The SPRAVATO REMS Patient Monitoring Form: the forms due, a form's answers as the REMS asks them, and the answers
the app can prefill from the session day, the intake and the clinic's own records."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Q

from intake.medications import rems_concomitant
from intake.models import IntakeSubmission
from scheduling import rems_form, session_rules
from scheduling.models import (
    Appointment,
    Location,
    RemsEnrollment,
    RemsMonitoringForm,
    SessionRecord,
    TreatmentType,
    VitalSigns,
)

REMS_FORM_DAYS = rems_form.SUBMIT_WITHIN_DAYS

# intake.medications.REMS_CONCOMITANT's categories -> the form's questions.
CONCOMITANT_FIELDS = {
    "Benzodiazepines": "takes_benzodiazepines",
    "Sedative-hypnotics and other CNS depressants": "takes_sedative_hypnotics",
    "Psychostimulants": "takes_psychostimulants",
    "Monoamine oxidase inhibitors (MAOIs)": "takes_maois",
    "Opioids": "takes_opioids",
}
BP_FIELDS = {
    "bp_before": VitalSigns.Phase.PRE_DOSE,
    "bp_40_min": VitalSigns.Phase.AT_40_MIN,
    "bp_at_completion": VitalSigns.Phase.PRE_DISCHARGE,
}
# The last line of a US address: "Boston, MA 02118" or "Boston MA 02118-1234".
CITY_STATE_ZIP = re.compile(r"^\s*(?P<city>.+?),?\s+(?P<state>[A-Za-z]{2})\s+(?P<zip>\d{5}(?:-\d{4})?)\s*$")


def rems_form_due_at(appointment: Appointment) -> datetime:
    """The form is due within 7 days of the session: 7 days after its start."""
    return appointment.start_at + timedelta(days=REMS_FORM_DAYS)


@dataclass
class DueForm:
    appointment: Appointment
    due: datetime
    overdue: bool
    days_left: int
    missing: list[str]


def rems_forms_due(location: Location, *, now: datetime) -> list[DueForm]:
    """Discharged Spravato sessions whose Patient Monitoring Form is not sent yet, oldest first, each with its
    deadline, whether it is past, and the answers still missing. Two queries whatever the number of forms."""
    appointments = list(
        Appointment.objects.filter(
            location=location,
            treatment_type__modality=TreatmentType.Modality.SPRAVATO,
            status=Appointment.Status.DISCHARGED,
        )
        .filter(Q(rems_form__isnull=True) | Q(rems_form__submitted_at__isnull=True))
        .select_related("patient", "treatment_type", "resource", "clinician__user", "location", "rems_form")
        .order_by("start_at")
    )
    enrollments = {
        e.patient_id: e
        for e in RemsEnrollment.objects.filter(patient_id__in={a.patient_id for a in appointments})
    }
    rows = []
    for appointment in appointments:
        form = getattr(appointment, "rems_form", None)
        values = form_values(appointment, form, enrollments.get(appointment.patient_id))
        due = rems_form_due_at(appointment)
        rows.append(DueForm(appointment, due, due < now, (due - now).days, rems_form.missing_fields(values)))
    return rows


def rems_form_of(appointment: Appointment) -> RemsMonitoringForm | None:
    return (
        RemsMonitoringForm.objects.select_related("submitted_by", "updated_by")
        .filter(appointment_id=appointment.pk)
        .first()
    )


def _local(moment: datetime | None, appointment: Appointment) -> datetime | None:
    return moment.astimezone(appointment.location.tz) if moment else None


def _bp(form: RemsMonitoringForm | None, key: str) -> tuple[int, int] | None:
    if form is None:
        return None
    systolic, diastolic = getattr(form, f"{key}_systolic"), getattr(form, f"{key}_diastolic")
    return None if systolic is None or diastolic is None else (systolic, diastolic)


def form_values(
    appointment: Appointment, form: RemsMonitoringForm | None, enrollment: RemsEnrollment | None
) -> dict[str, Any]:
    """Every answer of the form by its key (scheduling.rems_form.FIELDS), as saved: what the REMS receives. The
    patient's identity and the treatment date come from their records, the total time is computed."""
    patient = appointment.patient
    values: dict[str, Any] = {
        "patient_first_name": patient.legal_first_name,
        "patient_last_name": patient.legal_last_name,
        "patient_birthdate": patient.date_of_birth,
        "rems_patient_id": enrollment.rems_patient_id if enrollment else "",
        "treatment_date": appointment.start_at.astimezone(appointment.location.tz).date(),
    }
    for key, field in rems_form.FIELDS.items():
        if key in values or field.from_record:
            continue
        if field.kind == "bp":
            values[key] = _bp(form, key)
        elif field.kind == "clock":
            values[key] = _local(getattr(form, key), appointment) if form else None
        else:
            values[key] = getattr(form, key) if form else None
    values["total_minutes"] = rems_form.total_minutes(
        values["first_administration_at"], values["monitoring_completed_at"]
    )
    return values


@dataclass
class RemsFormPage:
    appointment: Appointment
    form: RemsMonitoringForm | None
    values: dict[str, Any]
    missing: list[str]
    inconsistencies: list[str]
    warnings: list[str]
    due: datetime
    concomitant: dict[str, list[str]] | None

    @property
    def sections(self) -> list[tuple[rems_form.Section, list[tuple[rems_form.FormField, str]]]]:
        """Each section with its asked fields and their answers as printed."""
        return [
            (
                section,
                [
                    (f, rems_form.shown(f, self.values.get(f.key)))
                    for f in section.fields
                    if rems_form.is_asked(f, self.values)
                ],
            )
            for section in rems_form.SECTIONS
        ]


def rems_form_page(appointment: Appointment, *, now: datetime) -> RemsFormPage:
    """The form as saved, with what it still lacks, for its page and its PDF."""
    form = rems_form_of(appointment)
    enrollment = RemsEnrollment.objects.filter(patient_id=appointment.patient_id).first()
    values = form_values(appointment, form, enrollment)
    return RemsFormPage(
        appointment=appointment,
        form=form,
        values=values,
        missing=rems_form.missing_fields(values),
        inconsistencies=rems_form.inconsistencies(values),
        warnings=rems_form.warnings(values),
        due=rems_form_due_at(appointment),
        concomitant=concomitant_medicines(appointment),
    )


def concomitant_medicines(appointment: Appointment) -> dict[str, list[str]] | None:
    """What the REMS form asks for as concomitant medicines: those on the patient's latest intake before the
    session, by REMS category (``intake.medications.rems_concomitant``); None when there is no intake."""
    latest = (
        IntakeSubmission.objects.filter(
            patient_id=appointment.patient_id,
            kind=IntakeSubmission.Kind.INTAKE,
            submitted_at__lte=appointment.start_at,
        )
        .order_by("-submitted_at")
        .only("answers")
        .first()
    )
    return rems_concomitant(latest.answers) if latest else None


def _split_name(full_name: str) -> tuple[str, str]:
    first, _, last = full_name.strip().rpartition(" ")
    return (first, last) if first else (last, "")


def _setting_address(location: Location) -> dict[str, str]:
    """The location's free-text address spread over the form's lines; the last line read as city, state, ZIP
    when it looks like one."""
    lines = [line.strip(" ,") for line in location.address.splitlines() if line.strip(" ,")]
    found = {
        "setting_address1": "",
        "setting_address2": "",
        "setting_city": "",
        "setting_state": "",
        "setting_zip": "",
    }
    if lines and (match := CITY_STATE_ZIP.match(lines[-1])):
        found.update(
            setting_city=match["city"].strip(" ,"),
            setting_state=match["state"].upper(),
            setting_zip=match["zip"],
        )
        lines = lines[:-1]
    if lines:
        found["setting_address1"] = lines[0]
        found["setting_address2"] = ", ".join(lines[1:])
    return found


def rems_form_prefill(appointment: Appointment) -> dict[str, Any]:
    """The answers the app can offer for a form not yet saved, by model field: the dose, lot and times from the
    session record, the three blood pressures from the vitals, concomitant medicines from the intake, the
    provider and setting from the clinic's records, the patient's sex from their last form. The clinician
    confirms each; what the app cannot know (resolution at discharge, adverse events, when the patient would
    have been ready) is left blank."""
    record = SessionRecord.objects.filter(appointment_id=appointment.pk).first()
    initial: dict[str, Any] = {}
    previous = (
        RemsMonitoringForm.objects.filter(appointment__patient_id=appointment.patient_id)
        .exclude(appointment_id=appointment.pk)
        .exclude(patient_sex="")
        .order_by("-appointment__start_at")
        .values("patient_sex")
        .first()
    )
    if previous:
        initial["patient_sex"] = previous["patient_sex"]
    earlier_treatment = (
        Appointment.objects.filter(
            patient_id=appointment.patient_id,
            treatment_type__modality=TreatmentType.Modality.SPRAVATO,
            status=Appointment.Status.DISCHARGED,
            start_at__lt=appointment.start_at,
        )
        .exclude(pk=appointment.pk)
        .exists()
    )
    initial["first_treatment"] = not earlier_treatment
    enrollment = RemsEnrollment.objects.filter(patient_id=appointment.patient_id).first()
    session_day: date = appointment.start_at.astimezone(appointment.location.tz).date()
    initial["enrolled_in_rems"] = bool(enrollment and enrollment.enrolled_on <= session_day)
    concomitant = concomitant_medicines(appointment)
    if concomitant is not None:
        for category, names in concomitant.items():
            if category in CONCOMITANT_FIELDS:
                initial[CONCOMITANT_FIELDS[category]] = bool(names)
    if appointment.clinician_id:
        user = appointment.clinician.user
        first, last = _split_name(user.full_name)
        initial.update(
            provider_first_name=first,
            provider_last_name=last,
            provider_phone=user.mobile_phone or appointment.location.phone,
            provider_email=user.email,
        )
    initial["setting_name"] = appointment.location.name
    initial.update(_setting_address(appointment.location))
    if record is not None:
        if record.dose_mg is not None:
            initial["dose_mg"] = int(record.dose_mg)
        initial["lot_number"] = record.lot_number
        initial["first_administration_at"] = record.dose_started_at
        # One score is not the whole session: a score showing the effect is offered as "yes"; none is not "no".
        if record.sedation_score is not None and record.sedation_score < 5:
            initial["sedation"] = True
        if record.dissociation_score:
            initial["dissociation"] = True
    initial["first_administration_at"] = (
        initial.get("first_administration_at") or appointment.session_started_at
    )
    initial["monitoring_completed_at"] = appointment.discharged_at
    latest: dict[str, VitalSigns] = {}
    for vitals in VitalSigns.objects.filter(appointment_id=appointment.pk).order_by("recorded_at"):
        latest[vitals.phase] = vitals
    for key, phase in BP_FIELDS.items():
        if phase in latest:
            initial[f"{key}_systolic"] = latest[phase].systolic
            initial[f"{key}_diastolic"] = latest[phase].diastolic
    # In range when the app's own BP check found nothing to flag; anything flagged is the clinician's answer.
    for key, phase in (
        ("vitals_ok_before_administration", VitalSigns.Phase.PRE_DOSE),
        ("vitals_ok_at_completion", VitalSigns.Phase.PRE_DISCHARGE),
    ):
        if phase in latest and session_rules.bp_flag(latest[phase].systolic, latest[phase].diastolic) is (
            session_rules.BpFlag.OK
        ):
            initial[key] = True
    return initial
