"""Times as scheduling shows them: in the location's zone, with the zone named, the date unambiguous (engineering
guide 8). The one formatter behind messages, refusals, emails and the ``clinic_datetime`` template filter."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Protocol


class HasZone(Protocol):
    @property
    def tz(self) -> tzinfo: ...


def format_in_zone(moment: datetime, tz: tzinfo | None) -> str:
    """'Wed 3 Mar 2027, 09:00 EST' in ``tz``."""
    local = moment.astimezone(tz)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M %Z}"


def format_local(moment: datetime, location: HasZone) -> str:
    """'Wed 3 Mar 2027, 09:00 EST' at ``location`` (anything with a ``tz``: a Location)."""
    return format_in_zone(moment, location.tz)
