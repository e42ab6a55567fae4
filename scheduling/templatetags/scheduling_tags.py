"""Times in the location's zone, with the zone named, and status shown in words as well as colour."""

import functools
from datetime import date, datetime
from html import escape

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext, gettext_noop
from django.utils.translation import gettext as _

from clinic.local_time import format_clock, format_day, format_in_zone
from clinic.navigation import NavLink, around_id, nav_items, reverse_once
from clinic.roles import Role
from intake.eligibility import CLEARED, NOT_CLEARED, PENDING
from scheduling.models import Appointment
from scheduling.selectors.schedule import status_words

register = template.Library()


def _tz(location):
    return location.tz if hasattr(location, "tz") else None


@register.filter
def clinic_datetime(moment: datetime | None, location) -> str:
    """'Wed 3 Mar 2027, 09:00 EST' in the location's zone (engineering guide 8: unambiguous dates)."""
    if not moment:
        return ""
    return format_in_zone(moment, _tz(location))


@register.filter
def clinic_time(moment: datetime | None, location) -> str:
    """'09:00' in the location's zone."""
    if not moment:
        return ""
    return format_clock(moment, _tz(location))


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
    return format_day(day)


@register.simple_tag
def status_badge(appointment) -> str:
    """The status as a word on a coloured badge; the colour only repeats what the word says."""
    return format_html(
        '<span class="badge appt-badge appt-{}">{}</span>',
        appointment.status,
        appointment.get_status_display(),
    )


@register.simple_tag
def nav_url(name: str) -> str:
    """``{% url name %}`` for a URL without arguments, reversed once per process (and script prefix): the schedule
    pages' navigation is on the busiest page, where reversing it every time cost as much as the page's own rows."""
    return reverse_once(name)


def _detail_links() -> tuple[str, str]:
    """The appointment detail URL as (before, after) around the id: one reverse() for every link on a page."""
    return around_id("scheduling:appointment_detail")


@register.simple_tag
def day_list_items(schedule) -> str:
    """The day's sessions as list items in time order (the small-screen view of ``selectors.DaySchedule``).

    Built as strings, like ``day_grid_rows`` and for the same measured reason (bench/day_grid.py). Texts are escaped
    (``html.escape``: what Django's escape does, without its lazy-string wrapper, which cost more than the rest).
    """
    before, after = _detail_links()
    words, statuses = _badge_words(get_language() or ""), status_words()
    return mark_safe(  # noqa: S308 - every interpolated text is escaped or our own
        "".join(
            f'<li class="mb-2"><a class="appt appt-{escape(e.status)}" href="{before}{e.pk}{after}">'
            f"<strong>{e.times}</strong> {escape(e.resource_name)} · {escape(e.patient_name)}<br>"
            f"{escape(e.treatment_label)} · {escape(e.clinician_name)} · "
            f'<span class="fw-semibold">{escape(statuses.get(e.status, e.status))}</span>{_risk_badge(e, words)}</a></li>\n'
            for e in schedule.appointments
        )
    )


@functools.cache
def _badge_words(language: str) -> dict[str, str]:
    """The badges' words, escaped, translated once per language and process: a busy day has a hundred badges on
    the grid and the list, and a gettext() each cost more than the rest of the badge."""
    return {
        CLEARED: escape(_("Cleared")),
        NOT_CLEARED: escape(_("Not cleared")),
        PENDING: escape(_("Clearance pending")),
        "rems_missing": escape(_("No REMS enrollment")),
        "rems_enrolled": escape(_("REMS enrolled")),
        "risk": _("Suicide risk: %(risk)s"),
    }


def _risk_badge(entry, words: dict[str, str] | None = None) -> str:
    """The patient's badges on a session: clearance for its treatment (``DayEntry.clearance``, words and colour),
    their current suicide risk when there is one (``DayEntry.risk``, with an open urgent alert said), and for a
    Spravato session the REMS enrollment or its absence (``DayEntry.rems_missing``)."""
    words = words or _badge_words(get_language() or "")
    clearance = ""
    if entry.clearance:
        clearance = (
            f'<br><span class="badge badge-clearance badge-clearance-{escape(entry.clearance)} text-wrap" '
            f'data-clearance="{escape(entry.clearance)}">{words[entry.clearance]}</span>'
        )
    if entry.rems_missing:
        rems = f'<br><span class="badge badge-rems text-wrap">{words["rems_missing"]}</span>'
    elif entry.rems_enrolled and entry.is_spravato:
        rems = f'<br><span class="badge badge-rems-ok text-wrap">{words["rems_enrolled"]}</span>'
    else:
        rems = ""
    if not entry.risk:
        return clearance + rems
    return (
        f'{clearance}<br><span class="badge badge-risk-{escape(entry.risk_level)} text-wrap" data-current-risk>'
        f"{escape(words['risk'] % {'risk': entry.risk})}</span>{rems}"
    )


@register.simple_tag
def session_badges(entry) -> str:
    """A session's badges (clearance, risk, REMS) for a template: the week view's blocks, as the day grid's."""
    return mark_safe(_risk_badge(entry))  # noqa: S308 - built from escaped texts


def _cleaning_note(entry) -> str:
    """The chair's cleaning after the session, which its block covers too (``DayEntry.cleaning_label``)."""
    if not entry.cleaning_label:
        return ""
    return f'<br><span class="small appt-cleaning">{escape(entry.cleaning_label)}</span>'


