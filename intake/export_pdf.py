"""The patient's record as a document they can read: their details under the labels of the form they filled in, each
questionnaire under its name with every question and the answer they chose, and every other section in words, with
times in their clinic's zone. The JSON download holds the same data for machines."""

from __future__ import annotations

import io
import re
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from reportlab.lib import colors
from reportlab.lib.pagesizes import letter
from reportlab.lib.styles import StyleSheet1, getSampleStyleSheet
from reportlab.platypus import Flowable, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from clinic import policies
from clinic.local_time import format_day, format_in_zone
from clinic.phones import display_phone
from intake import addresses, scoring
from intake import forms as intake_forms
from intake.answers import StepAnswers, answers_by_step, humanise
from intake.export import PATIENT_FIELDS
from intake.instruments import UnknownInstrumentError, load_instrument
from intake.models import Intake, IntakeSubmission, Patient

# Details the contact form does not ask for, in the words the document uses.
_DETAIL_LABELS = {
    "email_verified_at": gettext_noop("Email address confirmed"),
    "sms_consent_at": gettext_noop("Agreed to text messages"),
    "created_at": gettext_noop("Record created"),
    "reminder_channel": gettext_noop("Appointment reminders by"),
}


E164 = re.compile(r"\+[1-9]\d{6,14}")


class _Writer:
    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone
        self.styles: StyleSheet1 = getSampleStyleSheet()
        self.story: list[Flowable] = []

    def words(self, value: Any) -> str:
        """Any stored value as a person writes it: local times without seconds, Yes/No, a dash for nothing."""
        if value is None or value == "" or value == [] or value == {}:
            return "—"
        if isinstance(value, bool):
            return _("Yes") if value else _("No")
        if isinstance(value, datetime):
            return format_in_zone(value, self.zone)
        if isinstance(value, date):
            return format_day(value)
        if isinstance(value, Decimal):
            return f"{value.normalize():f}"
        if isinstance(value, str) and E164.fullmatch(
            value
        ):  # phone numbers are stored so, and nothing else is
            return display_phone(value)
        if isinstance(value, list) and all(not isinstance(item, dict | list) for item in value):
            return ", ".join(self.words(item) for item in value)
        return str(value)

    def heading(self, text: str, level: int = 2) -> None:
        self.story.append(Paragraph(escape(text), self.styles[f"Heading{level}"]))

    def line(self, label: str, value: str, depth: int = 0) -> None:
        self.story.append(Paragraph(f"<b>{escape(label)}:</b> {escape(value)}", self._style(depth)))

    def text(self, value: str, depth: int = 0) -> None:
        self.story.append(Paragraph(escape(value), self._style(depth)))

    def _style(self, depth: int) -> Any:
        normal = self.styles["Normal"]
        return normal if depth == 0 else normal.clone(f"depth{depth}", leftIndent=14 * depth)

    def table(self, headers: list[str], rows: list[list[str]]) -> None:
        small = self.styles["BodyText"].clone("cell", fontSize=8, leading=10)
        cells = [[Paragraph(f"<b>{escape(h)}</b>", small) for h in headers]]
        cells += [[Paragraph(escape(cell), small) for cell in row] for row in rows]
        table = Table(cells, repeatRows=1, hAlign="LEFT")
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        self.story += [table, Spacer(1, 6)]

    def anything(self, value: Any, depth: int = 0) -> None:
        """A section this module has no layout for (each app's own), as labelled lines and numbered entries."""
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, dict) and item or isinstance(item, list) and _nested(item):
                    self.story.append(Paragraph(f"<b>{escape(humanise(key))}</b>", self._style(depth)))
                    self.anything(item, depth + 1)
                else:
                    self.line(humanise(key), self.words(item), depth)
        elif isinstance(value, list):
            for number, item in enumerate(value, start=1):
                if isinstance(item, dict | list):
                    self.story.append(Paragraph(f"<b>{number}.</b>", self._style(depth)))
                    self.anything(item, depth + 1)
                else:
                    self.text(f"{number}. {self.words(item)}", depth)
        else:
            self.text(self.words(value), depth)


def _nested(items: list[Any]) -> bool:
    return any(isinstance(item, dict | list) for item in items)


