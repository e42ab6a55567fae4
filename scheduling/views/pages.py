"""What the front-desk pages share: who may open them, and the location and day a page is for (where to go back
to once a form is done is clinic.parsing.next_path, as for every app).

Views parse input and render; every change goes through scheduling.services. Records are fetched through the access
gates in scheduling.selectors, so a page outside someone's reach is a 404. Which locations a person may see (the
location pickers, the booking forms' choices, the lists) is scheduling.access's rule.
"""

from __future__ import annotations

from datetime import date

from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic.parsing import requested_day
from clinic.roles import Role
from scheduling.models import Location

# Front desk books and changes; clinic admins may too. Clinicians see schedules and move sessions along.
DESK = (Role.FRONT_DESK, Role.CLINIC_ADMIN)
STAFF = (Role.FRONT_DESK, Role.CLINICIAN, Role.CLINIC_ADMIN)


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def location_asked(request: HttpRequest, among: list[Location]) -> Location:
    """The location asked for (404 if unknown or inactive), else the first by name. ``among``: the active
    locations this person may see, read once for the page's picker (``selectors.picker_locations``), so that no
    second query is needed."""
    raw = request.GET.get("location") or request.POST.get("location")
    if not raw:
        if not among:
            raise Http404("No clinic location is set up yet.")
        return among[0]
    try:
        pk = int(raw)
    except ValueError:
        raise Http404("No such location.") from None
    for location in among:
        if location.pk == pk:
            return location
    raise Http404("No such location.")


def day_asked(request: HttpRequest, location: Location, key: str = "date") -> date:
    """The local day asked for in ``key``, else today at the location (with a message if it cannot be used:
    clinic.parsing.requested_day)."""
    today = timezone.now().astimezone(location.tz).date()
    return requested_day(request, key, today=today, fallback=today, instead=_("today"))
