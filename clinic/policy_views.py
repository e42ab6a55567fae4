"""Clinic settings: the clinic admin's page for the policies of clinic/policies.py."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from clinic import policies
from clinic.access import SignedInRequest, role_required
from clinic.forms import AccessibleForm
from clinic.roles import Role


class PolicyForm(AccessibleForm):
    """One field per policy, each showing the value in force; the service parses and refuses."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for policy in policies.POLICIES:
            current = policies.value(policy.key)
            field: forms.Field
            if policy.kind == "bool":
                field = forms.BooleanField(required=False, initial=bool(current))
            elif policy.kind == "image":
                field = forms.FileField(
                    required=False, widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg"})
                )
                if current:
                    self.fields[f"{policy.key}__remove"] = forms.BooleanField(
                        label=_("Remove the logo"), required=False
                    )
            elif policy.kind == "long_text":
                field = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), initial=current)
            else:
                field = forms.CharField(initial=policy.as_text(current), max_length=400)
            field.label, field.help_text = policy.shown_label, policy.shown_help
            field.required = False
            self.fields[policy.key] = field
            # The remove box follows its file field.
            if f"{policy.key}__remove" in self.fields:
                self.fields[f"{policy.key}__remove"] = self.fields.pop(f"{policy.key}__remove")
        self.style_fields()

    def changes(self) -> dict[str, Any]:
        """What to save: an image only when one was uploaded, or removed; everything else as posted."""
        changes: dict[str, Any] = {}
        for policy in policies.POLICIES:
            raw = self.cleaned_data.get(policy.key)
            if policy.kind == "image":
                if raw:
                    changes[policy.key] = raw.read(policies.LOGO_MAX_BYTES + 1)
                elif self.cleaned_data.get(f"{policy.key}__remove"):
                    changes[policy.key] = ""
                continue
            changes[policy.key] = raw
        return changes


@role_required(Role.CLINIC_ADMIN)
@require_http_methods(["GET", "POST"])
def clinic_settings(request: SignedInRequest) -> HttpResponse:
    form = PolicyForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            changed = policies.change_policies(changes=form.changes(), by=request.user, now=timezone.now())
        except policies.PolicyRefused as exc:
            form.add_error(exc.field, exc.message)
        else:
            words = ", ".join(policies.POLICIES_BY_KEY[key].shown_label for key in changed)
            messages.success(
                request, _("Saved: %(words)s.") % {"words": words} if changed else _("Nothing changed.")
            )
            return redirect("clinic_settings")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "clinic/settings.html",
        {"form": form, "changes": policies.recent_changes()},
        status=status,
    )
