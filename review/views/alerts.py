"""Urgent alerts (the list, one alert, its acknowledgement) and emergency access ("break the glass")."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from clinic.access import SignedInRequest, role_required
from clinic.audit import client_ip
from clinic.local_time import format_in_zone
from clinic.parsing import next_path
from clinic.roles import Role
from review.alerts import AlertError, acknowledge_alert
from review.forms import AcknowledgeForm, BreakGlassForm
from review.presenters import alert_screening
from review.selectors import (
    alert_for_clinician,
    all_open_alerts,
    open_alerts,
    patient_zone,
    recently_acknowledged_alerts,
    review_navigation,
)
from review.views.common import log_view, zone_context
from scheduling.access import AccessError, break_glass_duration, break_the_glass, restricts_to_locations
from scheduling.models import Clinician

# --- Urgent alerts ----------------------------------------------------------------------------------------------


@role_required(Role.CLINICIAN, Role.CLINIC_ADMIN)
def alerts(request: SignedInRequest) -> HttpResponse:
    """Open urgent alerts, oldest first. Clinic admins, who are told of escalations, see initials and times only."""
    if request.user.role is Role.CLINIC_ADMIN:
        rows = list(all_open_alerts()[:200])
        return render(
            request,
            "review/alerts_admin.html",
            {"open_alerts": rows, "zone": settings.TIME_ZONE, "on_call": _on_call_names()},
        )
    listing = open_alerts(request.user, limit=200)
    review_navigation(request).already_read(alerts=listing)
    return render(
        request,
        "review/alerts.html",
        {"listing": listing, "acknowledged": recently_acknowledged_alerts(request.user)},
    )


def _on_call_names() -> list[str]:

    return [
        str(clinician)
        for clinician in Clinician.objects.filter(is_on_call=True, user__is_active=True).select_related(
            "user"
        )
    ]


@role_required(Role.CLINICIAN)
@require_http_methods(["GET", "POST"])
def alert(request: SignedInRequest, pk: int) -> HttpResponse:
    """One alert: why it was raised, how to reach the patient, and the acknowledgement form."""
    urgent = alert_for_clinician(request.user, pk)
    patient = urgent.patient
    log_view(request, patient, "review: urgent alert")
    fallback = reverse("review:patient", args=[patient.pk])
    if request.method == "POST" and urgent.acknowledged_at is not None:
        messages.info(
            request,
            _("%(acknowledged_by)s acknowledged this alert already; their note is below.")
            % {"acknowledged_by": urgent.acknowledged_by},
        )
        return redirect("review:alert", pk=urgent.pk)
    form = AcknowledgeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            acknowledge_alert(
                alert_id=urgent.pk,
                acknowledged_by=request.user,
                note=form.cleaned_data["note"],
                now=timezone.now(),
            )
        except AlertError as exc:
            form.add_error("note" if exc.field == "note" else None, exc.message)
            urgent = alert_for_clinician(request.user, pk)
        else:
            messages.success(
                request,
                _("Alert for %(patient)s acknowledged. Your note is recorded.")
                % {"patient": patient.full_name},
            )
            return redirect(next_path(request, fallback))
    screening = alert_screening(urgent)
    return render(
        request,
        "review/alert.html",
        {
            "alert": urgent,
            "patient": patient,
            "form": form,
            "screening": screening,
            "next": next_path(request, fallback),
            **zone_context(patient),
        },
        status=422 if request.method == "POST" and form.errors else 200,
    )


# --- Emergency access ("break the glass") --------------------------------------------------------------------


@role_required(Role.CLINICIAN)
@require_http_methods(["GET", "POST"])
def break_glass(request: SignedInRequest) -> HttpResponse:
    """Open a patient of another location in an emergency: their number and a reason. Given at once, for
    BREAK_GLASS_HOURS, recorded, and emailed to the clinic admins (scheduling.access.break_the_glass). A number
    nobody has is said so, and nothing is written."""
    form = BreakGlassForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        pk = form.cleaned_data["patient_number"]
        try:
            granted = break_the_glass(
                user=request.user,
                patient_id=pk,
                reason=form.cleaned_data["reason"],
                now=timezone.now(),
                ip_address=client_ip(request),
            )
        except AccessError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            if granted is None:
                messages.info(
                    request,
                    _("This patient is one you can see already: no emergency access was needed or recorded."),
                )
            else:
                person = granted.patient
                log_view(request, person, "review: emergency access (break the glass)")
                until = format_in_zone(granted.expires_at, patient_zone(person))
                messages.warning(
                    request,
                    _("Emergency access to %(person)s until %(until)s. The clinic admins are being emailed.")
                    % {"person": person.full_name, "until": until},
                )
            return redirect("review:patient", pk=pk)
    return render(
        request,
        "review/break_glass.html",
        {
            "form": form,
            "hours": int(break_glass_duration().total_seconds() // 3600),
            "restricted": restricts_to_locations(),
        },
        status=422 if request.method == "POST" and form.errors else 200,
    )
