"""Every change of intake state, one function each: called by views, commands and tasks alike."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from clinic import policies
from clinic.celery import app
from intake import medications, rules, scoring, sms_consent
from intake.consent import selectors as consent_selectors
from intake.consent import services as consent_services
from intake.errors import IntakeError as IntakeError
from intake.forms import IMPROVEMENT_PERCENT, age_on
from intake.instruments import load_instrument
from intake.models import (
    ConsentKind,
    ConsentRecord,
    InstrumentResponse,
    Intake,
    IntakeSubmission,
    Patient,
    UrgentAlert,
)
from intake.steps import STEPS_BY_KEY, steps_for

# Enqueued by name: the task lives in review (which tells the on-call clinicians), and intake does not import review.
NOTIFY_URGENT_ALERT_TASK = "review.tasks.notify_urgent_alert"


# --- Filling in ---------------------------------------------------------------------------------------------------


def current_intake(*, patient: Patient, now: datetime) -> Intake:
    """The patient's intake in progress, started if there is none (the partial unique index keeps it to one)."""
    intake = Intake.objects.filter(patient=patient, status=Intake.Status.IN_PROGRESS).first()
    if intake is not None:
        return intake
    with transaction.atomic():
        intake, _ = Intake.objects.get_or_create(
            patient=patient,
            status=Intake.Status.IN_PROGRESS,
            defaults={"started_at": now, "updated_at": now, "answers": _prefill(patient)},
        )
    return intake


def unsaved_intake(*, patient: Patient, now: datetime) -> Intake:
    """A new intake as it will start, not saved: its first step is shown from it, so that opening the intake
    writes nothing (a GET changes nothing; mail scanners and prefetching browsers follow links)."""
    return Intake(
        patient=patient,
        status=Intake.Status.IN_PROGRESS,
        started_at=now,
        updated_at=now,
        answers=_prefill(patient),
    )


@transaction.atomic
def start_intake(*, patient: Patient, step_key: str, answers: dict[str, Any], now: datetime) -> Intake:
    """Save the first step of a new intake: the draft is made now, or the one another tab made meanwhile is used."""
    return save_intake_step(
        intake=current_intake(patient=patient, now=now), step_key=step_key, answers=answers, now=now
    )


def _prefill(patient: Patient) -> dict[str, Any]:
    """What the clinic already knows goes into the contact step, for the patient to check."""
    contact = {
        "legal_first_name": patient.legal_first_name,
        "legal_last_name": patient.legal_last_name,
        "email": patient.email,
    }
    if patient.date_of_birth:
        contact["date_of_birth"] = patient.date_of_birth.isoformat()
    return {"_prefill": {"contact": contact}}


def save_intake_step(*, intake: Intake, step_key: str, answers: dict[str, Any], now: datetime) -> Intake:
    """Save one valid step of the draft. Only the step's own answers change; nothing else is written, except the
    urgent alert a high-risk C-SSRS step raises at once, in the same transaction (``raise_step_alert``).

    One statement: the step's key is merged into the stored answers by the database (jsonb ||), only while the
    intake is in progress, so two tabs saving different steps never lose each other's work, and a submitted intake
    is never changed. ``intake.answers`` is refreshed from the row as written."""
    if step_key not in STEPS_BY_KEY:
        raise IntakeError(gettext("There is no such step."))
    if step_key != "cssrs":  # the other steps stay one statement, outside any transaction block
        return _merge_step(intake=intake, step_key=step_key, answers=answers, now=now)
    with transaction.atomic():
        intake = _merge_step(intake=intake, step_key=step_key, answers=answers, now=now)
        if step_risk(intake) == "high":
            raise_step_alert(intake=intake, now=now)
    return intake


def _merge_step(*, intake: Intake, step_key: str, answers: dict[str, Any], now: datetime) -> Intake:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE intake_intake SET answers = answers || %s::jsonb, updated_at = %s "
            "WHERE id = %s AND status = %s RETURNING answers",
            [json.dumps({step_key: answers}), now, intake.pk, Intake.Status.IN_PROGRESS],
        )
        row = cursor.fetchone()
    if row is None:
        raise IntakeError(gettext("This intake has been submitted already; it can no longer be changed."))
    stored = row[0]
    intake.answers = json.loads(stored) if isinstance(stored, str) else stored
    intake.updated_at = now
    return intake


STEP_ALERT_REASON = "C-SSRS: high risk, answered on the intake's safety step before the intake was submitted"


