"""A patient's account and record, from their front-desk page: their invitation (send again, withdraw) and a flag
that two records may be one person. Front desk and clinic admins; the patient is fetched through the booking access
gate, so another location's patient is a 404."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from clinic.access import SignedInRequest, role_required
from clinic.forms import AccessibleForm
from clinic.parsing import object_id
from intake import duplicates, invitations
from intake.errors import IntakeError
from intake.models import PossibleDuplicate
from scheduling import selectors
from scheduling.views.pages import DESK


class DuplicateForm(AccessibleForm):
    other_number = forms.CharField(
        label=gettext_lazy("Patient number of the other record"),
        max_length=20,
        help_text=gettext_lazy("Shown at the top of each patient's page."),
    )
    note = forms.CharField(label=gettext_lazy("Why (optional)"), required=False, max_length=300)


@role_required(*DESK)
@require_POST
def resend_invitation(request: SignedInRequest, patient_id: int) -> HttpResponse:
    patient = selectors.patient_for_booking(request.user, patient_id)
    try:
        invitation = invitations.resend_invitation(patient=patient, sent_by=request.user, now=timezone.now())
    except IntakeError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("A new invitation was sent to %(email)s; earlier links no longer work.")
            % {"email": invitation.email},
        )
    return redirect("scheduling:patient_detail", patient_id=patient.pk)


@role_required(*DESK)
@require_POST
def revoke_invitation(request: SignedInRequest, patient_id: int) -> HttpResponse:
    patient = selectors.patient_for_booking(request.user, patient_id)
    try:
        invitations.revoke_invitations(patient=patient, revoked_by=request.user, now=timezone.now())
    except IntakeError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The invitation was withdrawn: its link no longer works."))
    return redirect("scheduling:patient_detail", patient_id=patient.pk)


@role_required(*DESK)
@require_POST
def flag_duplicate(request: SignedInRequest, patient_id: int) -> HttpResponse:
    patient = selectors.patient_for_booking(request.user, patient_id)
    form = DuplicateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the patient number of the other record."))
        return redirect("scheduling:patient_detail", patient_id=patient.pk)
    other_pk = object_id(form.cleaned_data["other_number"].strip())
    try:
        # Unknown and out-of-reach records get the same answer: the page must not confirm who is a patient.
        other = selectors.patient_for_booking(request.user, other_pk) if other_pk is not None else None
    except Http404:
        other = None
    if other is None:
        messages.error(request, _("No patient record you can see has that number."))
        return redirect("scheduling:patient_detail", patient_id=patient.pk)
    try:
        duplicates.flag_same_person(
            patient=patient,
            other=other,
            flagged_by=request.user,
            note=form.cleaned_data["note"],
            now=timezone.now(),
        )
    except IntakeError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("Flagged: this record and patient number %(number)s may be one person.") % {"number": other.pk},
        )
    return redirect("scheduling:patient_detail", patient_id=patient.pk)


@role_required(*DESK)
@require_POST
def clear_duplicate(request: SignedInRequest, patient_id: int, flag_id: int) -> HttpResponse:
    patient = selectors.patient_for_booking(request.user, patient_id)
    flag = get_object_or_404(
        PossibleDuplicate.objects.filter(patient_id=patient.pk)
        | PossibleDuplicate.objects.filter(other_id=patient.pk),
        pk=flag_id,
    )
    duplicates.clear_flag(flag=flag)
    messages.success(request, _("The flag was cleared: these are two people."))
    return redirect("scheduling:patient_detail", patient_id=patient.pk)