def _details(writer: _Writer, patient: Patient) -> None:
    form_fields = intake_forms.ContactForm().fields
    for name in PATIENT_FIELDS:
        value = getattr(patient, name)
        if name == "state" and value in addresses.STATE_NAMES:
            value = addresses.STATE_NAMES[value]
        elif name == "reminder_channel" and value:
            value = dict(form_fields["reminder_channel"].choices).get(value, value)  # type: ignore[attr-defined]
        form_field = form_fields.get(name)
        label = (
            _(_DETAIL_LABELS[name])
            if name in _DETAIL_LABELS
            else (str(form_field.label) if form_field and form_field.label else "")
        )
        writer.line(label or humanise(name), writer.words(value))


def _steps(writer: _Writer, steps: list[StepAnswers]) -> None:
    for step in steps:
        writer.heading(step.title, 4)
        for answer in step.lines:
            writer.line(answer.label, answer.value)
        for table in step.tables:
            writer.text(table.caption)
            writer.table(table.headers, table.rows)


def _scores(writer: _Writer, submission: IntakeSubmission) -> None:
    for code, score in (submission.scores or {}).items():
        if not isinstance(score, dict):
            continue
        try:
            definition = load_instrument(code, submission.instrument_versions.get(code))
            name = definition.title
            band = definition.band_label(score["band"]) if score.get("band") else ""
        except (UnknownInstrumentError, KeyError):
            name, band = humanise(code), str(score.get("band") or "")
        if score.get("total") is not None:
            writer.line(name, f"{score['total']}" + (f" ({band})" if band else ""))
        elif score.get("risk"):
            writer.line(name, scoring.CSSRS_RISK_LABELS.get(score["risk"], str(score["risk"])))


def _screenings(writer: _Writer, patient: Patient) -> None:
    drafts = Intake.objects.filter(patient=patient, status=Intake.Status.IN_PROGRESS)
    submissions = (
        IntakeSubmission.objects.filter(patient=patient).select_related("consent").order_by("submitted_at")
    )
    if not drafts and not submissions:
        writer.text(_("Nothing recorded."))
    for draft in drafts:
        writer.heading(
            _("Intake in progress, last saved %(when)s (not yet sent)")
            % {"when": writer.words(draft.updated_at)},
            3,
        )
        answers = {key: value for key, value in draft.answers.items() if not key.startswith("_")}
        _steps(writer, answers_by_step(IntakeSubmission(answers=answers, instrument_versions={})))
    for submission in submissions:
        writer.heading(
            _("%(kind)s sent %(when)s")
            % {"kind": submission.get_kind_display(), "when": writer.words(submission.submitted_at)},
            3,
        )
        if submission.scores:
            writer.heading(_("Scores"), 4)
            _scores(writer, submission)
        if submission.findings:
            writer.heading(_("For your clinician to look at"), 4)
            for finding in submission.findings:
                writer.text(str(finding.get("label") or humanise(str(finding.get("code", "")))))
        _steps(writer, answers_by_step(submission))


def export_pdf(patient: Patient) -> bytes:
    zone = ZoneInfo(patient.time_zone)
    writer = _Writer(zone)
    styles = writer.styles
    writer.story += [
        Paragraph(
            escape(_("%(clinic)s: your record") % {"clinic": policies.value("CLINIC_NAME")}), styles["Title"]
        ),
        Paragraph(
            escape(
                _("%(name)s, downloaded %(when)s.")
                % {"name": patient.full_name, "when": format_in_zone(timezone.now(), zone)}
            ),
            styles["Normal"],
        ),
        Spacer(1, 12),
    ]
    for path in settings.PATIENT_EXPORT_SECTIONS:
        title, data = import_string(path)(patient)
        section_start = len(writer.story)
        writer.heading(_(title))
        if path == "intake.export.details_section":
            _details(writer, patient)
        elif path == "intake.export.intake_section":
            _screenings(writer, patient)
        elif data in ([], {}, None):
            writer.text(_("Nothing recorded."))
        else:
            writer.anything(data)
        # A section's heading never ends a page alone.
        first = writer.story[section_start : section_start + 2]
        writer.story[section_start : section_start + 2] = [KeepTogether(first)]
        writer.story.append(Spacer(1, 10))
    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer, pagesize=letter, title=_("Your clinic record"), author=policies.value("CLINIC_NAME")
    ).build(writer.story)
    return buffer.getvalue()
