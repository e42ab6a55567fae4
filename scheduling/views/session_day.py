"""The day of the session: the session page and its forms (checklist, vitals, override, dose, scores, discharge),
and the printable summary the REMS Patient Monitoring Form asks for."""

from __future__ import annotations

from datetime import datetime, time
from functools import partial

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinic.access import role_required
from clinic.audit import record_patient_view
from clinic.roles import Role
from scheduling import selectors, services, session_rules
from scheduling.forms.session_day import (
    ChecklistForm,
    CosignForm,
    DischargeForm,
    DoseForm,
    IvDosePlanForm,
    OverrideForm,
    ScoresForm,
    SpravatoDosePlanForm,
    VitalsForm,
)
from scheduling.models import Appointment, TreatmentType
from scheduling.views.pages import STAFF


def _render_session(request: HttpRequest, appointment: Appointment, *, bound=None, error=None, status=200):
    """The session page; ``bound`` replaces one of its forms with a submitted one that has errors."""
    now = timezone.now()
    day = selectors.session_day(appointment, user=request.user, now=now)
    record = day.record
    is_clinician = request.user.role is Role.CLINICIAN
    forms_ = {
        "checklist_form": ChecklistForm(
            initial={
                "escort_name": record.escort_name if record else "",
                "escort_phone": record.escort_phone if record else "",
                "escort_confirmed": bool(record and record.escort_confirmed_at),
                "fasting_confirmed": bool(record and record.fasting_confirmed_at),
            }
        ),
        "vitals_form": VitalsForm(initial={"phase": _next_vitals_phase(appointment, day)}),
        "override_form": OverrideForm(),
        "plan_form": _plan_form(appointment, record),
        "cosign_form": CosignForm(
            initial={"plan_seen_at": record.planned_at.isoformat() if record and record.planned_at else None}
        ),
        "dose_form": DoseForm(initial=_dose_initial(appointment, record, now)),
        "scores_form": ScoresForm(
            initial={
                "dissociation_score": record.dissociation_score if record else None,
                "sedation_score": record.sedation_score if record else None,
            }
        ),
        "discharge_form": DischargeForm(may_override=is_clinician and bool(day.discharge.overridable)),
    }
    if bound is not None:
        forms_[bound[0]] = bound[1]
    context = {
        "appointment": appointment,
        "location": appointment.location,
        "day": day,
        "record": record,
        "is_clinician": is_clinician,
        "dose_policy": selectors.dose_policy(),
        "error": error,
        "bound_form": bound[1] if bound else None,
        **forms_,
    }
    return render(request, "scheduling/session_day.html", context, status=status)


def _next_vitals_phase(appointment: Appointment, day) -> str:
    if appointment.status == Appointment.Status.CHECKED_IN:
        return "pre_dose"
    if appointment.status == Appointment.Status.RECOVERING:
        taken = {row.vitals.phase for row in day.vitals}
        return "at_40_min" if day.protocol.vitals_at_40_min and "at_40_min" not in taken else "pre_discharge"
    taken = {row.vitals.phase for row in day.vitals}
    due_at_40 = (
        day.monitored_minutes is not None and day.monitored_minutes >= session_rules.AT_40_MIN_EARLIEST
    )
    if day.next_during_dose_reading_at is not None and not (due_at_40 and "at_40_min" not in taken):
        return "during_dose"
    return "at_40_min"


def _plan_form(appointment: Appointment, record) -> IvDosePlanForm | SpravatoDosePlanForm:
    """The plan form, filled with the plan already recorded, or the clinic's default."""
    if appointment.treatment_type.modality == TreatmentType.Modality.SPRAVATO:
        return SpravatoDosePlanForm(
            initial={
                "dose_mg": int(record.plan_dose_mg)
                if record and record.plan_dose_mg
                else appointment.treatment_type.dose_mg,
                "weight_kg": record.plan_weight_kg if record else None,
            }
        )
    return IvDosePlanForm(
        initial={
            "weight_kg": record.plan_weight_kg if record else None,
            "mg_per_kg": (record.plan_mg_per_kg if record and record.plan_mg_per_kg else None)
            or selectors.dose_policy().default_mg_per_kg,
        }
    )


def _local_clock(moment: datetime | None, appointment: Appointment) -> time | None:
    return (
        moment.astimezone(appointment.location.tz).time().replace(second=0, microsecond=0) if moment else None
    )


