"""What people send (ids in paths, days and times in query strings and forms, where to go next), read within what
the app can hold, so that a crafted value gets a clear message or a 404, never a 500.

The limits: PostgreSQL's bigint ends at 2**63 - 1 (a longer id fails in the database, not as "no such record");
Python's dates end at years 1 and 9999, which a time zone or a day added to them overflows. Days and times are
kept within CALENDAR_YEARS of today, which also refuses typos such as 2207 for 2027.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from django import forms
from django.contrib import messages
from django.http import HttpRequest
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

BIGINT_MAX = 2**63 - 1
CALENDAR_YEARS = 10  # how far from today a day in the calendar may lie
_DIGITS = re.compile(r"[0-9]{1,19}")  # ASCII only: str.isdigit() also accepts "²", which int() refuses


# --- Object ids -------------------------------------------------------------------------------------------------


def object_id(raw: object) -> int | None:
    """A primary key from a query string or a form: None unless it is a whole number from 1 to 2**63 - 1."""
    text = raw.strip() if isinstance(raw, str) else str(raw) if isinstance(raw, int) else ""
    if not _DIGITS.fullmatch(text):
        return None
    number = int(text)
    return number if 0 < number <= BIGINT_MAX else None


class ObjectIdConverter:
    """``<id:pk>`` in URL patterns (registered in clinic.apps): only ids PostgreSQL's bigint holds match, so any
    other number is a 404 like an id that does not exist."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = object_id(value)
        if number is None:
            raise ValueError(f"{value} is not an object id")
        return number

    def to_url(self, value: object) -> str:
        # As Django's int: any number is written (a page may reverse a placeholder id, 0, and replace it).
        return str(value)


# --- Days and times ---------------------------------------------------------------------------------------------


def far_from_today(day: date, today: date | None = None) -> bool:
    """True for a day more than CALENDAR_YEARS (in calendar years) from today."""
    today = today or timezone.localdate()
    return abs(day.year - today.year) > CALENDAR_YEARS


# Marked here, translated where raised (the language of the request).
FAR_FROM_TODAY = gettext_noop("Choose a day within %(years)s years of today.")


def _far_from_today() -> str:
    return _(FAR_FROM_TODAY) % {"years": CALENDAR_YEARS}


def parse_day(raw: str, *, today: date) -> date:
    """A day written 2027-03-03. ValueError, with a message for the person, if it cannot be read or lies more than
    CALENDAR_YEARS from ``today``."""
    try:
        day = date.fromisoformat(raw.strip())
    except ValueError:
        raise ValueError(_("That date was not understood.")) from None
    if far_from_today(day, today):
        raise ValueError(_far_from_today())
    return day


def parse_moment(raw: str, *, now: datetime) -> datetime:
    """A date and time with its UTC offset (2027-03-03T09:00:00-05:00, as the pages send a free time). ValueError,
    with a message for the person, if it cannot be read, has no offset or lies more than CALENDAR_YEARS from
    ``now``."""
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise ValueError(_("That time was not understood.")) from None
    if moment.utcoffset() is None:
        raise ValueError(_("That time was not understood."))
    if far_from_today(moment.date(), now.date()):
        raise ValueError(_far_from_today())
    return moment


def requested_day(request: HttpRequest, key: str, *, today: date, fallback: date, instead: str) -> date:
    """The day a page was asked for (``key`` in the form, else the query string), or ``fallback`` when none is
    given. A day that cannot be used is said on the page (``instead`` names what is shown in its place)."""
    raw = request.POST.get(key) or request.GET.get(key) or ""
    if not raw:
        return fallback
    try:
        return parse_day(raw, today=today)
    except ValueError as exc:
        messages.error(request, _("%(exc)s Showing %(instead)s instead.") % {"exc": exc, "instead": instead})
        return fallback


def requested_moment(request: HttpRequest, key: str, *, now: datetime) -> datetime | None:
    """The aware date and time posted under ``key``, or None when there is none or it cannot be used."""
    try:
        return parse_moment(request.POST.get(key) or "", now=now)
    except ValueError:
        return None


class CalendarDayField(forms.DateField):
    """A day in the clinic's calendar: within CALENDAR_YEARS of today."""

    def validate(self, value: date | None) -> None:
        super().validate(value)
        if value is not None and far_from_today(value):
            raise forms.ValidationError(_far_from_today(), code="far_from_today")


# --- Where to go next -------------------------------------------------------------------------------------------


def next_path(request: HttpRequest, fallback: str) -> str:
    """Where to go once a form is done: the ``next`` the page sent if it is a path on this site, else ``fallback``.
    A bare word would be taken for a view's name by ``redirect()``, another site's address is an open redirect."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback
