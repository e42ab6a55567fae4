"""The words of a time-sized block (week grid, series preview): its parts said in words, since the phase bar only
draws them, and the full text for its tooltip when the block is too narrow to show it all."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinic.local_time import format_time_of_day

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
