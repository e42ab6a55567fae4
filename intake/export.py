"""Everything the clinic holds about a patient, for the patient to download (JSON and PDF).

The export is built from sections (settings.PATIENT_EXPORT_SECTIONS), each a function patient -> (title, data), so
each app contributes what it stores. A title is English marked with gettext_noop: the JSON keys stay the same in
every language, for machines; the PDF translates it. Internal bookkeeping (row ids of other people, password hashes) is left out.

What staff write about a patient is part of the patient's record, and HIPAA's right of access (45 CFR 164.524) and
the Cures Act's information-blocking rule give the patient a copy of it: a clinician's reasons, notes and ratings
are in the download even where the portal does not show them (psychotherapy notes, which the app does not keep,
would be the exception). Each form that takes such a note says so with IN_THE_DOWNLOAD. docs/security.md lists
what the download holds.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from clinic import policies
from intake.models import (
    ConsentRecord,
    EligibilityDecision,
    Intake,
    IntakeSubmission,
    Patient,
    SmsConsentEvent,
    UrgentAlert,
)
from intake.steps import STEPS_BY_KEY

# The help text of every staff note the portal does not show but the download holds: the patient may read it.
IN_THE_DOWNLOAD = gettext_lazy(
    "The patient does not see it in their portal, but it is part of their record and is included when they "
    "download their data: write it as you would for them to read."
)

PATIENT_FIELDS = [
    "legal_first_name", "legal_last_name", "preferred_name", "date_of_birth", "email", "email_verified_at", "phone",
    "address_line1", "address_line2", "city", "state", "postal_code", "emergency_contact_name",
    "emergency_contact_phone", "emergency_contact_relationship", "reminder_channel", "sms_consent_at", "created_at",
]  # fmt: skip


def details_section(patient: Patient) -> tuple[str, Any]:
    return gettext_noop("Your details"), {name: getattr(patient, name) for name in PATIENT_FIELDS}


def intake_section(patient: Patient) -> tuple[str, Any]:
    drafts = [
        {"status": intake.status, "started_at": intake.started_at, "updated_at": intake.updated_at,
         "answers": {k: v for k, v in intake.answers.items() if not k.startswith("_")}}
        for intake in Intake.objects.filter(patient=patient, status=Intake.Status.IN_PROGRESS)
    ]  # fmt: skip
    submissions = [
        {
            "kind": s.get_kind_display(),
            "submitted_at": s.submitted_at,
            "answers": s.answers,
            "questionnaire_versions": s.instrument_versions,
            "scores": s.scores,
            "findings_for_your_clinician": s.findings,
            "treatment_resistant_depression": s.trd,
            "bmi": s.bmi,
        }
        for s in IntakeSubmission.objects.filter(patient=patient).order_by("submitted_at")
    ]
    return gettext_noop("Intake and screenings"), {"intake_in_progress": drafts, "submissions": submissions}


def consent_section(patient: Patient) -> tuple[str, Any]:
    return gettext_noop("Consents you signed"), [
        {"document": str(c.get_kind_display()), "what": str(c.get_action_display()), "version": c.version,
         "signed_as": c.typed_name, "signed_at": c.agreed_at, "from_address": c.ip_address,
         "text_sha256": c.text_sha256}
        for c in ConsentRecord.objects.filter(patient=patient).order_by("agreed_at")
    ]  # fmt: skip


def sms_consent_section(patient: Patient) -> tuple[str, Any]:
    return gettext_noop("Text messages"), [
        {"what": e.get_change_display(), "how": e.get_source_display(), "number": e.phone, "your_reply": e.reply,
         "at": e.at}
        for e in SmsConsentEvent.objects.filter(patient=patient).order_by("at", "pk")
    ]  # fmt: skip


def staff_name(user) -> str:
    """A member of staff as the patient's record names them (never their email address)."""
    return (user.full_name or _("A member of staff")) if user is not None else ""


def alerts_section(patient: Patient) -> tuple[str, Any]:
    alerts = UrgentAlert.objects.filter(patient=patient).select_related("acknowledged_by")
    return gettext_noop("Safety alerts"), [
        {"raised_at": a.created_at, "reasons": a.reasons, "acknowledged_at": a.acknowledged_at,
         "acknowledged_by": staff_name(a.acknowledged_by), "what_was_done": a.acknowledgement_note}
        for a in alerts.order_by("created_at")
    ]  # fmt: skip


def decisions_section(patient: Patient) -> tuple[str, Any]:

    decisions = EligibilityDecision.objects.filter(patient=patient).select_related("decided_by", "submission")
    rows = []
    for d in decisions.order_by("decided_at"):
        labels = {f.get("code"): f.get("label") for f in (d.submission.findings if d.submission else [])}
        rows.append(
            {"decided_at": d.decided_at, "signed_by": staff_name(d.decided_by),
             "outcome": d.get_outcome_display(), "treatment": d.get_modality_display(), "reason": d.reason,
             "message_to_you": d.message_to_patient,
             "steps_to_answer_again": [STEPS_BY_KEY[k].title if k in STEPS_BY_KEY else k for k in d.reopened_steps],
             "findings_overridden": [labels.get(code) or code for code in d.overridden_findings],
             "why_treatment_is_safe_despite_them": d.override_justification}
        )  # fmt: skip
    return gettext_noop("Treatment decisions"), rows


def build_export(patient: Patient) -> dict[str, Any]:
    sections = [import_string(path)(patient) for path in settings.PATIENT_EXPORT_SECTIONS]
    return {
        "clinic": policies.value("CLINIC_NAME"),
        "exported_at": timezone.now(),
        "sections": {title: data for title, data in sections},
    }


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal | Promise):
        return str(value)  # a Promise: a label marked for translation, in the patient's language
    return value


def export_json(patient: Patient) -> str:
    return json.dumps(build_export(patient), default=_plain, indent=2, ensure_ascii=False)
