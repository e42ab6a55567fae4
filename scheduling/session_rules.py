"""The rules of the session day, as plain functions over plain data: no ORM, no clock.

Sources (clinical reference section 3): pre-dose BP above 140/90 is flagged for the clinician to decide (Spravato
label); resting BP above 180/100 is a hard stop for IV ketamine (Swiss label), applied here to both modalities
with a clinician override. Spravato: at least 2 hours of observation after the dose, then a stability check, and
someone must drive the patient home (REMS, label section 17). Re-screen before each session: high suicide risk
blocks dosing (clinic policy, clinical reference 3.4).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

REVIEW_ABOVE = (140, 90)
HARD_STOP_ABOVE = (180, 100)
SPRAVATO_MIN_OBSERVATION_MINUTES = 120
SPRAVATO_DOSES_MG = (56, 84)


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


def start_blockers(facts: StartFacts) -> list[str]:
    """Why dosing may not start yet, in words for the team; empty when it may."""
    if not facts.is_treatment:
        return []
    blockers = []
    if not facts.checklist_complete:
        blockers.append(
            "Complete the check-in checklist: escort or driver named and confirmed, fasting confirmed."
        )
    if facts.rescreen.open_alert:
        blockers.append("An urgent screening alert is open: a clinician must acknowledge it before dosing.")
    if not facts.rescreen.done:
        blockers.append(
            "The patient has not completed the pre-session re-screen (PHQ-9 and C-SSRS since last visit) in the "
            "24 hours before the session."
        )
    elif facts.rescreen.high_risk:
        blockers.append(
            "The re-screen shows high suicide risk: dosing is blocked and the on-call clinician is alerted."
        )
    if facts.pre_dose_bp is None:
        blockers.append("Record the pre-dose vital signs.")
    else:
        flag = bp_flag(*facts.pre_dose_bp)
        bp = f"{facts.pre_dose_bp[0]}/{facts.pre_dose_bp[1]}"
        if flag is BpFlag.HARD_STOP and not facts.bp_overridden:
            blockers.append(
                f"Pre-dose BP {bp} is above 180/100: a hard stop until a clinician records an override."
            )
        elif flag is BpFlag.REVIEW and not facts.starter_is_clinician:
            blockers.append(f"Pre-dose BP {bp} is above 140/90: a clinician decides whether to proceed.")
    if facts.is_spravato and not facts.rems_enrolled:
        blockers.append("No Spravato REMS enrolment is on record for this patient.")
    return blockers


@dataclass(frozen=True)
class DischargeFacts:
    is_treatment: bool
    is_spravato: bool
    minutes_observed: int | None  # since the dose (or session start) ended
    dose_recorded: bool
    pre_discharge_vitals: bool
    escort_present: bool


def discharge_blockers(facts: DischargeFacts) -> list[str]:
    if not facts.is_treatment:
        return []
    blockers = []
    if not facts.dose_recorded:
        blockers.append("Record the dose (drug, dose, lot number, start time).")
    if not facts.pre_discharge_vitals:
        blockers.append("Record the vital signs before discharge.")
    if facts.is_spravato:
        observed = facts.minutes_observed or 0
        if observed < SPRAVATO_MIN_OBSERVATION_MINUTES:
            blockers.append(
                f"Spravato needs at least {SPRAVATO_MIN_OBSERVATION_MINUTES} minutes of observation after the dose; "
                f"{observed} minutes so far."
            )
    if not facts.escort_present:
        blockers.append("Confirm the escort or driver is here to take the patient home.")
    return blockers
