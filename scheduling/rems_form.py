"""The SPRAVATO REMS Patient Monitoring Form, field by field, as plain data: no ORM, no request, no clock.

One list of fields drives the page, the completeness check that guards "mark sent", and the PDF, so the three
cannot drift apart. The fields and their definitions follow the June 2024 copy of the outpatient form as
summarised in the clinical reference (section 3.3a), with opioids added from the manufacturer's form overview
video. That copy was not checked against spravatorems.com, which cannot be reached from where this was written:
compare FORM_VERSION with the form the REMS publishes before relying on it (docs/scheduling.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from clinic.local_time import format_time_of_day
from scheduling.session_rules import SPRAVATO_MIN_MONITORING_MINUTES

FORM_TITLE = "SPRAVATO® REMS Patient Monitoring Form (outpatient use only)"
FORM_VERSION = "June 2024 copy, not verified against spravatorems.com"
SUBMIT_WITHIN_DAYS = 7
SUBMIT_HOW = (
    "Submit within 7 days of the session, online at www.SPRAVATOrems.com or by fax to 1-877-778-0091."
)
MIN_MONITORING_MINUTES = SPRAVATO_MIN_MONITORING_MINUTES


@dataclass(frozen=True)
class FormField:
    """One answer on the form. ``kind``: text, yes_no, sex, dose, minutes, bp, clock, date (how it is asked and
    printed). ``asked_if`` names a yes/no field: this one is asked (and required) only when that answer is yes.
    ``from_record`` says where the app takes the answer, when it is not typed on this form."""

    key: str
    label: str
    kind: str = "text"
    definition: str = ""
    required: bool = True
    asked_if: str = ""
    from_record: str = ""


@dataclass(frozen=True)
class Section:
    title: str
    fields: tuple[FormField, ...]


YES_NO = "yes_no"

SECTIONS: tuple[Section, ...] = (
    Section(
        "Patient information",
        (
            FormField("patient_first_name", "First name", from_record="the patient's record"),
            FormField("patient_last_name", "Last name", from_record="the patient's record"),
            FormField("patient_birthdate", "Birthdate", "date", from_record="the patient's record"),
            FormField("patient_sex", "Sex", "sex", "Male, female or other, as the form offers."),
            FormField(
                "rems_patient_id",
                "REMS patient ID",
                required=False,
                from_record="the patient's REMS enrollment",
            ),
            FormField("first_treatment", "Is this the patient's first treatment?", YES_NO),
            FormField(
                "enrolled_in_rems",
                "If first treatment: is the patient enrolled in the SPRAVATO REMS?",
                YES_NO,
                "If not, the Patient Enrollment Form must be submitted before treatment.",
                asked_if="first_treatment",
            ),
        ),
    ),
    Section(
        "Concomitant medication",
        (
            FormField(
                "takes_benzodiazepines",
                "Benzodiazepines",
                YES_NO,
                "Is the patient currently taking medicines of this kind, which may cause sedation or blood "
                "pressure changes?",
            ),
            FormField("takes_sedative_hypnotics", "Non-benzodiazepine sedative hypnotics", YES_NO),
            FormField("takes_psychostimulants", "Psychostimulants", YES_NO),
            FormField("takes_maois", "Monoamine oxidase inhibitors (MAOIs)", YES_NO),
            FormField(
                "takes_opioids",
                "Opioids",
                YES_NO,
                "Named in the manufacturer's form overview video, not on the June 2024 copy.",
                required=False,
            ),
        ),
    ),
    Section(
        "Healthcare provider conducting patient monitoring",
        (
            FormField("provider_first_name", "Provider first name"),
            FormField("provider_last_name", "Provider last name"),
            FormField("provider_phone", "Provider telephone"),
            FormField("provider_email", "Provider email"),
        ),
    ),
    Section(
        "Healthcare setting information",
        (
            FormField("setting_name", "Healthcare setting name"),
            FormField("setting_address1", "Healthcare setting address 1"),
            FormField("setting_address2", "Healthcare setting address 2", required=False),
            FormField("setting_city", "City"),
            FormField("setting_state", "State"),
            FormField("setting_zip", "ZIP"),
        ),
    ),
    Section(
        "Patient treatment session information (administration and monitoring)",
        (
            FormField("treatment_date", "Treatment date", "date", from_record="the appointment"),
            FormField("dose_mg", "Dose administered (mg)", "dose", "56 mg, 84 mg, or another dose."),
            FormField("lot_number", "Lot number"),
            FormField(
                "first_administration_at",
                "First device administered at",
                "clock",
                "The time the patient used the first nasal spray device.",
            ),
            FormField(
                "monitoring_completed_at",
                "Monitoring completed at",
                "clock",
                "The time monitoring ended: the patient was assessed as clinically stable and left.",
            ),
            FormField(
                "total_minutes",
                "Total time (minutes)",
                "minutes",
                "From the first device administration to the completion of monitoring (not check-in to "
                "discharge). The patient must be monitored for at least 2 hours.",
                from_record="computed from the two times above",
            ),
        ),
    ),
    Section(
        "REMS evaluation question",
        (
            FormField(
                "ready_to_leave_minutes",
                "Ready to leave (minutes from start of administration)",
                "minutes",
                "If there were no 2-hour minimum monitoring requirement, when would this patient have been "
                "ready to leave, no longer needing monitoring?",
            ),
        ),
    ),
    Section(
        "Monitoring of vital signs",
        (
            FormField(
                "vitals_ok_before_administration",
                "Vital signs in acceptable range prior to administration?",
                YES_NO,
            ),
            FormField(
                "vitals_ok_at_completion",
                "Vital signs in acceptable range prior to treatment session completion?",
                YES_NO,
            ),
        ),
    ),
    Section(
        "Monitoring of blood pressure",
        (
            FormField("bp_before", "Blood pressure prior to administration (mmHg)", "bp"),
            FormField("bp_40_min", "Blood pressure 40 minutes post-administration (mmHg)", "bp"),
            FormField(
                "bp_at_completion", "Blood pressure prior to treatment session completion (mmHg)", "bp"
            ),
        ),
    ),
    Section(
        "Sedation, dissociation and respiratory depression",
        (
            FormField(
                "sedation",
                "Did the patient experience sedation?",
                YES_NO,
                "Any sedation during the session, whatever its score.",
            ),
            FormField(
                "sedation_resolved",
                "If yes: had the sedation resolved before the patient left?",
                YES_NO,
                asked_if="sedation",
            ),
            FormField(
                "dissociation",
                "Did the patient experience dissociation?",
                YES_NO,
                "Dissociative or perceptual changes: distortion of time or space, illusions, derealization, "
                "depersonalization.",
            ),
            FormField(
                "dissociation_resolved",
                "If yes: had the dissociation resolved before the patient left?",
                YES_NO,
                asked_if="dissociation",
            ),
            FormField(
                "respiratory_depression",
                "Did the patient experience respiratory depression?",
                YES_NO,
                "Changes in breathing or oxygen saturation (pulse oximetry) during monitoring.",
            ),
            FormField(
                "respiratory_depression_resolved",
                "If yes: had the respiratory depression resolved before the patient left?",
                YES_NO,
                asked_if="respiratory_depression",
            ),
        ),
    ),
    Section(
        "Adverse events",
        (
            FormField("adverse_events", "Did the patient experience any adverse event?", YES_NO),
            FormField(
                "adverse_event_serious",
                "If yes: was any adverse event serious?",
                YES_NO,
                "A serious adverse event: death, a life-threatening event, hospitalization, persistent "
                "disability, or an event needing intervention to prevent one of these.",
                asked_if="adverse_events",
            ),
            FormField(
                "adverse_event_description",
                "If yes: describe the adverse event(s)",
                asked_if="adverse_events",
            ),
            FormField(
                "adverse_event_reported",
                "If yes: reported to the SPRAVATO REMS (1-855-382-6022)?",
                YES_NO,
                asked_if="adverse_events",
            ),
        ),
    ),
)

FIELDS: dict[str, FormField] = {f.key: f for section in SECTIONS for f in section.fields}


def total_minutes(
    first_administration_at: datetime | None, monitoring_completed_at: datetime | None
) -> int | None:
    """The form's total time: whole minutes from the first device administration to the completion of
    monitoring. None while either end is unknown or they are in the wrong order."""
    if first_administration_at is None or monitoring_completed_at is None:
        return None
    if monitoring_completed_at < first_administration_at:
        return None
    return int((monitoring_completed_at - first_administration_at).total_seconds() // 60)


def is_answered(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, tuple):
        return all(part is not None for part in value)
    return True


def is_asked(field: FormField, values: Mapping[str, Any]) -> bool:
    return not field.asked_if or values.get(field.asked_if) is True


def missing_fields(values: Mapping[str, Any]) -> list[str]:
    """The labels of the required answers still missing, in the form's order (a follow-up question counts only
    when its question was answered yes)."""
    return [
        f.label
        for section in SECTIONS
        for f in section.fields
        if f.required and is_asked(f, values) and not is_answered(values.get(f.key))
    ]


def inconsistencies(values: Mapping[str, Any]) -> list[str]:
    """Answers that contradict each other: the form cannot go out with these."""
    problems = []
    total = values.get("total_minutes")
    ready = values.get("ready_to_leave_minutes")
    if total is not None and ready is not None and ready > total:
        problems.append(
            f"The patient was ready to leave at {ready} minutes, after monitoring was completed "
            f"({total} minutes): correct one of them."
        )
    first, done = values.get("first_administration_at"), values.get("monitoring_completed_at")
    if first is not None and done is not None and done < first:
        problems.append("Monitoring cannot be completed before the first device was administered.")
    return problems


def warnings(values: Mapping[str, Any]) -> list[str]:
    """True answers the REMS will query: shown, but they do not stop the form going out as it is."""
    total = values.get("total_minutes")
    if total is not None and total < MIN_MONITORING_MINUTES:
        return [f"Monitoring lasted {total} minutes, less than the required {MIN_MONITORING_MINUTES}."]
    return []


def shown(field: FormField, value: Any) -> str:
    """An answer as the form prints it ('' when not answered)."""
    if not is_answered(value):
        return ""
    if field.kind == YES_NO:
        return "Yes" if value else "No"
    if field.kind == "bp":
        return f"{value[0]}/{value[1]}"
    if field.kind == "date":
        return f"{value:%m/%d/%Y}"
    if field.kind == "clock":
        return f"{format_time_of_day(value.time())} {value:%Z}"
    if field.kind == "sex":
        return {"male": "Male", "female": "Female", "other": "Other"}.get(value, str(value))
    if field.kind == "dose":
        return f"{value} mg"
    return str(value)
