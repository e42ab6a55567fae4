"""Front desk's patients: search (a POST, so names never appear in URLs), a patient's page, their REMS
enrollment."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from clinic.access import role_required
from clinic.audit import record_patient_view
from intake import invitations
from intake import selectors as intake_selectors
from intake.errors import IntakeError
from intake.forms import InvitePatientForm
from scheduling import access, selectors, services
from scheduling.forms import PatientSearchForm, RemsForm, WaitlistForm
from scheduling.models import WaitlistEntry
from scheduling.views.pages import DESK
from scheduling.views.patient_accounts import DuplicateForm


@role_required(*DESK)
@require_http_methods(["GET", "POST"])
def patient_search(request: HttpRequest) -> HttpResponse:
    form = PatientSearchForm(request.POST or None)
    results = None
    if request.method == "POST" and form.is_valid():
        results = selectors.search_patients(form.cleaned_data["q"], user=request.user)
    return render(request, "scheduling/patient_search.html", {"form": form, "results": results})


@role_required(*DESK)
def patient_detail(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = selectors.patient_for_booking(request.user, patient_id)
    record_patient_view(request, patient_id=patient.pk, what="front-desk patient page")
    appointments = selectors.patient_appointments(patient)
    now = timezone.now()
    overview = selectors.patient_overview(patient, now=now)
    rems = overview.rems
    upcoming = [a for a in reversed(appointments) if a.end_at > now and a.is_active]
    return render(
        request,
        "scheduling/patient_detail.html",
        {
            "patient": patient,
            "overview": overview,
            "upcoming": upcoming,
            "consent_holds": selectors.consent_holds(patient, upcoming, overview.consents),
            "past": [a for a in appointments if not (a.end_at > now and a.is_active)],
            "rems": rems,
            "rems_form": RemsForm(initial={"enrolled_on": rems.enrolled_on if rems else None}),
            "waitlist_form": WaitlistForm(
                locations=access.visible_locations(request.user),
                patient=patient,
                upcoming=[a for a in appointments if a.end_at > now and a.is_active],
                initial={
                    "location": patient.location_id,
                    "earliest_date": timezone.now().astimezone(patient.location.tz).date()
                    if patient.location
                    else None,
                },
            ),
            "open_invitation": invitations.open_invitation(patient, now=now),
            "duplicate_flags": intake_selectors.duplicate_flags_for(patient),
            "duplicate_form": DuplicateForm(),
            "waitlist_entries": list(
                WaitlistEntry.objects.filter(
                    patient=patient, status__in=["waiting", "offered"]
                ).select_related("treatment_type", "location")
            ),
        },
    )


@role_required(*DESK)
@require_POST
def record_rems(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = selectors.patient_for_booking(request.user, patient_id)
    form = RemsForm(request.POST)
    if form.is_valid():
        services.record_rems_enrollment(
            patient=patient,
            enrolled_on=form.cleaned_data["enrolled_on"],
            rems_patient_id=form.cleaned_data["rems_patient_id"],
            recorded_by=request.user,
        )
        messages.success(request, _("REMS enrollment recorded."))
    else:
        messages.error(request, _("The REMS enrollment needs the date of the Patient Enrollment Form."))
    return redirect("scheduling:patient_detail", patient_id=patient.pk)


@role_required(*DESK)
@require_http_methods(["GET", "POST"])
def invite_patient(request: HttpRequest) -> HttpResponse:
    """Front desk creates a patient and the app emails them their invitation."""
    form = InvitePatientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # The patient joins a location the inviter works at: where the clinic restricts staff to their locations,
        # one elsewhere would vanish from the inviter's own search at once.
        location = access.visible_locations(request.user).filter(is_active=True).order_by("pk").first()
        try:
            invitations.invite_patient(
                created_by=request.user, location=location, now=timezone.now(), **form.cleaned_data,
            )  # fmt: skip
        except IntakeError as exc:
            form.add_error("email", str(exc))
        else:
            messages.success(
                request, _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]}
            )
            return redirect("scheduling:invite_patient")
    return render(
        request, "scheduling/invite_patient.html", {"form": form}, status=400 if form.errors else 200
    )
