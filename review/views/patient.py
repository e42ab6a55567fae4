"""A patient's screening page and the eligibility decision."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count, Window
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from clinic.access import SignedInRequest, role_required
from clinic.roles import Role
from intake.answers import answers_by_step, medication_flags
from intake.models import EligibilityDecision, IntakeSubmission
from intake.selectors import latest_risk
from review.decisions import DecisionError, record_decision
from review.forms import DecisionForm
from review.presenters import (
    COMPARE_LIMIT,
    COMPARE_ROWS,
    compare_columns,
    finding_views,
    risk_view,
    score_views,
)
from review.selectors import (
    current_decision,
    decision_history,
    patient_for_clinician,
    patient_zone,
)
from review.views.common import age_in_years, log_view, patient_alerts, zone_context

# --- Patient ----------------------------------------------------------------------------------------------------


@role_required(Role.CLINICIAN)
def patient(request: SignedInRequest, pk: int, submission_pk: int | None = None) -> HttpResponse:
    """Everything a clinician needs to decide: answers by step, scores with bands and cut-offs, findings, TRD,
    BMI, medication flags, earlier submissions side by side, alerts and the decision history."""
    person = patient_for_clinician(request.user, pk)
    log_view(request, person, "review: screening")
    submissions = IntakeSubmission.objects.filter(patient=person).select_related("consent")
    latest_intake = (
        submissions.filter(kind=IntakeSubmission.Kind.INTAKE).order_by("-submitted_at", "-pk").first()
    )
    shown = latest_intake
    if submission_pk is not None and (latest_intake is None or latest_intake.pk != submission_pk):
        shown = submissions.filter(pk=submission_pk).first()
        if shown is None:
            raise Http404("No such submission.")
    recent = list(
        IntakeSubmission.objects.filter(patient=person)
        .order_by("-submitted_at", "-pk")
        .annotate(total_count=_window_count())[:COMPARE_LIMIT]
    )
    history = decision_history(person)
    current = history[0] if history else None
    person_alerts = patient_alerts(person)
    columns = compare_columns(recent, {a.submission_id for a in person_alerts})
    return render(
        request,
        "review/patient.html",
        {
            "patient": person,
            "age": age_in_years(person.date_of_birth, timezone.localdate()),
            # The current risk from any source: the intake shown may be older than a re-screen or an alert.
            "risk": risk_view(latest_risk(person), patient_zone(person)),
            "shown": shown,
            "latest_intake": latest_intake,
            "steps": answers_by_step(shown) if shown else [],
            "scores": score_views(shown) if shown else [],
            "findings": finding_views(shown) if shown else [],
            "medication_flags": medication_flags(shown) if shown else [],
            "trd": shown.trd if shown else None,
            "trials": ((shown.answers or {}).get("treatment") or {}).get("trials", []) if shown else [],
            "compare": columns,
            "compare_rows": [
                {"label": _(label), "cells": [column.cells[key] for column in columns]}
                for key, label in COMPARE_ROWS
            ],
            "submission_total": recent[0].total_count if recent else 0,
            "decisions": history,
            "current": current,
            "awaiting_decision": latest_intake is not None
            and (current is None or current.submission_id != latest_intake.pk),
            "alerts": person_alerts,
            "open_alert_count": sum(1 for a in person_alerts if a.acknowledged_at is None),
            **zone_context(person),
        },
    )


def _window_count():

    return Window(Count("pk"))


# --- Decision ---------------------------------------------------------------------------------------------------


@role_required(Role.CLINICIAN)
@require_http_methods(["GET", "POST"])
def decide(request: SignedInRequest, pk: int) -> HttpResponse:
    person = patient_for_clinician(request.user, pk)
    log_view(request, person, "review: eligibility decision")
    submission = (
        IntakeSubmission.objects.filter(patient=person, kind=IntakeSubmission.Kind.INTAKE)
        .order_by("-submitted_at", "-pk")
        .first()
    )
    if submission is None:
        messages.info(
            request,
            _("%(person)s has not submitted an intake yet; there is nothing to decide on.")
            % {"person": person.full_name},
        )
        return redirect("review:patient", pk=person.pk)
    current = current_decision(person)
    signer = request.user.full_name or request.user.email
    initial = {"submission_id": submission.pk, "current_decision_id": current.pk if current else None}
    form = DecisionForm(request.POST or None, initial=initial, submission=submission, signer=signer)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            decision = record_decision(
                patient=person,
                decided_by=request.user,
                outcome=data["outcome"],
                modality=data.get("modality") or EligibilityDecision.Modality.NONE,
                reason=data["reason"],
                message_to_patient=data["message_to_patient"],
                reopened_steps=data.get("reopened_steps") or [],
                override_justification=data["override_justification"],
                submission_id=data["submission_id"],
                expected_current_id=data.get("current_decision_id"),
                now=timezone.now(),
            )
        except DecisionError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            what = decision.get_outcome_display()
            if decision.outcome == EligibilityDecision.Outcome.ELIGIBLE:
                what += f" for {decision.get_modality_display()}"
            messages.success(request, _("Decision recorded and signed: %(what)s.") % {"what": what})
            return redirect("review:patient", pk=person.pk)
    hard_stops = finding_views(submission)
    return render(
        request,
        "review/decide.html",
        {
            "patient": person,
            "submission": submission,
            "form": form,
            "current": current,
            "findings": [f for f in hard_stops if f.severity != "For information"],
            "hard_stop_count": sum(1 for f in hard_stops if f.badge == "badge-risk-high"),
            "open_alert_count": sum(1 for a in patient_alerts(person) if a.acknowledged_at is None),
            **zone_context(person),
        },
        status=422 if request.method == "POST" and form.errors else 200,
    )
