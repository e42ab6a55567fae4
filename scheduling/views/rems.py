"""Spravato REMS monitoring forms: those due, and marking one sent."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from clinic.access import role_required
from clinic.parsing import next_path
from scheduling import selectors, services
from scheduling.views.pages import STAFF, location_asked


@role_required(*STAFF)
@require_POST
def rems_form_submitted(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = selectors.appointment_for_user(request.user, pk)
    try:
        services.mark_rems_form_submitted(appointment=appointment, submitted_by=request.user)
    except services.SchedulingError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "REMS monitoring form marked as sent.")
    return redirect(next_path(request, reverse("scheduling:rems_forms_due")))


@role_required(*STAFF)
def rems_forms_due(request: HttpRequest) -> HttpResponse:
    locations = selectors.picker_locations(request.user)
    location = location_asked(request, among=locations)
    now = timezone.now()
    rows = [
        {"appointment": a, "due": due, "overdue": due < now, "days_left": (due - now).days}
        for a, due in selectors.rems_forms_due(location, now=now)
    ]
    return render(
        request,
        "scheduling/rems_forms_due.html",
        {"location": location, "locations": locations, "rows": rows, "date_value": None},
    )
