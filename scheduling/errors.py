"""Scheduling's refusals: one family under ``clinic.errors.Refused`` (``message`` for the person, ``field`` for the
form). Views catch ``SchedulingError``; the subclasses are the ones a caller tells apart.

Kept at the bottom of the app (it imports nothing of scheduling), so that the access rule, the reminder outbox
and the services can all raise them; ``scheduling.services`` re-exports every one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from clinic.errors import Refused

if TYPE_CHECKING:
    from scheduling.selectors import SlotOption


class SchedulingError(Refused):
    """A scheduling rule said no. ``message`` is written for front desk; ``field`` names the form field, if any."""


class BookingRefused(SchedulingError):
    """A gate refused the booking: eligibility, REMS, the past, opening hours, a closure, a bad span."""


class SessionRefused(SchedulingError):
    """A session-day record was refused (missing or implausible values, wrong person)."""


class InvalidTransition(SchedulingError):
    """The appointment is not in a state that allows this step (for example discharging a booked session).
    ``blockers`` lists what is missing, one sentence each."""

    status_code = 409

    def __init__(self, message: str, *, field: str | None = None, blockers: Sequence[str] = ()) -> None:
        super().__init__(message, field=field)
        self.blockers = list(blockers)


class BookingConflict(SchedulingError):
    """Something the session needs is already held at that time. Names it, and offers the nearest free starts."""

    status_code = 409

    def __init__(
        self,
        message: str,
        *,
        taken: str,
        taken_kind: str,
        alternatives: Sequence[SlotOption] = (),
        session_index: int | None = None,
    ) -> None:
        super().__init__(message)
        self.taken = taken
        self.taken_kind = taken_kind
        self.alternatives = list(alternatives)
        self.session_index = session_index


class RemsFormIncomplete(SchedulingError):
    """The REMS Patient Monitoring Form cannot be marked sent: ``missing`` lists the required answers not given,
    ``problems`` the answers that contradict each other."""

    def __init__(self, message: str, *, missing: Sequence[str] = (), problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.missing = list(missing)
        self.problems = list(problems)


class AccessError(SchedulingError):
    """An emergency access that cannot be given as asked; the message says why (``field``: the form field)."""


class LinkRefused(SchedulingError):
    """A reminder's link is forged, used, stale or expired, or what it asks is refused. Written for the patient."""

    status_code = 410


__all__ = [
    "AccessError",
    "BookingConflict",
    "BookingRefused",
    "InvalidTransition",
    "LinkRefused",
    "RemsFormIncomplete",
    "SchedulingError",
    "SessionRefused",
]
