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


def relevant(
    items: list[selectors.Standing], *, has_intake: bool, cleared_for: str | None, upcoming: set[str]
) -> list[selectors.Standing]:
    """The documents that concern the patient, from their standing with every document: the general one once
    they have signed it or sent an intake, and a treatment's once they are cleared for it (``cleared_for``: the
    decision's modality), have a session of it to come (``upcoming``: modalities) or have signed or withdrawn it."""
    kinds = {item.kind for item in items if item.latest is not None} | set(upcoming)
    if has_intake:
        kinds.add(ConsentKind.GENERAL)
    kinds.update(DECISION_KINDS.get(cleared_for or "", ()))
    return [item for item in items if item.kind in kinds]


def standings_for(patient: Patient) -> list[selectors.Standing]:
    """The patient's standing with each document that concerns them (for the consent pages)."""
    decision = current_decision(patient)
    upcoming = Appointment.objects.filter(
        patient=patient,
        start_at__gt=timezone.now(),
        status__in=[Appointment.Status.BOOKED, Appointment.Status.CONFIRMED],
    ).values_list("treatment_type__modality", flat=True)
    return relevant(
        selectors.standings(patient, ConsentKind.values),
        has_intake=IntakeSubmission.objects.filter(
            patient=patient, kind=IntakeSubmission.Kind.INTAKE
        ).exists(),
        cleared_for=decision.modality if decision and decision.outcome == decision.Outcome.ELIGIBLE else None,
        upcoming=set(upcoming),
    )


def consents_due(
    patient: Patient, *, has_intake: bool, cleared_for: str | None, upcoming: set[str]
) -> list[selectors.Standing]:
    """The documents the patient is asked to sign now (the home page's to-do; one query, from what the home page
    has read already)."""
    if not (has_intake or cleared_for or upcoming):
        # Before the intake is sent, its own consent step asks for the general consent (again after a material
        # change): nothing to read here.
        return []
    items = selectors.standings(patient, ConsentKind.values)
    return [
        item
        for item in relevant(items, has_intake=has_intake, cleared_for=cleared_for, upcoming=upcoming)
        if item.needs_signature
    ]


def _document(patient: Patient, kind: str) -> selectors.Standing:
    """The patient's standing with a document that concerns them; any other is a 404."""
    item = next((item for item in standings_for(patient) if item.kind == kind), None)
    if item is None:
        raise Http404
    return item


@role_required(Role.PATIENT)
def consents(request: SignedInRequest) -> HttpResponse:
    patient = patient_for_user(request.user)
    records = ConsentRecord.objects.filter(patient=patient).order_by("-agreed_at", "-pk")
    return render(
        request,
        "portal/consents.html",
        {
            "patient": patient,
            "standings": standings_for(patient),
            "records": records,
        },
    )


@role_required(Role.PATIENT)
@require_http_methods(["GET", "POST"])
def sign(request: SignedInRequest, kind: str) -> HttpResponse:
    patient = patient_for_user(request.user)
    _document(patient, kind)
    current = selectors.current_version(kind)
    if current is None:
        raise Http404
    form = SignatureForm(request.POST or None, initial={"version_id": current.pk})
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
        {"patient": patient, "kind": ConsentKind(kind), "current": current, "form": form},
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
