"""Set-up pages for treatments: each treatment type's durations, hold segments, monitoring and dose rules, and the
preparation instructions its reminders carry."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from clinic.access import SignedInRequest, role_required
from clinic.roles import Role
from scheduling import services
from scheduling.models import TreatmentType
from scheduling.setup.forms import TreatmentTypeForm


@role_required(Role.CLINIC_ADMIN)
@require_http_methods(["GET", "POST"])
def treatment_edit(request: SignedInRequest, pk: int | None = None) -> HttpResponse:
    treatment_type = get_object_or_404(TreatmentType, pk=pk) if pk is not None else TreatmentType()
    form = TreatmentTypeForm(request.POST or None, instance=treatment_type)
    refusal = None
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.save_treatment_type(treatment_type=form.instance, now=timezone.now())
        except services.SchedulingError as exc:
            refusal = exc
        else:
            messages.success(
                request,
                _("Saved %(label)s. Sessions booked from now on follow it; booked sessions keep their times.")
                % {"label": saved.label},
            )
            return redirect("setup:home")
    return render(
        request,
        "scheduling/setup/treatment_form.html",
        {"form": form, "treatment_type": treatment_type if pk else None, "refusal": refusal},
        status=400 if request.method == "POST" else 200,
    )
