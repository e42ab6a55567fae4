"""Changes to the calendar that bookings depend on: a clinician's time off, a location's closure days, weekly opening
and working hours. Each is refused, with the sessions in the way listed, while booked sessions would fall in it.

The database refuses time off or a closure over holds too (migration 0008), whoever saves first; these services
say which sessions are in the way, in words. Each takes the calendar guard's lock on the clinician or location
before it looks (``holds.lock_calendar``), so bookings in flight have ended and new ones wait: the answer still
holds when the row is written. Weekly hours are rules, not rows a trigger can compare with a span, so for them
this check is the only one. The ``*_refusal`` functions ask the same question without the lock or a write, for a
form that wants to show the answer next to its fields before anything is saved.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, time

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from scheduling import selectors
from scheduling.errors import SchedulingError
from scheduling.models import Clinician, ClinicianTimeOff, Closure, Location, OpeningHours, WorkingHours
from scheduling.services.holds import lock_calendar
from scheduling.services.refusals import raise_if, refusal_for_sessions

# --- Time off -------------------------------------------------------------------------------------------------


def time_off_refusal(
    *, clinician: Clinician, starts_at: datetime, ends_at: datetime
) -> SchedulingError | None:
    """Why time off from ``starts_at`` to ``ends_at`` cannot be saved: the clinician's sessions then, or None."""
    return refusal_for_sessions(
        selectors.sessions_held_by_clinician(clinician.pk, starts_at, ends_at),
        lead=_("%(clinician)s has") % {"clinician": clinician},
        first=_("Hand them to a colleague (front desk: Clinician cover), reschedule or cancel them first"),
    )


@transaction.atomic
def save_time_off(*, time_off: ClinicianTimeOff) -> ClinicianTimeOff:
    """Add, or change, a stretch of a clinician's time off; refused (nothing written) over their booked sessions."""
    lock_calendar("clinician", time_off.clinician_id)
    raise_if(
        time_off_refusal(clinician=time_off.clinician, starts_at=time_off.starts_at, ends_at=time_off.ends_at)
    )
    time_off.save()
    return time_off


@transaction.atomic
def remove_time_off(*, time_off: ClinicianTimeOff) -> None:
    """The clinician works after all: nothing can be in the way of that."""
    time_off.delete()


# --- Closures -------------------------------------------------------------------------------------------------


def closure_refusal(*, location: Location, day) -> SchedulingError | None:
    """Why the location cannot close on local ``day``: the sessions holding its chairs or rooms then, or None."""
    return refusal_for_sessions(
        selectors.sessions_held_at_location_on(location, day),
        lead=_("%(location)s has") % {"location": location.name},
    )


@transaction.atomic
def save_closure(*, closure: Closure) -> Closure:
    """Add, or change, a day the location is closed; refused (nothing written) on a day with booked sessions."""
    lock_calendar("location", closure.location_id)
    # Under the location's lock, two adds of the same day run one after the other: the second sees the first.
    closed_already = _("The location is already closed that day.")
    if (
        Closure.objects.filter(location_id=closure.location_id, date=closure.date)
        .exclude(pk=closure.pk)
        .exists()
    ):
        raise SchedulingError(closed_already, field="date")
    raise_if(closure_refusal(location=closure.location, day=closure.date))
    try:
        with transaction.atomic():
            closure.save()
    except IntegrityError:  # written by a path that took no lock
        raise SchedulingError(closed_already, field="date") from None
    return closure


@transaction.atomic
def remove_closure(*, closure: Closure) -> None:
    """The location opens that day after all."""
    closure.delete()


# --- Weekly hours ---------------------------------------------------------------------------------------------


def opening_hours_refusal(
    *, location: Location, windows: dict[int, list[tuple[time, time]]], now: datetime
) -> SchedulingError | None:
    """Why the location's weekly opening ``windows`` (weekday -> local windows) cannot replace its hours: the
    upcoming sessions they would leave outside, by the booking rule's own test, or None."""
    return refusal_for_sessions(
        selectors.sessions_outside_opening_hours(location, windows, now=now),
        lead=_("These hours would leave %(location)s closed for") % {"location": location.name},
        then=_("booked"),
    )


def working_hours_refusal(
    *, clinician: Clinician, windows: dict[tuple[int, int], list[tuple[time, time]]], now: datetime
) -> SchedulingError | None:
    """Why the clinician's weekly working ``windows`` ((location id, weekday) -> local windows) cannot replace
    their hours: the upcoming sessions whose holds they would leave outside, or None."""
    return refusal_for_sessions(
        selectors.sessions_outside_working_hours(clinician.pk, windows, now=now),
        lead=_("These hours would leave %(clinician)s off duty for") % {"clinician": clinician},
        then=_("booked"),
    )


@transaction.atomic
def set_opening_hours(
    *, location: Location, save: Sequence[OpeningHours], delete: Sequence[OpeningHours], now: datetime
) -> None:
    """Change the location's weekly opening hours (rows to add or change, rows to remove); refused, nothing
    written, if the hours that result would leave an upcoming session outside them."""
    lock_calendar("location", location.pk)
    for row in delete:
        row.delete()
    for row in save:
        row.save()
    windows: dict[int, list[tuple[time, time]]] = defaultdict(list)
    for row in OpeningHours.objects.filter(location=location):
        windows[row.weekday].append((row.opens, row.closes))
    raise_if(opening_hours_refusal(location=location, windows=windows, now=now))


@transaction.atomic
def set_working_hours(
    *, clinician: Clinician, save: Sequence[WorkingHours], delete: Sequence[WorkingHours], now: datetime
) -> None:
    """Change the clinician's weekly working hours (rows to add or change, rows to remove); refused, nothing
    written, if the hours that result would leave one of their upcoming sessions without them."""
    lock_calendar("clinician", clinician.pk)
    for row in delete:
        row.delete()
    for row in save:
        row.save()
    windows: dict[tuple[int, int], list[tuple[time, time]]] = defaultdict(list)
    for row in WorkingHours.objects.filter(clinician=clinician):
        windows[(row.location_id, row.weekday)].append((row.starts, row.ends))
    raise_if(working_hours_refusal(clinician=clinician, windows=windows, now=now))


__all__ = [
    "closure_refusal",
    "opening_hours_refusal",
    "remove_closure",
    "remove_time_off",
    "save_closure",
    "save_time_off",
    "set_opening_hours",
    "set_working_hours",
    "time_off_refusal",
    "working_hours_refusal",
]
