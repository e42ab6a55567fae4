"""The waitlist: adding a patient, the list with each one's earliest matching slot, offering, booking,
withdrawing."""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from clinic.access import role_required
from clinic.parsing import next_path, requested_moment
from scheduling import access, selectors, services
from scheduling.forms import WaitlistForm
from scheduling.models import WaitlistEntry
from scheduling.views.pages import DESK, location_asked


@role_required(*DESK)
@require_POST
def waitlist_add(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = selectors.patient_for_booking(request.user, patient_id)
    now = timezone.now()
    upcoming = [a for a in selectors.patient_appointments(patient) if a.end_at > now and a.is_active]
    form = WaitlistForm(
        request.POST, locations=access.visible_locations(request.user), patient=patient, upcoming=upcoming
    )
    if form.is_valid():
        try:
            services.add_to_waitlist(
                patient=patient,
                location=form.cleaned_data["location"],
                treatment_type=form.cleaned_data["treatment_type"],
                earliest_date=form.cleaned_data["earliest_date"],
                latest_date=form.cleaned_data["latest_date"],
                current_appointment=form.cleaned_data["current_appointment"],
                notes=form.cleaned_data["notes"],
                added_by=request.user,
            )
        except services.SchedulingError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Added to the waitlist."))
    else:
        problems = "; ".join(
            f"{form.fields[f].label if f in form.fields else ''}: {' '.join(e)}"
            for f, e in form.errors.items()
        )
        messages.error(request, _("Not added to the waitlist: %(problems)s") % {"problems": problems})
    return redirect("scheduling:patient_detail", patient_id=patient.pk)


@role_required(*DESK)
def waitlist(request: HttpRequest) -> HttpResponse:
    locations = selectors.picker_locations(request.user)
    location = location_asked(request, among=locations)
    matches = selectors.waitlist_matches(location, now=timezone.now())
    return render(
        request,
        "scheduling/waitlist.html",
        {"location": location, "locations": locations, "matches": matches},
    )


def _waitlist_entry(request: HttpRequest, pk: int) -> WaitlistEntry:
    """A waitlist entry at a location this person may see, else 404."""
    try:
        return (
            WaitlistEntry.objects.select_related("location")
            .filter(access.location_filter(request.user))
            .get(pk=pk)
        )
    except WaitlistEntry.DoesNotExist:
        raise Http404("No such waitlist entry.") from None


def _posted_start(request: HttpRequest) -> datetime | None:
    return requested_moment(request, "start", now=timezone.now())


@role_required(*DESK)
@require_POST
def waitlist_action(request: HttpRequest, pk: int) -> HttpResponse:
    """Offer (email), book, or withdraw one waitlist entry."""
    entry = _waitlist_entry(request, pk)
    action = request.POST.get("action")
    back = next_path(request, reverse("scheduling:waitlist") + f"?location={entry.location_id}")
    start = _posted_start(request)
    try:
        if action == "withdraw":
            services.withdraw_from_waitlist(entry=entry, withdrawn_by=request.user)
            messages.success(request, _("Removed from the waitlist."))
        elif action in {"offer", "book"} and start is not None:
            if action == "offer":
                services.send_waitlist_offer(entry=entry, start=start, offered_by=request.user)
                messages.success(
                    request,
                    _("Offer of %(format_local)s emailed to the patient.")
                    % {"format_local": services.format_local(start, entry.location)},
                )
            else:
                appointment = services.book_from_waitlist(entry=entry, start=start, booked_by=request.user)
                messages.success(
                    request,
                    _("Booked %(format_local)s.")
                    % {"format_local": services.format_local(appointment.start_at, entry.location)},
                )
                return redirect("scheduling:appointment_detail", pk=appointment.pk)
        else:
            messages.error(request, _("Unknown waitlist action."))
    except services.SchedulingError as exc:
        messages.error(request, exc.message)
    return redirect(back)


@role_required(*DESK)
@require_GET
def waitlist_gap(request: HttpRequest, pk: int) -> HttpResponse:
    """The time a cancelled or no-show session freed, and who on the waitlist could take it: each offered or
    booked through ``waitlist_action`` (the same services and gates as the waitlist page)."""
    appointment = selectors.appointment_for_user(request.user, pk)  # another location's session: 404
    now = timezone.now()
    freed = not appointment.is_active and appointment.start_at > now
    return render(
        request,
        "scheduling/waitlist_gap.html",
        {
            "appointment": appointment,
            "location": appointment.location,
            "freed": freed,
            "matches": selectors.waitlist_for_gap(appointment, now=now) if freed else [],
        },
        status=200 if freed else 409,
    )
