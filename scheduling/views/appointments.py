"""One appointment: its page, its next step, cancel, no-show, reschedule, and its calendar file."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from clinic.access import role_required
from clinic.audit import record_patient_view
from clinic.parsing import next_path, requested_day
from clinic.roles import Role
from scheduling import selectors, services
from scheduling.forms import CancelForm, SlotChoiceForm
from scheduling.models import Appointment
from scheduling.reminders.content import appointment_download
from scheduling.views.booking import conflict_payload, merge_options
from scheduling.views.pages import DESK, STAFF, wants_json


@role_required(*STAFF)
def appointment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = selectors.appointment_for_user(request.user, pk)
    record_patient_view(request, patient_id=appointment.patient_id, what="appointment")
    siblings = (
        list(appointment.series.appointments.select_related("resource").order_by("series_index"))
        if appointment.series_id
        else []
    )
    return render(
        request,
        "scheduling/appointment_detail.html",
        {
            "appointment": appointment,
            "location": appointment.location,
            "next_steps": [
                (step, Appointment.Status(step).label)
                for step in services.next_steps(appointment)
                if step in services.TRANSITIONS
            ],
            "can_cancel": Appointment.Status.CANCELLED in services.next_steps(appointment),
            "can_no_show": Appointment.Status.NO_SHOW in services.next_steps(appointment),
            "can_move": appointment.status in (Appointment.Status.BOOKED, Appointment.Status.CONFIRMED),
            "siblings": siblings,
            "is_desk": request.user.role in DESK,
        },
    )


TRANSITION_SERVICES = {
    Appointment.Status.CONFIRMED: lambda a, u, now: services.confirm_appointment(
        appointment=a, confirmed_by=u, now=now
    ),
    Appointment.Status.CHECKED_IN: lambda a, u, now: services.check_in(
        appointment=a, checked_in_by=u, now=now
    ),
    Appointment.Status.IN_SESSION: lambda a, u, now: services.start_session(
        appointment=a, started_by=u, now=now
    ),
    Appointment.Status.RECOVERING: lambda a, u, now: services.start_recovery(appointment=a, by=u, now=now),
    Appointment.Status.DISCHARGED: lambda a, u, now: services.discharge(
        appointment=a, discharged_by=u, now=now
    ),
}


@role_required(*STAFF)
@require_POST
def transition(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = selectors.appointment_for_user(request.user, pk)
    action = TRANSITION_SERVICES.get(request.POST.get("to", ""))
    if action is None:
        messages.error(request, _("Unknown step."))
        return redirect("scheduling:appointment_detail", pk=pk)
    try:
        appointment = action(appointment, request.user, timezone.now())
    except services.SchedulingError as exc:
        if wants_json(request):
            return JsonResponse({"error": exc.message}, status=exc.status_code)
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("Marked %(appointment)s.") % {"appointment": appointment.get_status_display().lower()}
        )
    return redirect(next_path(request, reverse("scheduling:appointment_detail", args=[pk])))


@role_required(*DESK)
@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = selectors.appointment_for_user(request.user, pk)
    form = CancelForm(request.POST or None)
    now = timezone.now()
    hours = services.late_cancel_hours()
    would_be_late = appointment.start_at - now < timedelta(hours=hours)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                appointment = services.cancel_appointment(
                    appointment=appointment, reason=form.reason_text, cancelled_by=request.user, now=now
                )
            except services.SchedulingError as exc:
                form.add_error(None, exc.message)
                status = exc.status_code
            else:
                late = (
                    " " + _("It was marked as a late cancellation.") if appointment.late_cancellation else ""
                )
                messages.success(
                    request, _("Cancelled.%(late)s The chair and clinician are free again.") % {"late": late}
                )
                return redirect("scheduling:appointment_detail", pk=pk)
        else:
            status = 400
    return render(
        request,
        "scheduling/cancel.html",
        {"appointment": appointment, "location": appointment.location, "form": form, "would_be_late": would_be_late,
         "late_hours": hours},
        status=status,
    )  # fmt: skip


@role_required(*DESK)
@require_POST
def no_show(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = selectors.appointment_for_user(request.user, pk)
    try:
        services.mark_no_show(appointment=appointment, marked_by=request.user, now=timezone.now())
    except services.SchedulingError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Marked as a no-show. The chair is free for the rest of the session."))
    # From the day view's arrivals: back to the day, where the freed time can be offered to the waitlist.
    return redirect(next_path(request, reverse("scheduling:appointment_detail", args=[pk])))


@role_required(*DESK)
@require_http_methods(["GET", "POST"])
def reschedule(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = selectors.appointment_for_user(request.user, pk)
    location = appointment.location
    now = timezone.now()
    day = requested_day(
        request,
        "date",
        today=now.astimezone(location.tz).date(),
        fallback=appointment.start_at.astimezone(location.tz).date(),
        instead=_("the session's day"),
    )
    options = selectors.available_slots(
        location=location,
        treatment_type=appointment.treatment_type,
        date_from=day,
        date_to=day,
        now=now,
        patient=appointment.patient,
        ignore_appointment=appointment,
    )
    context = {
        "appointment": appointment,
        "location": location,
        "day": day,
        "options": options,
        "error": None,
    }
    if request.method == "GET":
        context["choice_form"] = SlotChoiceForm(options=options, location=location)
        return render(request, "scheduling/reschedule.html", context)
    choice_form = SlotChoiceForm(request.POST, options=options, location=location)
    context["choice_form"] = choice_form
    if not choice_form.is_valid():
        return render(request, "scheduling/reschedule.html", context, status=400)
    slot = choice_form.cleaned_data["slot"]
    try:
        moved = services.reschedule_appointment(
            appointment=appointment,
            start=slot["start"],
            resource=slot["resource"],
            clinician=slot["clinician"],
            rescheduled_by=request.user,
            now=now,
        )
    except services.SchedulingError as exc:
        if wants_json(request):
            return JsonResponse(conflict_payload(exc, location), status=exc.status_code)
        alternatives = getattr(exc, "alternatives", [])
        context.update(
            error=exc,
            alternatives=alternatives,
            choice_form=SlotChoiceForm(options=merge_options(alternatives, options), location=location),
        )
        return render(request, "scheduling/reschedule.html", context, status=exc.status_code)
    messages.success(
        request,
        _("Moved to %(format_local)s. The patient must confirm again.")
        % {"format_local": services.format_local(moved.start_at, location)},
    )
    return redirect("scheduling:appointment_detail", pk=pk)


# --- Calendar file ----------------------------------------------------------------------------------------------


@role_required(Role.PATIENT, *STAFF)
def appointment_ics(request: HttpRequest, pk: int) -> HttpResponse:
    """An .ics for one appointment. It names no treatment or diagnosis: calendars are synced to other services."""
    appointment = selectors.appointment_for_user(request.user, pk)
    ics = appointment_download(appointment, host=request.get_host().split(":")[0], now=timezone.now())
    response = HttpResponse(ics, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="appointment-{appointment.pk}.ics"'
    return response
