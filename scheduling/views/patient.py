"""The patient's own appointments: confirm, cancel, ask to move, book (when the clinic allows it)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from clinic import policies
from clinic.access import SignedInRequest, role_required
from clinic.parsing import requested_moment
from clinic.roles import Role
from intake.eligibility import booking_eligibility
from intake.selectors import patient_for_user
from scheduling import selectors, services
from scheduling.models import Appointment, TreatmentType
from scheduling.selectors import WEEKDAY_NAMES


@role_required(Role.PATIENT)
@require_POST
def appointment_action(request: SignedInRequest, pk: int, action: str) -> HttpResponse:
    appointment = selectors.appointment_for_user(request.user, pk)
    now = timezone.now()
    try:
        if action == "confirm":
            services.confirm_by_patient(appointment=appointment, user=request.user, now=now)
            messages.success(request, _("Thank you: your appointment is confirmed."))
        elif action == "cancel":
            done = services.cancel_by_patient(
                appointment=appointment,
                user=request.user,
                reason_code=request.POST.get("reason", ""),
                now=now,
            )
            note = (
                " " + _("It was inside the notice window, so the clinic has been told.")
                if done.late_cancellation
                else ""
            )
            messages.success(request, _("Your appointment is cancelled.") + note)
        elif action == "reschedule":
            services.ask_to_reschedule(appointment=appointment, user=request.user, now=now)
            messages.success(
                request, _("We have told the front desk: they will contact you with a new time.")
            )
        else:
            raise Http404("No such action.")
    except services.SchedulingError as exc:
        messages.error(request, exc.message)
        return redirect("portal:home")
    return redirect("portal:home")


def _chosen_weekdays(request: SignedInRequest) -> list[int]:
    return sorted(
        {int(day) for day in request.GET.getlist("day") if day in {"0", "1", "2", "3", "4", "5", "6"}}
    )


@role_required(Role.PATIENT)
@require_http_methods(["GET", "POST"])
def move(request: SignedInRequest, pk: int) -> HttpResponse:
    """Ask to move a session: free times before and after it on the days that suit the patient, or, when none
    does, a request that the front desk call."""
    appointment = selectors.appointment_for_user(request.user, pk)
    now = timezone.now()
    if appointment.status not in ("booked", "confirmed"):
        messages.error(request, _("Only a booked or confirmed session can be moved. Please call the clinic."))
        return redirect("portal:home")
    status = 200
    if request.method == "POST":
        start = requested_moment(request, "start", now=now)
        try:
            if request.POST.get("action") == "call":
                services.ask_to_reschedule(appointment=appointment, user=request.user, now=now)
                messages.success(
                    request, _("We have told the front desk: they will call you to find a new time.")
                )
                return redirect("portal:home")
            if start is None:
                raise services.BookingRefused(
                    _("Choose one of the times, or ask the front desk to call you.")
                )
            done = services.move_by_patient(appointment=appointment, user=request.user, start=start, now=now)
        except services.SchedulingError as exc:
            messages.error(request, exc.message)
            status = exc.status_code if exc.status_code in (400, 409) else 400
        else:
            if isinstance(done, Appointment):
                messages.success(
                    request, _("Your session is moved. You will get an email with the new time.")
                )
            else:
                messages.success(
                    request,
                    _("We have asked the front desk to move your session to that time. They will call you."),
                )
            return redirect("portal:home")
    weekdays = _chosen_weekdays(request)
    alternatives = selectors.move_alternatives(appointment, now=now, weekdays=weekdays or None)
    context = {
        "appointment": appointment,
        "alternatives": alternatives,
        "days": [
            (number, name, number in alternatives.weekdays) for number, name in enumerate(WEEKDAY_NAMES)
        ],
        "self_booking": policies.value("SCHEDULING_PATIENT_SELF_BOOKING"),
    }
    return render(request, "scheduling/patient_move.html", context, status=status)


@role_required(Role.PATIENT)
@require_http_methods(["GET", "POST"])
def book(request: SignedInRequest) -> HttpResponse:
    """Book a maintenance session from the free times availability offers (when the clinic allows it)."""
    if not policies.value("SCHEDULING_PATIENT_SELF_BOOKING"):
        raise Http404("Online booking is not offered.")
    patient = patient_for_user(request.user)
    now = timezone.now()
    location = patient.location or selectors.first_active_location()
    types = [
        t
        for t in TreatmentType.objects.filter(is_active=True).exclude(modality="consultation")
        if booking_eligibility(patient=patient, modality=t.modality, now=now).allowed
    ]
    chosen = next(
        (
            t
            for t in types
            if str(t.pk) == request.POST.get("treatment_type", request.GET.get("treatment_type"))
        ),
        None,
    )
    status = 200
    if request.method == "POST" and chosen is not None:
        start = requested_moment(request, "start", now=now)
        if start is None:
            messages.error(request, _("Choose one of the free times."))
            status = 400
        else:
            try:
                services.book_by_patient(
                    patient=patient,
                    user=request.user,
                    treatment_type=chosen,
                    location=location,
                    start=start,
                    now=now,
                )
            except services.SchedulingError as exc:
                messages.error(request, exc.message)
                status = 409 if isinstance(exc, services.BookingConflict) else 400
            else:
                messages.success(request, _("Your session is booked. You will get a confirmation."))
                return redirect("portal:home")
    elif request.method == "POST":
        messages.error(request, _("Choose a treatment you are cleared for."))
        status = 400
    slots = []
    if chosen is not None and location is not None:
        today = now.astimezone(location.tz).date()
        slots = selectors.available_slots(
            location=location, treatment_type=chosen, date_from=today + timedelta(days=1),
            date_to=today + timedelta(days=14), now=now, patient=patient,
        )[:60]  # fmt: skip
    context = {"types": types, "chosen": chosen, "slots": slots, "location": location}
    return render(request, "scheduling/patient_book.html", context, status=status)
