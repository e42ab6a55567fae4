"""Free starts as JSON for staff: by chair/room and by clinician at one location over a date range, for the calendar
and the patient self-booking page to draw from.

GET ?location=<id>&treatment=<code>&from=YYYY-MM-DD&to=YYYY-MM-DD (local dates at the location, inclusive; ``to``
defaults to ``from``). Bad input is a 400 with ``{"error": ...}``; a location this person may not see is a 404.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic.access import role_required
from scheduling import selectors
from scheduling.views.pages import STAFF, location_asked

# A month and a day either way of a 30-day month: enough for a month view, and it bounds one request's work.
MAX_DAYS = 31


def _error(message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=400)


def _date(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw or "")
    except ValueError:
        return None


@role_required(*STAFF)
def free_starts(request: HttpRequest) -> HttpResponse:
    location = location_asked(request, among=selectors.picker_locations(request.user))
    code = request.GET.get("treatment", "")
    treatment = selectors.treatment_type_by_code(code) if code else None
    if treatment is None:
        return _error(_("Give treatment: one of the treatment type codes."))
    date_from = _date(request.GET.get("from"))
    if date_from is None:
        return _error(_("Give from as a date, YYYY-MM-DD."))
    date_to = _date(request.GET.get("to")) if request.GET.get("to") else date_from
    if date_to is None:
        return _error(_("Give to as a date, YYYY-MM-DD."))
    if date_to < date_from:
        return _error(_("to is before from."))
    if date_to - date_from >= timedelta(days=MAX_DAYS):
        return _error(_("Ask for at most %(days)d days at a time.") % {"days": MAX_DAYS})
    found = selectors.free_calendar(
        location=location, treatment_type=treatment, date_from=date_from, date_to=date_to, now=timezone.now()
    )

    def stamps(starts):
        return [start.isoformat().replace("+00:00", "Z") for start in starts]

    by_resource = found.by_resource()
    by_clinician = found.by_clinician()
    return JsonResponse(
        {
            "location": location.pk,
            "time_zone": location.time_zone,
            "treatment": treatment.code,
            "minutes": treatment.chair_minutes,
            "from": date_from.isoformat(),
            "to": date_to.isoformat(),
            "resources": [
                {"id": pk, "name": name, "starts": stamps(by_resource[pk])}
                for pk, name in sorted(found.resource_names.items())
            ],
            "clinicians": [
                {"id": pk, "name": name, "starts": stamps(by_clinician[pk])}
                for pk, name in sorted(found.clinician_names.items())
            ],
        }
    )
