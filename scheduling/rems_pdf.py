"""The REMS Patient Monitoring Form as a PDF laid out like the REMS's own: its title and instructions, then each
section as a boxed table of labels and answers, yes/no answers as ticked boxes. Built from the same field list as
the page (scheduling.rems_form), with reportlab, as intake.export builds the patient's download."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import letter
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from clinic.local_time import format_local
from intake.export import staff_name
from scheduling import rems_form

if TYPE_CHECKING:
    from scheduling.selectors.rems import RemsFormPage


def _yes_no_boxes(value: bool | None) -> str:
    """Both choices printed, the chosen one ticked, as on the paper form ('[X] Yes  [ ] No')."""
    yes = "X" if value is True else " "
    no = "X" if value is False else " "
    return f"[{yes}] Yes   [{no}] No"


def _answer(field: rems_form.FormField, value) -> str:
    if field.kind == rems_form.YES_NO:
        return _yes_no_boxes(value)
    if field.kind == "sex":
        return "   ".join(
            f"[{'X' if value == code else ' '}] {label}"
            for code, label in (("male", "Male"), ("female", "Female"), ("other", "Other"))
        )
    if field.kind == "dose":
        other = value not in (None, 56, 84)
        return (
            f"[{'X' if value == 56 else ' '}] 56 mg   [{'X' if value == 84 else ' '}] 84 mg   "
            f"[{'X' if other else ' '}] Other: {value if other else ''}"
        ).rstrip()
    return rems_form.shown(field, value)


def monitoring_form_pdf(page: RemsFormPage) -> bytes:

    styles = getSampleStyleSheet()
    body, small = styles["Normal"], styles["BodyText"].clone("small", fontSize=8, leading=10)
    appointment, values = page.appointment, page.values
    story: list = [
        Paragraph(escape(rems_form.FORM_TITLE), styles["Title"]),
        Paragraph(
            escape(
                "Complete all required fields after every treatment session for every outpatient enrolled in "
                f"the SPRAVATO REMS. {rems_form.SUBMIT_HOW}"
            ),
            small,
        ),
        Paragraph(
            escape(
                f"Form version: {rems_form.FORM_VERSION}. Session of "
                f"{format_local(appointment.start_at, appointment.location)}; due by "
                f"{format_local(page.due, appointment.location)}."
            ),
            small,
        ),
        Spacer(1, 8),
    ]
    if page.form is not None and page.form.submitted_at:
        who = staff_name(page.form.submitted_by)
        story.append(
            Paragraph(
                escape(
                    f"Marked sent {format_local(page.form.submitted_at, appointment.location)}"
                    + (f" by {who}" if who else "")
                ),
                body,
            )
        )
    elif page.missing:
        story.append(Paragraph(escape(f"Not complete. Missing: {'; '.join(page.missing)}."), body))
    story.append(Spacer(1, 6))
    width = letter[0] - 1.2 * inch
    for section in rems_form.SECTIONS:
        rows = [[Paragraph(f"<b>{escape(section.title)}</b>", body), ""]]
        for field in section.fields:
            if not rems_form.is_asked(field, values):
                continue
            label = escape(field.label) + ("*" if field.required else "")
            if field.definition:
                label += f"<br/><font size=7>{escape(field.definition)}</font>"
            rows.append(
                [Paragraph(label, small), Paragraph(escape(_answer(field, values.get(field.key))), body)]
            )
        table = Table(rows, colWidths=[width * 0.55, width * 0.45])
        table.setStyle(
            TableStyle(
                [
                    ("SPAN", (0, 0), (1, 0)),
                    ("BACKGROUND", (0, 0), (1, 0), colors.HexColor("#e8e8e8")),
                    ("BOX", (0, 0), (-1, -1), 0.75, colors.black),
                    ("INNERGRID", (0, 0), (-1, -1), 0.25, colors.grey),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        story.extend([table, Spacer(1, 6)])
    story.append(Paragraph(escape("* Required field."), small))
    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer,
        pagesize=letter,
        leftMargin=0.6 * inch,
        rightMargin=0.6 * inch,
        topMargin=0.5 * inch,
        bottomMargin=0.5 * inch,
        title="SPRAVATO REMS Patient Monitoring Form",
    ).build(story)
    return buffer.getvalue()
