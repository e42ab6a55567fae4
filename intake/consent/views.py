"""Clinic settings: the clinic admin's pages for the consent documents (draft, preview, publish, history)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from clinic.access import SignedInRequest, role_required
from clinic.roles import Role
from intake.consent import selectors, services
from intake.consent.forms import DraftForm, PublishForm
from intake.models import ConsentKind, ConsentVersion


def _kind(kind: str) -> ConsentKind:
    if kind not in ConsentKind.values:
        raise Http404
    return ConsentKind(kind)


@role_required(Role.CLINIC_ADMIN)
def documents(request: SignedInRequest) -> HttpResponse:
    versions = ConsentVersion.objects.select_related("published_by").order_by("kind", "-number")
    rows = [
        {
            "kind": kind,
            "published": [v for v in versions if v.kind == kind and v.is_published],
            "draft": next((v for v in versions if v.kind == kind and not v.is_published), None),
        }
        for kind in ConsentKind
    ]
    return render(request, "intake/consent/documents.html", {"rows": rows})


@role_required(Role.CLINIC_ADMIN)
@require_http_methods(["GET", "POST"])
def edit(request: SignedInRequest, kind: str) -> HttpResponse:
    """The document's draft: started from the version in force, saved, previewed, then published or discarded."""
    document = _kind(kind)
    draft = selectors.draft(document)
    current = selectors.current_version(document)
    start = draft or current
    initial = {"version": draft.version if draft else "", "title": start.title if start else "",
               "body": start.body if start else ""}  # fmt: skip
    form = DraftForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            draft = services.save_draft(
                kind=document, by=request.user, now=timezone.now(), **form.cleaned_data
            )
        except services.ConsentRefused as refusal:
            form.add_error(refusal.field, refusal.message)
        else:
            messages.success(request, _("Draft saved. Read the preview below, then publish it."))
            return redirect("intake:consent_edit", kind=document.value)
    return render(
        request,
        "intake/consent/edit.html",
        {"kind": document, "form": form, "draft": draft, "current": current, "publish_form": PublishForm()},
        status=400 if request.method == "POST" else 200,
    )


@role_required(Role.CLINIC_ADMIN)
@require_POST
def publish(request: SignedInRequest, kind: str) -> HttpResponse:
    document = _kind(kind)
    form = PublishForm(request.POST)
    if form.is_valid():
        try:
            version = services.publish_draft(
                kind=document, change=form.cleaned_data["change"], by=request.user, now=timezone.now()
            )
        except services.ConsentRefused as refusal:
            form.add_error(refusal.field, refusal.message)
        else:
            if version.change == ConsentVersion.Change.MATERIAL:
                words = _(
                    "Published version %(version)s as a material change: patients who use it are asked to sign "
                    "it in the portal, and cannot be booked or checked in until they do."
                )
            else:
                words = _("Published version %(version)s as a minor change: signatures stand.")
            messages.success(request, words % {"version": version.version})
            return redirect("intake:consent_documents")
    draft = selectors.draft(document)
    draft_form = DraftForm(
        initial={"version": draft.version, "title": draft.title, "body": draft.body} if draft else None
    )
    return render(
        request,
        "intake/consent/edit.html",
        {
            "kind": document,
            "form": draft_form,
            "draft": draft,
            "current": selectors.current_version(document),
            "publish_form": form,
        },  # fmt: skip
        status=400,
    )


@role_required(Role.CLINIC_ADMIN)
@require_POST
def discard(request: SignedInRequest, kind: str) -> HttpResponse:
    if services.discard_draft(kind=_kind(kind)):
        messages.success(request, _("Draft discarded."))
    return redirect("intake:consent_documents")
