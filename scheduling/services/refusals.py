"""A refusal in words, one shape for every service that refuses a change: the model's own checks, and the booked
sessions in the way of a change (listed, so the person can move or cancel them first)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from clinic.local_time import format_local
from scheduling.errors import SchedulingError

SESSIONS_LISTED = 8


def refusal_for_sessions(
    sessions,
    *,
    lead: str,
    then: str | None = None,
    first: str | None = None,
) -> SchedulingError | None:
    """'<lead> 3 sessions <then>: Wed 3 Mar 2027, 10:00 EST Ann Lee (Chair 1); …', if there are any.
    ``sessions``: a queryset or a list."""
    total = len(sessions) if isinstance(sessions, list) else sessions.count()
    if not total:
        return None
    listed = "; ".join(
        f"{format_local(a.start_at, a.location)} {a.patient.full_name} ({a.resource.name})"
        for a in sessions[:SESSIONS_LISTED]
    )
    more = (
        " " + _("and %(count)s more") % {"count": total - SESSIONS_LISTED} if total > SESSIONS_LISTED else ""
    )
    return SchedulingError(
        _("%(lead)s %(sessions)s %(then)s: %(listed)s%(more)s. %(first)s, then save this again.")
        % {
            "lead": lead,
            "sessions": ngettext("%(count)s session", "%(count)s sessions", total) % {"count": total},
            "then": _("booked then") if then is None else then,
            "listed": listed,
            "more": more,
            "first": _("Reschedule or cancel them first (front desk, day view)") if first is None else first,
        }
    )


def raise_if(refusal: SchedulingError | None) -> None:
    if refusal is not None:
        raise refusal


def clean_or_refuse(record) -> None:
    """The model's own checks, as a refusal in words: the form shows them first, this is for any other caller."""
    try:
        record.full_clean()
    except ValidationError as exc:
        field = next(iter(exc.message_dict), None) if hasattr(exc, "error_dict") else None
        raise SchedulingError(" ".join(exc.messages), field=field) from None
