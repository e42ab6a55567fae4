"""Set-up pages for treatments: each treatment type's durations, hold segments, monitoring and dose rules, and the
preparation instructions its reminders carry; the series templates front desk books as one course."""

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
from scheduling.models import CourseTemplate, TreatmentType
from scheduling.setup.forms import CourseTemplateForm, TreatmentTypeForm


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


@role_required(Role.CLINIC_ADMIN)
@require_http_methods(["GET", "POST"])
def course_edit(request: SignedInRequest, pk: int | None = None) -> HttpResponse:
    """A series template: add one, change its sessions and spacing, retire it or bring it back."""
    template = get_object_or_404(CourseTemplate, pk=pk) if pk is not None else CourseTemplate()
    form = CourseTemplateForm(request.POST or None, instance=template)
    refusal = None
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.save_course_template(template=form.instance)
        except services.SchedulingError as exc:
            if exc.field in form.fields:
                form.add_error(exc.field, exc.message)
            elif exc.field == "sessions":
                form.add_error("session_lines", exc.message)
            else:
                refusal = exc
        else:
            messages.success(
                request,
                _("Saved %(label)s. Series booked from now on follow it; booked series keep their sessions.")
                % {"label": saved.label},
            )
            return redirect("setup:home")
    return render(
        request,
        "scheduling/setup/course_form.html",
        {"form": form, "template": template if pk else None, "refusal": refusal},
        status=400 if request.method == "POST" else 200,
    )
