"""The rules of the session day, as plain functions over plain data: no ORM, no clock.

Sources (clinical reference section 3): pre-dose BP above 140/90 is flagged for the clinician to decide (Spravato
label); resting BP above 180/100 is a hard stop for IV ketamine (Swiss label), applied here to both modalities
with a clinician override. Each treatment type carries its monitoring protocol (minimum time, from administration
or from the end of the dose, required readings); Spravato's is at least 2 hours from administration with vitals at
about 40 minutes and before discharge (label, REMS), and someone must drive the patient home (label section 17).
Dose checks before dosing: IV in mg/kg against the clinic's thresholds, Spravato 56 or 84 mg against the schedule. Re-screen before each session: high suicide risk
blocks dosing (clinic policy, clinical reference 3.4).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from django.utils.translation import gettext as _

REVIEW_ABOVE = (140, 90)
HARD_STOP_ABOVE = (180, 100)
# Spravato label (clinical reference 3.3): observation for at least 2 hours after administration.
SPRAVATO_MIN_MONITORING_MINUTES = 120
SPRAVATO_DOSES_MG = (56, 84)  # a planned dose: 2 or 3 devices (label section 2)
SPRAVATO_DEVICE_MG = 28
SPRAVATO_FIRST_DOSE_MG = 56


class BpFlag(StrEnum):
    OK = "ok"
    REVIEW = "review"
    HARD_STOP = "hard_stop"

    @property
    def label(self) -> str:
        return {
            BpFlag.OK: "Within limits",
            BpFlag.REVIEW: "Above 140/90: clinician decides",
            BpFlag.HARD_STOP: "Above 180/100: hard stop",
        }[self]


def bp_flag(systolic: int, diastolic: int) -> BpFlag:
    """Either number over its limit is enough: 185/80 is a hard stop, 130/95 needs review."""
    if systolic > HARD_STOP_ABOVE[0] or diastolic > HARD_STOP_ABOVE[1]:
        return BpFlag.HARD_STOP
    if systolic > REVIEW_ABOVE[0] or diastolic > REVIEW_ABOVE[1]:
        return BpFlag.REVIEW
    return BpFlag.OK


@dataclass(frozen=True)
class Rescreen:
    """The pre-session re-screen as the start gate needs it."""

    done: bool
    high_risk: bool = False
    open_alert: bool = False


@dataclass(frozen=True)
class StartFacts:
    is_treatment: bool  # consultations have no dosing gates
    is_spravato: bool
    checklist_complete: bool
    rescreen: Rescreen
    pre_dose_bp: tuple[int, int] | None
    bp_overridden: bool
    starter_is_clinician: bool
    rems_enrolled: bool
    dose_planned: bool = True
    plan_awaits_cosign: bool = False


def start_blockers(facts: StartFacts) -> list[str]:
    """Why dosing may not start yet, in words for the team; empty when it may."""
    if not facts.is_treatment:
        return []
    blockers = []
    if not facts.checklist_complete:
        blockers.append(
            _("Complete the check-in checklist: escort or driver named and confirmed, fasting confirmed.")
        )
    if facts.rescreen.open_alert:
        blockers.append(
            _("An urgent screening alert is open: a clinician must acknowledge it before dosing.")
        )
    if not facts.rescreen.done:
        blockers.append(
            _(
                "The patient has not completed the pre-session re-screen (PHQ-9 and C-SSRS since last visit) in the "
                "24 hours before the session."
            )
        )
    elif facts.rescreen.high_risk:
        blockers.append(
            _(
                "The re-screen shows high suicide risk: dosing is blocked and the on-call clinician is alerted."
            )
        )
    if facts.pre_dose_bp is None:
        blockers.append(_("Record the pre-dose vital signs."))
    else:
        flag = bp_flag(*facts.pre_dose_bp)
        bp = f"{facts.pre_dose_bp[0]}/{facts.pre_dose_bp[1]}"
        if flag is BpFlag.HARD_STOP and not facts.bp_overridden:
            blockers.append(
                _("Pre-dose BP %(bp)s is above 180/100: a hard stop until a clinician records an override.")
                % {"bp": bp}
            )
        elif flag is BpFlag.REVIEW and not facts.starter_is_clinician:
            blockers.append(
                _("Pre-dose BP %(bp)s is above 140/90: a clinician decides whether to proceed.") % {"bp": bp}
            )
    if not facts.dose_planned:
        blockers.append(_("A clinician records the planned dose (checked before dosing)."))
    elif facts.plan_awaits_cosign:
        blockers.append(
            _(
                "The planned dose is above the clinic's co-signature threshold: a second clinician must co-sign it."
            )
        )
    if facts.is_spravato and not facts.rems_enrolled:
        blockers.append(_("No Spravato REMS enrollment is on record for this patient."))
    return blockers


@dataclass(frozen=True)
class Protocol:
    """A treatment type's session-day rules (scheduling.models.TreatmentType)."""

    min_monitoring_minutes: int = 0
    monitoring_from_dose_end: bool = False  # IV: after the infusion ends; Spravato: from administration
    vitals_at_40_min: bool = False
    vitals_before_discharge: bool = True


