"""What the front-desk pages share: who may open them, the location and day a page is for, and a safe way back.

Views parse input and render; every change goes through scheduling.services. Records are fetched through the access
gates in scheduling.selectors, so a page outside someone's reach is a 404. Which locations a person may see (the
location pickers, the booking forms' choices, the lists) is scheduling.access's rule.
"""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

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
    """The local day asked for in ``key``, else today at the location (with a message if it was not a date)."""
    raw = request.GET.get(key, "")
    if raw:
        try:
            return date.fromisoformat(raw)
        except ValueError:
            messages.error(request, "That date was not understood; showing today instead.")
    return timezone.now().astimezone(location.tz).date()


def safe_next(request: HttpRequest) -> bool:
    """Whether the form's ``next`` is a page of this site to go back to."""
    target = request.POST.get("next", "")
    return bool(target) and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
