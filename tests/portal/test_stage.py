"""The patient's stage (portal.stage), a pure function: every stage, what it says, and what it must never say."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from portal.stage import Action, NextSession, PortalFacts, Stage, portal_stage

SESSION_AT = datetime(2027, 3, 3, 14, 0, tzinfo=UTC)
SUBMITTED = PortalFacts(latest_intake_id=7)
CLEARED = replace(SUBMITTED, decision_outcome="eligible", decision_submission_id=7, decision_modality="iv")


def _session(*, open_: bool = False, done: bool = False, treatment: bool = True) -> NextSession:
    return NextSession(start_at=SESSION_AT, is_treatment=treatment, checkin_open=open_, checkin_done=done)


STAGES = [
    (PortalFacts(), Stage.INVITED, Action.START_INTAKE),
    (PortalFacts(has_intake_in_progress=True), Stage.INTAKE_IN_PROGRESS, Action.CONTINUE_INTAKE),
    (SUBMITTED, Stage.SUBMITTED, Action.NONE),
    (replace(SUBMITTED, review_opened=True), Stage.UNDER_REVIEW, Action.NONE),
    (
        replace(
            SUBMITTED,
            decision_outcome="more_info_needed",
            decision_submission_id=7,
            information_request="Please tell us about your blood pressure medicine.",
        ),
        Stage.MORE_INFO_NEEDED,
        Action.ANSWER_REQUEST,
    ),
    (CLEARED, Stage.CLEARED, Action.NONE),
    (
        replace(SUBMITTED, decision_outcome="not_eligible", decision_submission_id=7),
        Stage.NOT_CLEARED,
        Action.NONE,
    ),
    (replace(CLEARED, next_session=_session()), Stage.BOOKED, Action.NONE),
    (replace(CLEARED, next_session=_session(open_=True)), Stage.CHECKIN_DUE, Action.CHECK_IN),
    (replace(CLEARED, next_session=_session(open_=True, done=True)), Stage.CHECKIN_DONE, Action.NONE),
    (replace(CLEARED, had_session=True), Stage.AFTER_SESSION, Action.NONE),
]


@pytest.mark.parametrize(("facts", "stage", "action"), STAGES, ids=[str(row[1]) for row in STAGES])
def test_each_stage_has_its_words_and_its_one_action(facts, stage, action):
    result = portal_stage(facts)
    assert (result.stage, result.action) == (stage, action)
    assert result.heading and result.message and result.next_step


def test_every_stage_is_reachable():
    assert {row[1] for row in STAGES} == set(Stage)


@pytest.mark.parametrize(
    "facts",
    [CLEARED, replace(CLEARED, next_session=_session()), replace(CLEARED, had_session=True),
     replace(CLEARED, next_session=_session(open_=True, done=True))],
)  # fmt: skip
def test_a_cleared_patient_never_reads_that_a_review_is_to_come(facts):
    result = portal_stage(facts)
    words = f"{result.heading} {result.message} {result.next_step}".lower()
    assert "will review" not in words and "reviewing" not in words


def test_the_information_request_shows_the_clinicians_words_to_the_patient():
    facts = replace(SUBMITTED, decision_outcome="more_info_needed", decision_submission_id=7,
                    information_request="Which antidepressants have you tried?")  # fmt: skip
    assert portal_stage(facts).message == "Which antidepressants have you tried?"


def test_a_newer_intake_after_a_decision_is_back_under_review_not_still_cleared():
    newer = replace(CLEARED, latest_intake_id=9)
    assert portal_stage(newer).stage is Stage.SUBMITTED
    assert portal_stage(replace(newer, review_opened=True)).stage is Stage.UNDER_REVIEW


def test_a_reopened_intake_being_filled_in_asks_to_continue_it():
    reopened = replace(SUBMITTED, decision_outcome="more_info_needed", decision_submission_id=5,
                       has_intake_in_progress=True)  # fmt: skip
    assert portal_stage(reopened).action is Action.CONTINUE_INTAKE


def test_not_cleared_names_a_way_to_talk_and_the_clinic_phone():
    facts = replace(
        SUBMITTED, decision_outcome="not_eligible", decision_submission_id=7, clinic_phone="617-555-0100"
    )
    result = portal_stage(facts)
    assert result.phone == "617-555-0100" and "contact you" in result.next_step


def test_a_consultation_has_no_check_in():
    facts = replace(CLEARED, next_session=_session(open_=True, treatment=False))
    assert portal_stage(facts).stage is Stage.BOOKED
    assert "check-in" not in portal_stage(facts).next_step


def test_cleared_offers_online_booking_only_when_the_clinic_allows_it():
    assert portal_stage(CLEARED).action is Action.NONE
    assert "front desk will call" in portal_stage(CLEARED).next_step
    assert portal_stage(replace(CLEARED, self_booking=True)).action is Action.BOOK


def test_the_next_session_outranks_a_past_one():
    facts = replace(CLEARED, had_session=True, next_session=_session(open_=True))
    assert portal_stage(facts).stage is Stage.CHECKIN_DUE
