"""The patient's reminder choice: email, texts or both, and their consent to texts, shown and changed here (the
same consent a STOP reply withdraws)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from clinic.access import SignedInRequest, role_required
from clinic.roles import Role
from intake import sms_consent
from intake.forms import ReminderChoiceForm
from intake.selectors import patient_for_user


@role_required(Role.PATIENT)
@require_http_methods(["GET", "POST"])
def reminders(request: SignedInRequest) -> HttpResponse:
    patient = patient_for_user(request.user)
    initial = {
        "reminder_channel": patient.reminder_channel,
        "sms_consent": patient.sms_consent_at is not None,
    }
    form = ReminderChoiceForm(request.POST or None, initial=initial, has_phone=bool(patient.phone))
    if request.method == "POST" and form.is_valid():
        sms_consent.choose_reminders(
            patient=patient,
            channel=form.cleaned_data["reminder_channel"],
            sms_consent=form.cleaned_data["sms_consent"],
            now=timezone.now(),
        )
        messages.success(request, _("Your reminder choice is saved."))
        return redirect("portal:home")
    status = 400 if request.method == "POST" else 200
    return render(request, "portal/reminders.html", {"patient": patient, "form": form}, status=status)
