"""The words of a time-sized block (week grid, series preview): its parts said in words, since the phase bar only
draws them, the full text for its tooltip when the block is too narrow to show it all, and a series preview block
said as one item (its accessible name)."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinic.local_time import format_in_zone, format_span_in_zone, format_time_of_day

register = template.Library()

PHASE_NAMES = {
    "prep": gettext_lazy("Check-in"),
    "dosing": gettext_lazy("Dosing"),
    "monitoring": gettext_lazy("Monitoring"),
    "discharge": gettext_lazy("Discharge check"),
    "cleaning": gettext_lazy("Cleaning"),
}


@register.simple_tag
def phase_words(block, location) -> str:
    """'Dosing 9:15 AM–10:00 AM · Monitoring 10:00 AM–11:00 AM · ...' in the location's zone."""
    tz = location.tz
    return " · ".join(
        _("%(phase)s %(start)s–%(end)s")
        % {
            "phase": PHASE_NAMES[kind],
            "start": format_time_of_day(start.astimezone(tz).time()),
            "end": format_time_of_day(end.astimezone(tz).time()),
        }
        for kind, start, end in block.phases
    )


@register.simple_tag
def block_title(block, location) -> str:
    """The block's whole text on one line (its tooltip): times, patient, treatment, status, and its parts."""
    entry = block.entry
    parts = [
        str(part) for part in (entry.times, entry.patient_name, entry.treatment_label, entry.status_label)
    ]
    words = phase_words(block, location)
    return " · ".join([part for part in parts if part] + ([words] if words else []))


@register.filter
def time_of_day(moment) -> str:
    """'9:00 AM', as clinic.local_time writes a time of day."""
    return format_time_of_day(moment)


@register.simple_tag
def series_block_label(block, location) -> str:
    """A block of the series preview as one item, in words, for the keyboard's focus and screen readers: a proposed
    session's number, day and times, chair and clinician, and its conflict (moved, or no free time); the patient's
    session already booked; another session in the chair (taken: its times only, never the other patient)."""
    tz = location.tz
    if block.kind == "proposed":
        session = block.session
        if not session.option:
            return _("Proposed session %(index)s, asked for %(asked)s. No free time: %(reason)s") % {
                "index": session.index,
                "asked": format_in_zone(session.requested_start, tz),
                "reason": session.reason,
            }
        option = session.option
        words = _("Proposed session %(index)s: %(when)s, %(chair)s with %(clinician)s") % {
            "index": session.index,
            "when": format_span_in_zone(option.start, option.end, tz),
            "chair": option.resource_name,
            "clinician": option.clinician_name,
        }
        if session.replaced:
            words += ". " + _("Moved from the time asked (%(asked)s): %(reason)s") % {
                "asked": format_in_zone(session.requested_start, tz),
                "reason": session.reason,
            }
        return words
    appointment = block.appointment
    when = format_span_in_zone(appointment.start_at, appointment.end_at, tz)
    if block.kind == "booked":
        return _("Already booked: %(when)s, %(treatment)s, %(status)s") % {
            "when": when,
            "treatment": appointment.treatment_type.label,
            "status": appointment.get_status_display(),
        }
    return _("%(chair)s: taken, %(when)s") % {"chair": appointment.resource.name, "when": when}