def _book_columns(schedule, by_clinician: bool) -> list[tuple[str, str]]:
    """Each column's part of a free cell's booking address and its name: the chair or room, or (the clinician view)
    the clinician, the chair then left to the booking panel."""
    key = "by=clinician&amp;clinician" if by_clinician else "resource"
    return [(f"&amp;{key}={int(column.pk)}", escape(column.name)) for column in schedule.resources]


@register.simple_tag
def day_grid_rows(schedule, book_url: str = "", by_clinician: bool = False) -> str:
    """The day grid's table rows (``selectors.DaySchedule.rows``), built here in one pass.

    A day is about 40 rows by a dozen chairs; the same markup in template language costs more than the rest of the
    busiest page together (bench/day_grid.py measures both, figures in bench/README.md), so the rows are joined as
    strings. Every text is escaped.

    With ``book_url`` (front desk, a day not yet over) each empty cell is a link to book that chair (or, with
    ``by_clinician``, that clinician) at that time: the booking panel's address with the column and the start,
    nothing about a patient. Without JavaScript it opens
    the panel as a page; scheduling.js opens it beside the grid instead.
    """
    before, after = _detail_links()
    # Translated once for the whole grid, not once a cell.
    book_text = gettext("Book %(chair)s at %(time)s")
    late_text = " " + escape(gettext("(late)"))
    words, statuses = _badge_words(get_language() or ""), status_words()
    out = []
    columns = _book_columns(schedule, by_clinician) if book_url else []
    for index, row in enumerate(schedule.rows):
        label = (
            row.label if row.hour_start or index == 0 else f'<span class="visually-hidden">{row.label}</span>'
        )
        out.append('<tr class="hour-start">' if row.hour_start else "<tr>")
        out.append(f'<th scope="row">{label}</th>')
        if book_url:
            row_href = f"{book_url}&amp;start={row.at:%Y-%m-%dT%H:%MZ}"
        for col, cell in enumerate(row.cells):
            if cell is None:
                continue  # covered by a session from an earlier row
            entry = cell.entry
            if entry is None:
                if book_url:
                    query, name = columns[col]
                    out.append(
                        f'<td><a class="slot-free" href="{row_href}{query}" data-slot>'
                        f'<span class="visually-hidden">{book_text % {"chair": name, "time": row.label}}</span></a></td>'
                    )
                else:
                    out.append("<td></td>")
                continue
            span = f' rowspan="{cell.rows}"' if cell.rows > 1 else ""
            late = late_text if entry.late_cancellation else ""
            out.append(
                f'<td{span}><a class="appt appt-{escape(entry.status)}" href="{before}{entry.pk}{after}">'
                f"<strong>{entry.times}</strong><br>{escape(entry.patient_name)}<br>"
                f'{escape(entry.treatment_label)}<br><span class="fw-semibold">{escape(statuses.get(entry.status, entry.status))}</span>{late}'
                f"{_risk_badge(entry, words)}{_cleaning_note(entry)}</a></td>"
            )
        out.append("</tr>\n")
    return mark_safe("".join(out))  # noqa: S308 - every interpolated text above is escaped or our own


@register.simple_tag
def location_options(locations, chosen) -> str:
    """The picker's <option>s, the chosen location selected (a tag: on the busiest pages a template loop cost more)."""
    chosen_pk = getattr(chosen, "pk", None)
    return mark_safe(  # noqa: S308 - the names are escaped, the ids are integers
        "".join(
            f'<option value="{int(loc.pk)}"{" selected" if loc.pk == chosen_pk else ""}>{escape(loc.name)}</option>'
            for loc in locations
        )
    )


@register.simple_tag
def status_legend() -> str:
    """What each status colour means, every status named in words (the same on every page: built once a language)."""
    return _status_legend(get_language())


@functools.cache
def _status_legend(language: str) -> str:
    items = "".join(
        f'<li><span class="badge appt-badge appt-{value}">{escape(str(label))}</span></li>'
        for value, label in Appointment.Status.choices
    )
    title = escape(gettext("Status colors"))
    return mark_safe(  # noqa: S308 - our own status values and labels, escaped
        f'<h2 class="visually-hidden">{title}</h2>\n<ul class="legend small mb-3" aria-label="{title}">\n  {items}\n</ul>\n'
    )


# The schedule pages' own navigation: (link, shown to front desk and clinic admins only). Clinicians see Day and Week.
SCHEDULE_LINKS = (
    (NavLink("scheduling:today", gettext_noop("Today")), True),
    (NavLink("scheduling:day", gettext_noop("Day")), False),
    (NavLink("scheduling:week", gettext_noop("Week")), False),
    (NavLink("scheduling:unconfirmed", gettext_noop("Tomorrow: unconfirmed")), True),
    (NavLink("scheduling:waitlist", gettext_noop("Waitlist")), True),
    (NavLink("scheduling:cover", gettext_noop("Clinician cover")), True),
    (NavLink("scheduling:rems_forms_due", gettext_noop("REMS forms due")), True),
    (NavLink("scheduling:patient_search", gettext_noop("Find a patient")), True),
)


@register.inclusion_tag("scheduling/_schedule_nav.html", takes_context=True)
def schedule_nav(context) -> dict:
    """The schedule pages' navigation for the user's role, the page shown marked current."""
    request = context["request"]
    match = getattr(request, "resolver_match", None)
    desk = getattr(request.user, "role", None) in (Role.FRONT_DESK, Role.CLINIC_ADMIN)
    links = [link for link, desk_only in SCHEDULE_LINKS if desk or not desk_only]
    return {"links": nav_items(links, here=match.view_name if match is not None else "")}