def step_risk(intake: Intake) -> scoring.CssrsRisk | None:
    """The C-SSRS risk of the intake's saved safety step, or None when the step is not saved (or cannot be scored:
    the step's form only saves complete answers, so that is a tampered draft, scored in full on submission)."""
    answers = intake.answers.get("cssrs")
    if answers is None:
        return None
    try:
        score = scoring.score_instrument("cssrs", answers)
    except scoring.ScoringError:
        return None
    return score.risk if isinstance(score, scoring.CssrsScore) else None


def raise_step_alert(*, intake: Intake, now: datetime) -> UrgentAlert | None:
    """Raise the intake's urgent alert from its saved high-risk C-SSRS step, and tell the on-call clinicians on
    commit: the patient may never submit. One alert per intake (its unique ``intake`` column): saving the step
    again, another tab saving it at the same moment, or submitting later finds this one. Returns the alert when
    this call raised it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO intake_urgentalert (patient_id, intake_id, reasons, created_at, acknowledgement_note) "
            "VALUES (%s, %s, %s::jsonb, %s, '') ON CONFLICT (intake_id) DO NOTHING RETURNING id",
            [intake.patient_id, intake.pk, json.dumps([STEP_ALERT_REASON]), now],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    alert_id = row[0]
    transaction.on_commit(lambda: app.signature(NOTIFY_URGENT_ALERT_TASK).delay(alert_id))
    return UrgentAlert.objects.get(pk=alert_id)


@transaction.atomic
def sign_consent(
    *, intake: Intake, typed_name: str, now: datetime, ip_address: str | None, user_agent: str
) -> ConsentRecord:
    """Record the e-signature on the general consent in force (text hash, typed name, time, IP), as the intake's
    consent step."""
    version = consent_selectors.current_version(ConsentKind.GENERAL)
    if version is None:
        raise IntakeError(gettext("The clinic has not published its consent yet: please call the clinic."))
    record = ConsentRecord.objects.create(
        patient=intake.patient,
        kind=ConsentKind.GENERAL,
        version=version.version,
        text_sha256=consent_services.text_sha256(version),
        typed_name=typed_name,
        agreed_at=now,
        ip_address=ip_address,
        user_agent=user_agent[:400],
    )
    save_intake_step(
        intake=intake,
        step_key="consent",
        answers={
            "typed_name": typed_name,
            "agree": True,
            "version": version.version,
            "consent_id": record.pk,
        },
        now=now,
    )
    return record


def current_consent(patient: Patient) -> ConsentRecord | None:
    """The patient's signature on the general consent that still stands: a material version needs a new one."""
    return consent_selectors.general_signature(patient)


def missing_steps(intake: Intake) -> list[str]:
    answers = intake.answers
    missing = [step.key for step in steps_for(answers) if step.key not in answers]
    if "consent" not in missing and not consent_selectors.signature_stands(
        answers["consent"].get("consent_id"), intake.patient
    ):
        missing.append("consent")
    return missing


# --- Submitting ---------------------------------------------------------------------------------------------------


def _cutoffs(code: str) -> dict[str, Any]:
    if code == "pcl5":
        return {"probable_cutoff": policies.value("INTAKE_PCL5_PROBABLE_CUTOFF")}
    if code == "ocir":
        return {"ocd_cutoff": policies.value("INTAKE_OCIR_OCD_CUTOFF")}
    return {}


def score_answers(codes: list[str], answers: dict[str, Any]) -> dict[str, scoring.Score]:
    """Score each questionnaire; a ScoringError (tampered or incomplete answers) becomes an IntakeError."""
    scores = {}
    for code in codes:
        try:
            scores[code] = scoring.score_instrument(code, answers.get(code) or {}, **_cutoffs(code))
        except scoring.ScoringError as exc:
            raise IntakeError(
                gettext("%(short_title)s: %(message)s")
                % {"short_title": load_instrument(code).short_title, "message": exc.message}
            ) from exc
    return scores


