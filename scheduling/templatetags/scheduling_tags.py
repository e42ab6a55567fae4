"""Times in the location's zone, with the zone named, and status shown in words as well as colour."""

from datetime import date, datetime

from django import template
from django.utils.html import format_html

register = template.Library()


def _tz(location):
    return location.tz if hasattr(location, "tz") else None


@register.filter
def clinic_datetime(moment: datetime | None, location) -> str:
    """'Wed 3 Mar 2027, 09:00 EST' in the location's zone (engineering guide 8: unambiguous dates)."""
    if not moment:
        return ""
    local = moment.astimezone(_tz(location))
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M %Z}"


@register.filter
def clinic_time(moment: datetime | None, location) -> str:
    """'09:00' in the location's zone."""
    if not moment:
        return ""
    return f"{moment.astimezone(_tz(location)):%H:%M}"


@register.filter
def clinic_date_iso(moment: datetime | None, location) -> str:
    """The local date of ``moment`` at the location, as YYYY-MM-DD (for links)."""
    if not moment:
        return ""
    return moment.astimezone(_tz(location)).date().isoformat()


@register.filter
def clinic_zone(moment: datetime | None, location) -> str:
    if not moment:
        return ""
    return f"{moment.astimezone(_tz(location)):%Z}"


@register.filter
def long_date(day: date | None) -> str:
    """'Wed 3 Mar 2027'."""
    if not day:
        return ""
    return f"{day:%a} {day.day} {day:%b %Y}"


@register.simple_tag
def status_badge(appointment) -> str:
    """The status as a word on a coloured badge; the colour only repeats what the word says."""
    return format_html(
        '<span class="badge appt-badge appt-{}">{}</span>',
        appointment.status,
        appointment.get_status_display(),
    )