# "About 40 minutes": a reading taken from this many minutes after administration on counts (clinic policy). An
# earlier one was taken before blood pressure peaks (clinical reference 3.1: the peak is at about 40 minutes).
AT_40_MIN_EARLIEST = 30


@dataclass(frozen=True)
class DischargeFacts:
    is_treatment: bool
    protocol: Protocol
    # Minutes since the protocol's monitoring started (administration, or the end of the dose); None when that
    # moment is not known yet.
    minutes_monitored: int | None
    dose_recorded: bool
    # Minutes after administration of the latest reading taken "about 40 minutes" after it; None when none.
    at_40_min_reading_after: int | None
    pre_discharge_vitals: bool
    escort_present: bool


@dataclass(frozen=True)
class DischargeCheck:
    """What stands between the patient and discharge. ``overridable``: the protocol's minimum time and its
    required readings, which a clinician may override with a reason; ``hard``: what nobody overrides (the dose
    record, the escort)."""

    hard: list[str]
    overridable: list[str]

    @property
    def blockers(self) -> list[str]:
        return self.hard + self.overridable


def discharge_check(facts: DischargeFacts) -> DischargeCheck:
    if not facts.is_treatment:
        return DischargeCheck([], [])
    hard, overridable = [], []
    protocol = facts.protocol
    if not facts.dose_recorded:
        hard.append(_("Record the dose (drug, dose, lot number, start time)."))
    if not facts.escort_present:
        hard.append(_("Confirm the escort or driver is here to take the patient home."))
    if protocol.vitals_at_40_min:
        after = facts.at_40_min_reading_after
        if after is None:
            overridable.append(_("Record the vital signs about 40 minutes after the dose."))
        elif after < AT_40_MIN_EARLIEST:
            overridable.append(
                _(
                    "The reading for about 40 minutes after the dose was taken %(after)s minutes after it: take it again from %(earliest)s minutes on."
                )
                % {"after": after, "earliest": AT_40_MIN_EARLIEST}
            )
    if protocol.vitals_before_discharge and not facts.pre_discharge_vitals:
        overridable.append(_("Record the vital signs before discharge."))
    if protocol.min_monitoring_minutes:
        since = _("the end of the infusion") if protocol.monitoring_from_dose_end else _("administration")
        if facts.minutes_monitored is None:
            overridable.append(
                _(
                    "Monitoring must last at least %(min_monitoring_minutes)s minutes after %(since)s: record when %(event)s."
                )
                % {
                    "min_monitoring_minutes": protocol.min_monitoring_minutes,
                    "since": since,
                    "event": _("the infusion ended")
                    if protocol.monitoring_from_dose_end
                    else _("the dose started"),
                }
            )
        elif facts.minutes_monitored < protocol.min_monitoring_minutes:
            overridable.append(
                _(
                    "Monitoring must last at least %(min_monitoring_minutes)s minutes after %(since)s; %(minutes_monitored)s minutes so far."
                )
                % {
                    "min_monitoring_minutes": protocol.min_monitoring_minutes,
                    "since": since,
                    "minutes_monitored": facts.minutes_monitored,
                }
            )
    return DischargeCheck(hard, overridable)


def discharge_blockers(facts: DischargeFacts) -> list[str]:
    return discharge_check(facts).blockers


# --- Dose checks before the dose is given ------------------------------------------------------------------------


@dataclass(frozen=True)
class DosePolicy:
    """IV ketamine dose thresholds in mg/kg (clinic policy: settings.SESSION_IV_DOSE_*)."""

    default_mg_per_kg: Decimal
    warn_above_mg_per_kg: Decimal
    cosign_above_mg_per_kg: Decimal


def shown(number: Decimal) -> str:
    """A dose or weight as people write it: 35, 35.5, 0.75 (not 35.0 or 0.750)."""
    return f"{number.normalize():f}"