def intake_facts(
    answers: dict[str, Any], *, today, cssrs_risk: scoring.CssrsRisk | None
) -> rules.IntakeFacts:

    medical = answers.get("medical", {})
    condition_codes = {condition.code for condition in rules.MEDICAL_HISTORY_CONDITIONS}
    rows = answers.get("medications", {}).get("items", [])
    classes = {medications.medication_class(row["name"], row.get("medication_class", "")) for row in rows}
    benzo_rows = [
        row
        for row in rows
        if medications.medication_class(row["name"], row.get("medication_class", "")) == "benzodiazepine"
    ]
    benzo_mg: Decimal | None = None
    if benzo_rows:
        doses = [
            medications.diazepam_equivalent_mg_per_day(
                row["name"], _decimal(row.get("dose_mg")), _decimal(row.get("times_per_day"))
            )
            for row in benzo_rows
        ]
        known = [dose for dose in doses if dose is not None]
        benzo_mg = None if len(known) < len(doses) else sum(known, Decimal(0))
    born = answers.get("contact", {}).get("date_of_birth")
    pregnant = medical.get("pregnant")
    breastfeeding = medical.get("breastfeeding")
    return rules.IntakeFacts(
        medical_history={code: medical[code] for code in condition_codes if code in medical},
        age_years=age_on(date.fromisoformat(born), today) if born else None,
        medications=frozenset(classes - {""}),
        benzodiazepine_diazepam_mg_per_day=float(benzo_mg) if benzo_mg is not None else None,
        allergy_ketamine=answers.get("medications", {}).get("allergy_ketamine"),
        pregnant=None if pregnant is None else ("no" if pregnant == "not_applicable" else pregnant),
        breastfeeding=None
        if breastfeeding is None
        else ("no" if breastfeeding == "not_applicable" else breastfeeding),
        child_pugh=medical.get("liver_severity")
        if medical.get("liver_severity") in ("A", "B", "C")
        else None,
        cssrs_risk=cssrs_risk,
    )


def _decimal(value: Any) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


def urgent_reasons(scores: dict[str, scoring.Score]) -> list[str]:
    """A high C-SSRS risk or any PHQ-9 item 9 answer of 1 or more needs a clinician now (clinical reference 1.1, 1.6)."""
    reasons = []
    for code in ("cssrs", "cssrs_since_last_visit"):
        score = scores.get(code)
        if isinstance(score, scoring.CssrsScore) and score.risk == "high":
            reasons.append("C-SSRS: high risk")
    phq9 = scores.get("phq9")
    if isinstance(phq9, scoring.Phq9Score) and phq9.item9_flag:
        reasons.append("PHQ-9 item 9 (thoughts of death or self-harm) answered above 'Not at all'")
    return reasons


def _record_submission(
    *,
    kind: str,
    patient: Patient,
    answers: dict[str, Any],
    scores: dict[str, scoring.Score],
    now: datetime,
    ip_address: str | None,
    intake: Intake | None = None,
    consent: ConsentRecord | None = None,
    findings: list[dict] | None = None,
    trd: dict | None = None,
    bmi: Decimal | None = None,
) -> IntakeSubmission:
    reasons = urgent_reasons(scores)
    cssrs = scores.get("cssrs") or scores.get("cssrs_since_last_visit")
    findings = findings or []
    # The review queue follows this insert (an intake) and the alert's below by database triggers, in this
    # transaction (ReviewQueueEntry, migration 0005): nothing to write here.
    submission = IntakeSubmission.objects.create(
        kind=kind,
        patient=patient,
        intake=intake,
        consent=consent,
        submitted_at=now,
        answers=answers,
        instrument_versions={code: load_instrument(code).version for code in scores},
        scores={code: score.as_dict() for code, score in scores.items()},
        findings=findings,
        trd=trd,
        bmi=bmi,
        cssrs_risk=cssrs.risk if isinstance(cssrs, scoring.CssrsScore) else "",
        phq9_item9=(answers.get("phq9") or {}).get("item9"),
        has_hard_stop=any(finding["severity"] == "hard_stop" for finding in findings),
        is_urgent=bool(reasons),
        ip_address=ip_address,
    )
    InstrumentResponse.objects.bulk_create(
        InstrumentResponse(
            submission=submission,
            patient=patient,
            instrument=code,
            version=submission.instrument_versions[code],
            answers=answers.get(code) or {},
            score=score.as_dict(),
            total=score.total,
            band=score.band or "",
            answered_at=now,
        )
        for code, score in scores.items()
    )
    if reasons:
        raised = (
            UrgentAlert.objects.select_for_update().filter(intake=intake).first()
            if intake is not None
            else None
        )
        if raised is not None:
            # The intake's safety step raised its alert already and the clinicians were told: the submission
            # joins that alert, adding any further reason, instead of raising a second one.
            raised.submission = submission
            said_cssrs = any(reason.startswith("C-SSRS") for reason in raised.reasons)
            raised.reasons = [
                *raised.reasons,
                *(
                    r
                    for r in reasons
                    if r not in raised.reasons and not (said_cssrs and r.startswith("C-SSRS"))
                ),
            ]
            raised.save(update_fields=["submission", "reasons"])
        else:
            alert = UrgentAlert.objects.create(
                patient=patient, submission=submission, intake=intake, reasons=reasons, created_at=now
            )
            transaction.on_commit(lambda: app.signature(NOTIFY_URGENT_ALERT_TASK).delay(alert.pk))
    return submission