def _dose_initial(appointment: Appointment, record, now: datetime) -> dict:
    """What the dose form starts with: a correction keeps everything recorded; a first record takes the checked
    plan (dose, the day's weight)."""
    if record and record.dose_recorded:
        return {
            "drug": record.drug,
            "dose_mg": record.dose_mg,
            "weight_kg": record.weight_kg,
            "lot_number": record.lot_number,
            "started_at": _local_clock(record.dose_started_at, appointment),
            "ended_at": _local_clock(record.dose_ended_at, appointment),
        }
    return {
        "dose_mg": (record.plan_dose_mg if record else None) or appointment.treatment_type.dose_mg,
        "weight_kg": record.plan_weight_kg if record else None,
        "started_at": _local_clock(appointment.session_started_at or now, appointment),
    }


@role_required(*STAFF)
def session_day(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = selectors.appointment_for_user(request.user, pk)
    record_patient_view(request, patient_id=appointment.patient_id, what="session day")
    return _render_session(request, appointment)


def _session_post(request, pk, form_class, key, action):
    """Shared handling of the session page's forms: valid -> service -> redirect; else the page with errors."""
    appointment = selectors.appointment_for_user(request.user, pk)
    form = form_class(request.POST)
    if not form.is_valid():
        return _render_session(request, appointment, bound=(key, form), status=400)
    try:
        message = action(appointment, form.cleaned_data)
    except services.SchedulingError as exc:
        if exc.field and exc.field in form.fields:
            form.add_error(exc.field, exc.message)
        else:
            form.add_error(None, exc.message)
        return _render_session(request, appointment, bound=(key, form), status=exc.status_code)
    if isinstance(message, tuple):  # done, with flags the team must see
        text, flags = message
        if flags:
            messages.warning(request, " ".join([text, *flags]))
        else:
            messages.success(request, text[:-1] + "." if text.endswith(":") else text)
    else:
        messages.success(request, message)
    return redirect(reverse("scheduling:session_day", args=[pk]) + f"#{key.removesuffix('_form')}")


@role_required(*STAFF)
@require_POST
def session_checklist(request: HttpRequest, pk: int) -> HttpResponse:
    def action(appointment, data):
        services.record_check_in_checklist(
            appointment=appointment, escort_name=data["escort_name"], escort_phone=data["escort_phone"],
            escort_confirmed=data["escort_confirmed"], fasting_confirmed=data["fasting_confirmed"],
            recorded_by=request.user,
        )  # fmt: skip
        return _("Checklist saved.")

    return _session_post(request, pk, ChecklistForm, "checklist_form", action)


@role_required(*STAFF)
@require_POST
def session_vitals(request: HttpRequest, pk: int) -> HttpResponse:
    def action(appointment, data):
        vitals = services.record_vitals(appointment=appointment, recorded_by=request.user, **data)
        flag = session_rules.bp_flag(vitals.systolic, vitals.diastolic)
        return _("Vitals saved: BP %(systolic)s/%(diastolic)s (%(flag)s).") % {
            "systolic": vitals.systolic,
            "diastolic": vitals.diastolic,
            "flag": flag.label.lower(),
        }

    return _session_post(request, pk, VitalsForm, "vitals_form", action)


@role_required(Role.CLINICIAN)
@require_POST
def session_override(request: HttpRequest, pk: int) -> HttpResponse:
    def action(appointment, data):
        services.override_bp_hard_stop(
            appointment=appointment, reason=data["reason"], clinician_user=request.user
        )
        return _("Override recorded: the session may start.")

    return _session_post(request, pk, OverrideForm, "override_form", action)


def _local_moment(appointment: Appointment, clock: time | None) -> datetime | None:
    if clock is None:
        return None
    local_day = appointment.start_at.astimezone(appointment.location.tz).date()
    return datetime.combine(local_day, clock, tzinfo=appointment.location.tz)


@role_required(Role.CLINICIAN)
@require_POST
def session_dose(request: HttpRequest, pk: int) -> HttpResponse:
    def action(appointment, data):
        record = services.record_dose(
            appointment=appointment, dose_mg=data["dose_mg"], weight_kg=data["weight_kg"],
            lot_number=data["lot_number"], drug=data["drug"],
            started_at=_local_moment(appointment, data["started_at"]),
            ended_at=_local_moment(appointment, data["ended_at"]), recorded_by=request.user,
        )  # fmt: skip
        per_kg = (
            " " + _("(%(mg_per_kg)s mg/kg)") % {"mg_per_kg": session_rules.shown(record.dose_mg_per_kg)}
            if record.dose_mg_per_kg
            else ""
        )
        flags = selectors.dose_flags(appointment, record)
        if flags:
            return (
                _("Dose recorded as given: %(dose)s mg%(per_kg)s. Flagged, and the clinic is told:")
                % {"dose": session_rules.shown(record.dose_mg), "per_kg": per_kg},
                flags,
            )
        return _("Dose recorded: %(dose)s mg%(per_kg)s, as planned.") % {
            "dose": session_rules.shown(record.dose_mg),
            "per_kg": per_kg,
        }

    return _session_post(request, pk, DoseForm, "dose_form", action)


@role_required(Role.CLINICIAN)
@require_POST
def session_plan(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = selectors.appointment_for_user(request.user, pk)
    spravato = appointment.treatment_type.modality == TreatmentType.Modality.SPRAVATO
    form_class = SpravatoDosePlanForm if spravato else IvDosePlanForm

    def action(appointment, data):
        record = services.plan_dose(
            appointment=appointment, planned_by=request.user, weight_kg=data.get("weight_kg"),
            mg_per_kg=data.get("mg_per_kg"), dose_mg=data.get("dose_mg"),
        )  # fmt: skip
        shown = session_rules.shown
        per_kg = (
            " "
            + _("(%(mg_per_kg)s mg/kg at %(weight)s kg)")
            % {"mg_per_kg": shown(record.plan_mg_per_kg), "weight": shown(record.plan_weight_kg)}
            if record.plan_mg_per_kg and record.plan_weight_kg
            else ""
        )
        message = _("Planned dose recorded: %(dose)s mg%(per_kg)s.") % {
            "dose": shown(record.plan_dose_mg),
            "per_kg": per_kg,
        }
        return message, record.plan_warnings

    return _session_post(request, pk, form_class, "plan_form", action)


@role_required(Role.CLINICIAN)
@require_POST
def session_cosign(request: HttpRequest, pk: int) -> HttpResponse:
    def action(appointment, data):
        record = services.cosign_dose_plan(
            appointment=appointment, cosigned_by=request.user, plan_seen_at=data["plan_seen_at"]
        )
        return _("Planned dose of %(dose)s mg co-signed.") % {
            "dose": session_rules.shown(record.plan_dose_mg)
        }

    return _session_post(request, pk, CosignForm, "cosign_form", action)


@role_required(Role.CLINICIAN)
@require_POST
def session_scores(request: HttpRequest, pk: int) -> HttpResponse:
    def action(appointment, data):
        services.record_observation_scores(appointment=appointment, recorded_by=request.user, **data)
        return _("Scores saved.")

    return _session_post(request, pk, ScoresForm, "scores_form", action)


@role_required(*STAFF)
@require_POST
def session_discharge(request: HttpRequest, pk: int) -> HttpResponse:
    def action(appointment, data):
        done = services.discharge(
            appointment=appointment, discharged_by=request.user, escort_present=data["escort_present"],
            override_reason=data.get("override_reason", ""),
        )  # fmt: skip
        record = done.session_record if hasattr(done, "session_record") else None
        if record is not None and record.discharge_override_at == done.discharged_at:
            return _("Discharged with a clinician's override:"), record.discharge_override_blockers
        return _("Discharged.")

    is_clinician = request.user.role is Role.CLINICIAN
    return _session_post(
        request, pk, partial(DischargeForm, may_override=is_clinician), "discharge_form", action
    )


@role_required(*STAFF)
def session_summary(request: HttpRequest, pk: int) -> HttpResponse:
    """A printable summary of one session: what the REMS Patient Monitoring Form asks for."""
    appointment = selectors.appointment_for_user(request.user, pk)
    record_patient_view(request, patient_id=appointment.patient_id, what="session summary")
    day = selectors.session_day(appointment, user=request.user, now=timezone.now())
    started, ended = appointment.checked_in_at, appointment.discharged_at
    context = {
        "appointment": appointment,
        "location": appointment.location,
        "day": day,
        "record": day.record,
        "concomitant": selectors.concomitant_medicines(appointment),
        "chair_minutes": int((ended - started).total_seconds() // 60) if started and ended else None,
    }
    return render(request, "scheduling/session_summary.html", context)
