"""Spravato REMS Patient Monitoring Forms: those due, one session's form (prefilled, saved, marked sent only once
complete) and its PDF laid out like the form for submission."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinic.access import role_required
from clinic.audit import record_patient_view
from clinic.parsing import next_path
from scheduling import rems_form, rems_pdf, selectors, services
from scheduling.forms import RemsMonitoringFormForm
from scheduling.models import Appointment, RemsMonitoringForm, TreatmentType
from scheduling.services.rems import FORM_ANSWERS
from scheduling.views.pages import STAFF, location_asked


def _spravato_session(request: HttpRequest, pk: int) -> Appointment:
    """The appointment through its access gate (404 if not the user's to see); only Spravato sessions have a
    form, so any other is a 404 too."""
    appointment = selectors.appointment_for_user(request.user, pk)
    if appointment.treatment_type.modality != TreatmentType.Modality.SPRAVATO:
        raise Http404("No REMS monitoring form for this session.")
    return appointment


def _as_initial(appointment: Appointment, answers: dict[str, Any]) -> dict[str, Any]:
    """Model values -> what the form's widgets show: yes/no, local clock times."""
    initial: dict[str, Any] = {}
    for name, value in answers.items():
        if isinstance(value, bool):
            initial[name] = "yes" if value else "no"
        elif isinstance(value, datetime):
            initial[name] = value.astimezone(appointment.location.tz).time().replace(second=0, microsecond=0)
        elif value is not None:
            initial[name] = value
    return initial


def _initial(appointment: Appointment, saved: RemsMonitoringForm | None) -> dict[str, Any]:
    if saved is None:
        return _as_initial(appointment, selectors.rems_form_prefill(appointment))
    return _as_initial(appointment, {name: getattr(saved, name) for name in FORM_ANSWERS})


def _local_moment(appointment: Appointment, clock: time | None) -> datetime | None:
    if clock is None:
        return None
    local_day = appointment.start_at.astimezone(appointment.location.tz).date()
    return datetime.combine(local_day, clock, tzinfo=appointment.location.tz)


def _render_form(
    request: HttpRequest, appointment: Appointment, *, form=None, error=None, status: int = 200
) -> HttpResponse:
    page = selectors.rems_form_page(appointment, now=timezone.now())
    if form is None:
        form = RemsMonitoringFormForm(initial=_initial(appointment, page.form))
    now = timezone.now()
    context = {
        "appointment": appointment,
        "location": appointment.location,
        "page": page,
        "form": form,
        "error": error,
        "form_title": rems_form.FORM_TITLE,
        "form_version": rems_form.FORM_VERSION,
        "submit_how": rems_form.SUBMIT_HOW,
        "overdue": page.due < now,
        "discharged": appointment.status == Appointment.Status.DISCHARGED,
        "sections": [
            (section, [form[name] for f in section.fields if not f.from_record for name in _form_names(f)])
            for section in rems_form.SECTIONS
        ],
    }
    return render(request, "scheduling/rems_form.html", context, status=status)


def _form_names(field: rems_form.FormField) -> list[str]:
    return [f"{field.key}_systolic", f"{field.key}_diastolic"] if field.kind == "bp" else [field.key]


@role_required(*STAFF)
def rems_monitoring_form(request: HttpRequest, pk: int) -> HttpResponse:
    """One session's form: GET shows it (prefilled the first time), POST saves it, complete or not."""
    appointment = _spravato_session(request, pk)
    if request.method != "POST":
        record_patient_view(request, patient_id=appointment.patient_id, what="REMS monitoring form")
        return _render_form(request, appointment)
    form = RemsMonitoringFormForm(request.POST)
    if not form.is_valid():
        return _render_form(request, appointment, form=form, status=400)
    answers = dict(form.cleaned_data)
    for name in ("first_administration_at", "monitoring_completed_at"):
        answers[name] = _local_moment(appointment, answers[name])
    try:
        services.save_rems_monitoring_form(appointment=appointment, answers=answers, saved_by=request.user)
    except services.SchedulingError as exc:
        if exc.field and exc.field in form.fields:
            form.add_error(exc.field, exc.message)
            return _render_form(request, appointment, form=form, status=exc.status_code)
        return _render_form(request, appointment, form=form, error=exc, status=exc.status_code)
    messages.success(request, _("REMS monitoring form saved."))
    return redirect("scheduling:rems_form", pk=appointment.pk)


@role_required(*STAFF)
@require_POST
def rems_form_submitted(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark the form sent: refused, with every missing answer listed and nothing written, while incomplete."""
    appointment = _spravato_session(request, pk)
    try:
        services.mark_rems_form_submitted(appointment=appointment, submitted_by=request.user)
    except services.SchedulingError as exc:
        return _render_form(request, appointment, error=exc, status=exc.status_code)
    messages.success(request, _("REMS monitoring form marked as sent."))
    return redirect(next_path(request, reverse("scheduling:rems_forms_due")))


@role_required(*STAFF)
def rems_form_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The form as a PDF laid out like the REMS's own, to submit online or by fax."""
    appointment = _spravato_session(request, pk)
    record_patient_view(request, patient_id=appointment.patient_id, what="REMS monitoring form PDF")
    page = selectors.rems_form_page(appointment, now=timezone.now())
    response = HttpResponse(rems_pdf.monitoring_form_pdf(page), content_type="application/pdf")
    # No name in the file name: it would land in download folders and proxies' logs.
    response["Content-Disposition"] = f'attachment; filename="rems-monitoring-form-{appointment.pk}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


@role_required(*STAFF)
def rems_forms_due(request: HttpRequest) -> HttpResponse:
    locations = selectors.picker_locations(request.user)
    location = location_asked(request, among=locations)
    now = timezone.now()
    rows = selectors.rems_forms_due(location, now=now)
    return render(
        request,
        "scheduling/rems_forms_due.html",
        {
            "location": location,
            "locations": locations,
            "rows": rows,
            "overdue_count": sum(1 for row in rows if row.overdue),
            "date_value": None,
        },
    )
