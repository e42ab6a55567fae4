"""Where a patient stands, in one word and in plain sentences: the top of the patient's home page.

A pure function over plain facts (``PortalFacts``, gathered by ``portal.selectors.portal_facts``): no ORM, no
request, no clock. Each stage says what is true now and what happens next, and nothing the clinic keeps to itself:
a not-cleared patient reads that the clinic will talk it through with them, never the clinician's reason, and a
cleared patient never reads that a review is still to come.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class Stage(StrEnum):
    INVITED = "invited"
    INTAKE_IN_PROGRESS = "intake_in_progress"
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    MORE_INFO_NEEDED = "more_info_needed"
    CLEARED = "cleared"
    NOT_CLEARED = "not_cleared"
    BOOKED = "booked"
    CHECKIN_DUE = "checkin_due"
    CHECKIN_DONE = "checkin_done"
    AFTER_SESSION = "after_session"


class Action(StrEnum):
    """The one thing the stage asks the patient to do (the template turns it into a link)."""

    NONE = ""
    START_INTAKE = "start_intake"
    CONTINUE_INTAKE = "continue_intake"
    ANSWER_REQUEST = "answer_request"
    CHECK_IN = "check_in"
    BOOK = "book"


@dataclass(frozen=True)
class NextSession:
    """The patient's next session still to come."""

    start_at: datetime
    is_treatment: bool  # a consultation needs no check-in
    checkin_open: bool  # the check-in opens 24 hours before the session
    checkin_done: bool  # a check-in was submitted since it opened


@dataclass(frozen=True)
class PortalFacts:
    has_intake_in_progress: bool = False
    latest_intake_id: int | None = None
    # A clinician opened the patient's screening since the latest intake was submitted.
    review_opened: bool = False
    decision_outcome: str | None = None  # "eligible", "not_eligible", "more_info_needed"
    decision_submission_id: int | None = None  # the intake the decision in force was made on
    decision_modality: str = "none"  # "iv", "spravato", "both", "none"
    information_request: str = ""  # the clinician's words to the patient, while the request is unanswered
    next_session: NextSession | None = None
    had_session: bool = False  # a treatment session that took place
    self_booking: bool = False
    clinic_phone: str = ""


@dataclass(frozen=True)
class PortalStage:
    stage: Stage
    heading: str
    message: str
    next_step: str
    action: Action = Action.NONE
    # The clinic's number, when the words ask the patient to call (the page shows it as a tap-to-call link).
    phone: str = ""


_MODALITY_WORDS = {
    "iv": gettext_lazy("IV ketamine"),
    "spravato": gettext_lazy("Spravato (esketamine)"),
    "both": gettext_lazy("IV ketamine or Spravato (esketamine)"),
}


def portal_stage(facts: PortalFacts) -> PortalStage:
    """The stage the patient is at, with the words they read (in the language of the request)."""
    phone = facts.clinic_phone
    if facts.latest_intake_id is None:
        if facts.has_intake_in_progress:
            return PortalStage(
                Stage.INTAKE_IN_PROGRESS,
                _("Your intake is started"),
                _("Your answers are saved as you go, so you can stop and finish later on any device."),
                _("When you submit it, a clinician reads your answers."),
                Action.CONTINUE_INTAKE,
            )
        return PortalStage(
            Stage.INVITED,
            _("Welcome: your first step is the intake"),
            _(
                "Before your first visit, please tell us about your health. It takes about 20 minutes, and you can "
                "stop and come back at any time."
            ),
            _("When you submit it, a clinician reads your answers."),
            Action.START_INTAKE,
        )
    if facts.information_request:
        return PortalStage(
            Stage.MORE_INFO_NEEDED,
            _("Your clinician would like a little more information"),
            facts.information_request,
            _("When you send your answers, your clinician looks at them again."),
            Action.ANSWER_REQUEST,
        )
    if facts.decision_outcome is None or facts.decision_submission_id != facts.latest_intake_id:
        if facts.has_intake_in_progress:
            return PortalStage(
                Stage.INTAKE_IN_PROGRESS,
                _("You have changes to send"),
                _("Your answers are saved as you go. Submit them when you are ready."),
                _("When you submit, a clinician reads your new answers."),
                Action.CONTINUE_INTAKE,
            )
        if facts.review_opened:
            return PortalStage(
                Stage.UNDER_REVIEW,
                _("A clinician is reviewing your intake"),
                _("A clinician has started reading your answers."),
                _(
                    "The clinic will contact you when the review is finished, usually within two working days."
                ),
            )
        return PortalStage(
            Stage.SUBMITTED,
            _("Your intake is submitted"),
            _("Thank you. A clinician will review your answers, usually within two working days."),
            _("The clinic will contact you when the review is finished."),
        )
    if facts.decision_outcome == "not_eligible":
        return PortalStage(
            Stage.NOT_CLEARED,
            _("Your clinician has finished the review"),
            _(
                "After reading your answers, your clinician has decided that this treatment is not the right choice "
                "for you at the moment. This is a medical decision about the treatment, not about you."
            ),
            _(
                "The clinic will contact you to talk it through and about other care that may help. If you "
                "would like to talk sooner, call the clinic."
            ),
            phone=phone,
        )
    if facts.decision_outcome != "eligible":
        # A request for information the patient has since answered is decided on the newer intake, above; a
        # decision in force that is neither, on the latest intake, is still with the clinician.
        return PortalStage(
            Stage.UNDER_REVIEW,
            _("A clinician is reviewing your intake"),
            _("A clinician is reading your answers."),
            _("The clinic will contact you when the review is finished."),
        )
    session = facts.next_session
    if session is not None:
        if session.is_treatment and session.checkin_done:
            return PortalStage(
                Stage.CHECKIN_DONE,
                _("Your check-in is done"),
                _(
                    "Thank you for answering the check-in. Your clinician will look at it before your session."
                ),
                _("See you at your session. If anything changes before then, call the clinic."),
                phone=phone,
            )
        if session.is_treatment and session.checkin_open:
            return PortalStage(
                Stage.CHECKIN_DUE,
                _("Your check-in is open"),
                _("Please answer a short check-in about how you have been before you come to your session."),
                _("It takes about five minutes. Your clinician reads it before your session."),
                Action.CHECK_IN,
            )
        if session.is_treatment:
            return PortalStage(
                Stage.BOOKED,
                _("Your next session is booked"),
                _("Your session details are below."),
                _("A short check-in opens here 24 hours before each treatment session."),
            )
        return PortalStage(
            Stage.BOOKED,
            _("Your next session is booked"),
            _("Your session details are below."),
            _("If you need to change it, use the buttons below or call the clinic."),
            phone=phone,
        )
    treatment = _MODALITY_WORDS.get(facts.decision_modality, _("treatment"))
    book = (
        _("You can book a session online below, or the front desk will call you to book.")
        if facts.self_booking
        else _("The front desk will call you to book your sessions.")
    )
    if facts.had_session:
        return PortalStage(
            Stage.AFTER_SESSION,
            _("Thank you for coming in"),
            _("You have no session booked at the moment."),
            _("%(book)s If you feel unwell after a session, call the clinic. In a crisis, call or text 988.")
            % {"book": book},
            Action.BOOK if facts.self_booking else Action.NONE,
            phone=phone,
        )
    return PortalStage(
        Stage.CLEARED,
        _("You are cleared for treatment"),
        _("Your clinician has reviewed your intake and cleared you for %(treatment)s.")
        % {"treatment": treatment},
        book,
        Action.BOOK if facts.self_booking else Action.NONE,
    )