@transaction.atomic
def submit_intake(*, intake: Intake, now: datetime, ip_address: str | None) -> IntakeSubmission:
    """Freeze the intake into an immutable submission with its scores, findings, TRD result and BMI."""
    intake = Intake.objects.select_for_update().select_related("patient").get(pk=intake.pk)
    if intake.status != Intake.Status.IN_PROGRESS:
        raise IntakeError(gettext("This intake has been submitted already."))
    if missing := missing_steps(intake):
        titles = ", ".join(STEPS_BY_KEY[key].title for key in missing)
        raise IntakeError(gettext("Please complete these steps first: %(titles)s.") % {"titles": titles})
    consent = current_consent(intake.patient)
    if consent is None or consent.pk != intake.answers["consent"].get("consent_id"):
        raise IntakeError(gettext("Please sign the current consent before submitting."))

    answers = {key: value for key, value in intake.answers.items() if not key.startswith("_")}
    applicable = {step.key for step in steps_for(answers)}
    answers = {key: value for key, value in answers.items() if key in applicable}
    codes = [step.instrument for step in steps_for(answers) if step.instrument]
    scores = score_answers(codes, answers)
    today = timezone.localdate(now)
    facts = intake_facts(answers, today=today, cssrs_risk=cast(scoring.CssrsScore, scores["cssrs"]).risk)
    if facts.age_years is not None and facts.age_years < rules.MIN_AGE_YEARS:
        raise IntakeError(gettext("We can only treat adults aged 18 or over. Please call the clinic."))
    findings = [
        finding.__dict__.copy()
        for finding in rules.evaluate(
            facts, benzodiazepine_blunting_mg=policies.value("INTAKE_BENZODIAZEPINE_BLUNTING_MG")
        )
    ]
    trials = [
        rules.AntidepressantTrial(
            drug=row["drug"],
            weeks=row["weeks"],
            adherent=row["adherent"] == "yes",
            improvement_pct=_improvement(row["improvement"]),
            current_episode=bool(row.get("current_episode", True)),
        )
        for row in answers.get("treatment", {}).get("trials", [])
    ]
    trd = rules.treatment_resistant_depression(trials)
    body = answers["body"]
    bmi = rules.bmi(Decimal(str(body["height_cm"])), Decimal(str(body["weight_kg"])))

    submission = _record_submission(
        kind=IntakeSubmission.Kind.INTAKE,
        patient=intake.patient,
        intake=intake,
        consent=consent,
        answers=answers,
        scores=scores,
        now=now,
        ip_address=ip_address,
        findings=findings,
        trd={
            "is_trd": trd.is_trd,
            "failed_trials": [trial.drug for trial in trd.failed_trials],
            "reasons": list(trd.reasons),
        },
        bmi=bmi,
    )
    _update_patient_contact(intake.patient, answers["contact"], now=now)
    intake.status = Intake.Status.SUBMITTED
    intake.submitted_at = now
    intake.updated_at = now
    intake.save(update_fields=["status", "submitted_at", "updated_at"])
    return submission


def _improvement(code: str) -> float | None:

    pct = IMPROVEMENT_PERCENT.get(code)
    return None if pct is None else float(pct)


def _update_patient_contact(patient: Patient, contact: dict[str, Any], *, now: datetime) -> None:
    fields = [
        "legal_first_name", "legal_last_name", "preferred_name", "phone", "address_line1", "address_line2", "city",
        "state", "postal_code", "emergency_contact_name", "emergency_contact_phone", "emergency_contact_relationship",
        "reminder_channel",
    ]  # fmt: skip
    for name in fields:
        setattr(patient, name, contact.get(name, "") or "")
    patient.date_of_birth = date.fromisoformat(contact["date_of_birth"])
    wants_sms = contact.get("reminder_channel") in {"sms", "both"} and contact.get("sms_consent")
    had_consent = patient.sms_consent_at is not None
    if wants_sms and not had_consent:
        patient.sms_consent_at = now
    elif not wants_sms:
        patient.sms_consent_at = None
    patient.save(update_fields=[*fields, "date_of_birth", "sms_consent_at"])
    if bool(wants_sms) != had_consent:
        sms_consent.record_intake_choice(patient=patient, gave=bool(wants_sms), now=now)


@transaction.atomic
def submit_rescreen(
    *, patient: Patient, answers: dict[str, Any], now: datetime, ip_address: str | None = None
) -> IntakeSubmission:
    """The short pre-session form: PHQ-9 and the C-SSRS "since last visit". High risk raises an urgent alert."""
    codes = ["phq9", "cssrs_since_last_visit"]
    answers = {code: answers.get(code) or {} for code in codes}
    scores = score_answers(codes, answers)
    return _record_submission(
        kind=IntakeSubmission.Kind.RESCREEN,
        patient=patient,
        answers=answers,
        scores=scores,
        now=now,
        ip_address=ip_address,
    )
