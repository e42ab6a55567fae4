"""Moving a session on the day grid: a block dragged to an empty cell (or picked with "m" and sent to a cell with
the keyboard). The move is ``services.reschedule_appointment``, the same checks and reminder re-planning as every
move; a clash answers 409 with the sessions in the way and the nearest free times, for the grid to mark where
they are.

Asked by move.js the answer is the result alone (``_move_result.html``); without JavaScript (the result's own
"Move here" buttons) it is the day view again, with the outcome as a message.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinic.access import role_required
from scheduling import selectors, services
from scheduling.forms.cell_move import CellMoveForm
from scheduling.models import Appointment, Location, Resource
from scheduling.views.pages import DESK, location_asked


def cell_key(resource_id: int, start: datetime) -> str:
    """A cell of the day grid as move.js finds it: the chair or room and the start, as the cell's link writes them."""
    return f"{int(resource_id)}@{start.astimezone(UTC):%Y-%m-%dT%H:%MZ}"


def _day_url(location: Location, moment: datetime) -> str:
    day = moment.astimezone(location.tz).date()
    return f"{reverse('scheduling:day')}?{urlencode({'location': location.pk, 'date': day.isoformat()})}"


def _clinician_to_keep(appointment: Appointment, resource: Resource, start: datetime, now: datetime):
    """The session's clinician when they are free with it there, else None (the first free one is taken)."""
    free = selectors.free_option_at(
        location=appointment.location,
        treatment_type=appointment.treatment_type,
        start=start,
        now=now,
        patient=appointment.patient,
        ignore_appointment=appointment,
        resource_id=resource.pk,
        clinician_id=appointment.clinician_id,
    )
    return appointment.clinician if free is not None else None


@role_required(*DESK)
@require_POST
def move_cell(request: HttpRequest) -> HttpResponse:
    """Move the posted session to the posted cell (200), or say why not: 409 for a clash, with what is in the way
    and the nearest free cells; 400 or 409 for a refusal; nothing written either way."""
    location = location_asked(request, among=selectors.picker_locations(request.user))
    now = timezone.now()
    form = CellMoveForm(request.POST, location=location, now=now)
    if not form.is_valid():
        errors = [str(e) for field_errors in form.errors.values() for e in field_errors]
        return _answer(request, location, outcome="refused", status=400, message=" ".join(errors))
    cleaned = form.cleaned_data
    appointment = selectors.appointment_for_user(request.user, cleaned["appointment"])
    if appointment.location_id != location.pk:
        raise Http404("No such appointment.")  # the grid moves its own location's sessions only
    resource, start = cleaned["resource"], cleaned["start"]
    length = appointment.end_at - appointment.start_at
    before = services.format_local(appointment.start_at, location)
    try:
        moved = services.reschedule_appointment(
            appointment=appointment,
            start=start,
            resource=resource,
            clinician=_clinician_to_keep(appointment, resource, start, now),
            end=start + length,
            rescheduled_by=request.user,
            now=now,
        )
    except services.BookingConflict as exc:
        day = start.astimezone(location.tz).date()
        in_the_way = selectors.sessions_in_the_way(
            moving=appointment,
            start=start,
            end=start + length,
            resource_id=resource.pk,
            clinician_id=appointment.clinician_id if exc.taken_kind == "clinician" else None,
            # The patient's clash may be a day's one dosing session rather than an overlap: their day is shown.
            whole_day=selectors.local_day_bounds(location, day) if exc.taken_kind == "patient" else None,
        )
        return _answer(
            request,
            location,
            outcome="conflict",
            status=exc.status_code,
            message=exc.message,
            appointment=appointment,
            target=cell_key(resource.pk, start),
            in_the_way=in_the_way,
            alternatives=[
                (option, cell_key(option.resource_id, option.start)) for option in exc.alternatives
            ],
            back_to=start,
        )
    except services.SchedulingError as exc:
        return _answer(
            request,
            location,
            outcome="refused",
            status=exc.status_code,
            message=exc.message,
            appointment=appointment,
            target=cell_key(resource.pk, start),
            back_to=start,
        )
    message = _(
        "Moved %(patient)s from %(before)s to %(after)s in %(chair)s with %(clinician)s. "
        "The patient must confirm again; their reminders are planned for the new time."
    ) % {
        "patient": moved.patient.full_name,
        "before": before,
        "after": services.format_local(moved.start_at, location),
        "chair": moved.resource.name,
        "clinician": moved.clinician,
    }
    return _answer(
        request,
        location,
        outcome="moved",
        status=200,
        message=message,
        appointment=moved,
        back_to=moved.start_at,
    )


def _answer(
    request: HttpRequest,
    location: Location,
    *,
    outcome: str,
    status: int,
    message: str,
    appointment: Appointment | None = None,
    target: str = "",
    in_the_way: list[int] | None = None,
    alternatives: list | None = None,
    back_to: datetime | None = None,
) -> HttpResponse:
    if not request.htmx:
        (messages.success if outcome == "moved" else messages.error)(request, message)
        return redirect(_day_url(location, back_to) if back_to else reverse("scheduling:day"))
    context = {
        "outcome": outcome,
        "message": message,
        "appointment": appointment,
        "location": location,
        "target": target,
        "in_the_way": in_the_way or [],
        "alternatives": alternatives or [],
    }
    return render(request, "scheduling/_move_result.html", context, status=status)
