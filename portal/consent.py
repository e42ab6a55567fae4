"""The patient's consents in the portal: which documents concern them and where they stand with each (a to-do
when one needs signing), the text to read and sign, a withdrawal, and the record of what they signed."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from clinic.access import SignedInRequest, role_required
from clinic.audit import client_ip
from clinic.roles import Role
from intake.consent import selectors, services
from intake.consent.forms import SignatureForm
from intake.models import ConsentKind, ConsentRecord, IntakeSubmission, Patient
from intake.selectors import patient_for_user
from review.selectors import current_decision
from scheduling.models import Appointment

DECISION_KINDS = {
    "iv": (ConsentKind.IV_KETAMINE,),
    "spravato": (ConsentKind.SPRAVATO,),
    "both": (ConsentKind.IV_KETAMINE, ConsentKind.SPRAVATO),
}


def kinds_for(patient: Patient) -> list[str]:
    """The documents that concern the patient: the general one once they have signed it or sent an intake, and a
    treatment's once they are cleared for it, have a session of it to come, or have signed or withdrawn it."""
    kinds = set(ConsentRecord.objects.filter(patient=patient).values_list("kind", flat=True))
    if IntakeSubmission.objects.filter(patient=patient, kind=IntakeSubmission.Kind.INTAKE).exists():
        kinds.add(ConsentKind.GENERAL)
    decision = current_decision(patient)
    if decision is not None and decision.outcome == decision.Outcome.ELIGIBLE:
        kinds.update(DECISION_KINDS.get(decision.modality, ()))
    kinds.update(
        Appointment.objects.filter(
            patient=patient,
            start_at__gt=timezone.now(),
            status__in=[Appointment.Status.BOOKED, Appointment.Status.CONFIRMED],
            treatment_type__modality__in=[ConsentKind.IV_KETAMINE, ConsentKind.SPRAVATO],
        ).values_list("treatment_type__modality", flat=True)
    )
    return [kind for kind in ConsentKind.values if kind in kinds]


def consents_due(patient: Patient) -> list[selectors.Standing]:
    """The documents the patient is asked to sign now (the home page's to-do)."""
    return [item for item in selectors.standings(patient, kinds_for(patient)) if item.needs_signature]


def _document(patient: Patient, kind: str) -> selectors.Standing:
    if kind not in kinds_for(patient):
        raise Http404
    return selectors.standing(patient, kind)


@role_required(Role.PATIENT)
def consents(request: SignedInRequest) -> HttpResponse:
    patient = patient_for_user(request.user)
    records = ConsentRecord.objects.filter(patient=patient).order_by("-agreed_at", "-pk")
    return render(
        request,
        "portal/consents.html",
        {
            "patient": patient,
            "standings": selectors.standings(patient, kinds_for(patient)),
            "records": records,
        },
    )


@role_required(Role.PATIENT)
@require_http_methods(["GET", "POST"])
def sign(request: SignedInRequest, kind: str) -> HttpResponse:
    patient = patient_for_user(request.user)
    item = _document(patient, kind)
    if item.current is None:
        raise Http404
    form = SignatureForm(request.POST or None, initial={"version_id": item.current.pk})
    if request.method == "POST" and form.is_valid():
        try:
            services.sign(
                patient=patient,
                kind=kind,
                version_id=form.cleaned_data["version_id"],
                typed_name=form.cleaned_data["typed_name"],
                now=timezone.now(),
                ip_address=client_ip(request),
                user_agent=request.headers.get("user-agent", ""),
            )
        except services.ConsentRefused as refusal:
            form.add_error(refusal.field, refusal.message)
        else:
            messages.success(request, _("Thank you: your signature is recorded."))
            return redirect("portal:consents")
    return render(
        request,
        "portal/consent_sign.html",
        {"patient": patient, "item": item, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@role_required(Role.PATIENT)
@require_http_methods(["GET", "POST"])
def withdraw(request: SignedInRequest, kind: str) -> HttpResponse:
    patient = patient_for_user(request.user)
    item = _document(patient, kind)
    if item.latest is None or item.latest.action != ConsentRecord.Action.SIGNED:
        messages.info(request, _("You have no signed consent of this kind to withdraw."))
        return redirect("portal:consents")
    form = SignatureForm(
        request.POST or None,
        initial={"version_id": item.current.pk if item.current else 0},
        agree_label=_("I withdraw this consent."),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.withdraw(
                patient=patient,
                kind=kind,
                typed_name=form.cleaned_data["typed_name"],
                now=timezone.now(),
                ip_address=client_ip(request),
                user_agent=request.headers.get("user-agent", ""),
            )
        except services.ConsentRefused as refusal:
            form.add_error(refusal.field, refusal.message)
        else:
            messages.success(
                request,
                _(
                    "Your withdrawal is recorded and the clinic has been told. They will call you about any session you have booked."
                ),
            )
            return redirect("portal:consents")
    return render(
        request,
        "portal/consent_withdraw.html",
        {"patient": patient, "item": item, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@role_required(Role.PATIENT)
def record(request: SignedInRequest, pk: int) -> HttpResponse:
    """One of the patient's own signatures or withdrawals, with the text it was made on."""
    patient = patient_for_user(request.user)
    entry = selectors.record_for_patient(patient, pk)
    return render(
        request, "portal/consent_record.html", {"record": entry, "version": selectors.version_of(entry)}
    )