def iv_planned_mg(weight_kg: Decimal, mg_per_kg: Decimal) -> Decimal:
    """dose_mg = mg/kg x the day's weight, to 0.1 mg (clinical reference 3.1)."""
    return (weight_kg * mg_per_kg).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def iv_plan_warnings(mg_per_kg: Decimal, policy: DosePolicy) -> list[str]:
    if mg_per_kg > policy.cosign_above_mg_per_kg:
        return [
            f"{shown(mg_per_kg)} mg/kg is above {policy.cosign_above_mg_per_kg} mg/kg: a second clinician must co-sign "
            "the plan before dosing."
        ]
    if mg_per_kg > policy.warn_above_mg_per_kg:
        return [
            f"{shown(mg_per_kg)} mg/kg is above {policy.warn_above_mg_per_kg} mg/kg, the top of the studied range "
            "(0.1-0.75 mg/kg)."
        ]
    return []


def iv_plan_needs_cosign(mg_per_kg: Decimal | None, policy: DosePolicy) -> bool:
    return mg_per_kg is not None and mg_per_kg > policy.cosign_above_mg_per_kg


def spravato_plan_warnings(
    dose_mg: int, *, booked_mg: int | None, first_session: bool, last_given_mg: int | None
) -> list[str]:
    """A Spravato dose against the induction schedule: the dose the session was booked for, the label's first
    dose (56 mg for treatment-resistant depression), the dose given last time. Flags, not refusals."""
    warnings = []
    if booked_mg and dose_mg != booked_mg:
        warnings.append(
            _("The schedule books %(booked_mg)s mg for this session; the plan is %(dose_mg)s mg.")
            % {"booked_mg": booked_mg, "dose_mg": dose_mg}
        )
    if first_session and dose_mg != SPRAVATO_FIRST_DOSE_MG:
        warnings.append(
            _(
                "This is the patient's first Spravato session: the label's first dose for treatment-resistant depression is %(spravato_first_dose_mg)s mg."
            )
            % {"spravato_first_dose_mg": SPRAVATO_FIRST_DOSE_MG}
        )
    if last_given_mg and dose_mg != last_given_mg:
        warnings.append(
            _("Changed from %(last_given_mg)s mg given at the last session.")
            % {"last_given_mg": last_given_mg}
        )
    return warnings


@dataclass(frozen=True)
class DoseFacts:
    """The checked plan and the dose recorded as given."""

    is_iv: bool
    plan_dose_mg: Decimal | None
    plan_mg_per_kg: Decimal | None
    plan_weight_kg: Decimal | None
    plan_cosigned: bool
    given_mg: Decimal | None
    given_mg_per_kg: Decimal | None
    given_weight_kg: Decimal | None


def dose_flags(facts: DoseFacts, policy: DosePolicy) -> list[str]:
    """How the dose given departs from the checked plan: shown on the summary and told to the clinic."""
    if facts.given_mg is None:
        return []
    if facts.plan_dose_mg is None:
        return [f"{shown(facts.given_mg)} mg was given without a checked plan."]
    flags = []
    if facts.given_mg != facts.plan_dose_mg:
        per_kg = f" ({shown(facts.given_mg_per_kg)} mg/kg)" if facts.is_iv and facts.given_mg_per_kg else ""
        flags.append(
            f"{shown(facts.given_mg)} mg{per_kg} was given; the checked plan was {shown(facts.plan_dose_mg)} mg"
            + (f" ({shown(facts.plan_mg_per_kg)} mg/kg)." if facts.is_iv and facts.plan_mg_per_kg else ".")
        )
    if (
        facts.is_iv
        and facts.given_weight_kg is not None
        and facts.plan_weight_kg is not None
        and facts.given_weight_kg != facts.plan_weight_kg
    ):
        flags.append(
            _(
                "The weight recorded with the dose (%(shown)s kg) is not the day's weight in the plan (%(shown2)s kg)."
            )
            % {"shown": shown(facts.given_weight_kg), "shown2": shown(facts.plan_weight_kg)}
        )
    if (
        facts.is_iv
        and facts.given_mg_per_kg is not None
        and iv_plan_needs_cosign(facts.given_mg_per_kg, policy)
        and not (facts.plan_cosigned and facts.given_mg == facts.plan_dose_mg)
    ):
        flags.append(
            _(
                "%(shown)s mg/kg is above %(cosign_above_mg_per_kg)s mg/kg without a second clinician's co-signature."
            )
            % {"shown": shown(facts.given_mg_per_kg), "cosign_above_mg_per_kg": policy.cosign_above_mg_per_kg}
        )
    return flags
