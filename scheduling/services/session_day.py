"""The day of the session: its states (confirmed, checked in, in session, recovering, discharged) and what is
recorded on the way (check-in checklist, vitals, blood-pressure override, observation scores). Each step
re-reads the appointment under lock and refuses, with every reason listed, what the session rules do not allow
yet. The dose (its plan, co-signature and record) is services.dose; the REMS monitoring form is services.rems."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from clinic.roles import Role
from intake.consent import selectors as consent_selectors
from scheduling import reminders, selectors, session_rules
from scheduling.errors import InvalidTransition, SessionRefused
from scheduling.models import Appointment, SessionRecord, TreatmentType, VitalSigns
from scheduling.services.holds import locked

Status = Appointment.Status

# --- The session's states ---------------------------------------------------------------------------------------

# to-state -> (allowed from-states, timestamp field). Cancelled and no-show have their own services (booking).
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    Status.CONFIRMED: (frozenset({Status.BOOKED}), "confirmed_at"),
    Status.CHECKED_IN: (frozenset({Status.BOOKED, Status.CONFIRMED}), "checked_in_at"),
    Status.IN_SESSION: (frozenset({Status.CHECKED_IN}), "session_started_at"),
    Status.RECOVERING: (frozenset({Status.IN_SESSION}), "recovery_started_at"),
    Status.DISCHARGED: (frozenset({Status.RECOVERING}), "discharged_at"),
}
# How soon before its start a session may be checked in (a patient arriving early).
CHECK_IN_EARLIEST = timedelta(hours=2)


def _transition(appointment: Appointment, to: str, *, now: datetime, guard=None) -> Appointment:
    """Move the (re-read, locked) appointment to ``to``; ``guard(locked_row)`` may refuse with a message."""
    appointment = locked(appointment)
    allowed_from, stamp = TRANSITIONS[to]
    if appointment.treatment_type.modality == TreatmentType.Modality.CONSULTATION and to == Status.DISCHARGED:
        allowed_from = allowed_from | {Status.IN_SESSION}  # a consultation has no recovery
    if appointment.status not in allowed_from:
        raise InvalidTransition(
            gettext(
                "This session is %(appointment)s: it cannot be marked %(label)s. Allowed next: %(next_steps_text)s."
            )
            % {
                "appointment": appointment.get_status_display().lower(),
                "label": Status(to).label.lower(),
                "next_steps_text": next_steps_text(appointment),
            }
        )
    if guard is not None:
        guard(appointment)
    appointment.status = to
    setattr(appointment, stamp, now)
    appointment.save(update_fields=["status", stamp, "updated_at"])
    return appointment


def next_steps(appointment: Appointment) -> list[str]:
    """The states this appointment may move to next (what the buttons offer)."""
    steps = [
        to
        for to, (allowed_from, _) in TRANSITIONS.items()
        if appointment.status in allowed_from
        or (
            to == Status.DISCHARGED
            and appointment.status == Status.IN_SESSION
            and appointment.treatment_type.modality == TreatmentType.Modality.CONSULTATION
        )
    ]
    if appointment.status in (Status.BOOKED, Status.CONFIRMED, Status.CHECKED_IN):
        steps.append(Status.CANCELLED)
    if appointment.status in (Status.BOOKED, Status.CONFIRMED):
        steps.append(Status.NO_SHOW)
    return steps


def next_steps_text(appointment: Appointment) -> str:
    return ", ".join(Status(s).label.lower() for s in next_steps(appointment)) or gettext(
        "nothing (the session is closed)"
    )


@transaction.atomic
def confirm_appointment(
    *, appointment: Appointment, confirmed_by, now: datetime | None = None
) -> Appointment:
    now = now or timezone.now()
    appointment = _transition(appointment, Status.CONFIRMED, now=now)
    reminders.plan_reminders_for(appointment, now=now)
    return appointment


@transaction.atomic
def check_in(*, appointment: Appointment, checked_in_by, now: datetime | None = None) -> Appointment:
    now = now or timezone.now()

    def not_too_early(locked: Appointment) -> None:
        if locked.start_at - now > CHECK_IN_EARLIEST:
            raise InvalidTransition(gettext("Check-in opens 2 hours before the session starts."))
        # A session booked before a material consent change or a withdrawal waits for the patient's signature.
        if refusal := consent_selectors.refusal(locked.patient, locked.treatment_type.modality):
            raise InvalidTransition(refusal)

    return _transition(appointment, Status.CHECKED_IN, now=now, guard=not_too_early)


@transaction.atomic
def start_session(*, appointment: Appointment, started_by, now: datetime | None = None) -> Appointment:
    """Dosing starts. Refused, with every reason listed, until the check-in checklist, the re-screen and the
    pre-dose vitals allow it (scheduling.session_rules)."""
    now = now or timezone.now()

    def may_start(locked: Appointment) -> None:
        blockers = session_rules.start_blockers(selectors.start_facts(locked, starter=started_by, now=now))
        if blockers:
            raise InvalidTransition(
                gettext("Dosing cannot start yet.") + " " + " ".join(blockers), blockers=blockers
            )

    return _transition(appointment, Status.IN_SESSION, now=now, guard=may_start)


@transaction.atomic
def start_recovery(*, appointment: Appointment, by, now: datetime | None = None) -> Appointment:
    return _transition(appointment, Status.RECOVERING, now=now or timezone.now())


@transaction.atomic
def discharge(
    *,
    appointment: Appointment,
    discharged_by,
    now: datetime | None = None,
    escort_present: bool | None = None,
    override_reason: str = "",
) -> Appointment:
    """Discharge, only when the treatment type's protocol allows it: the dose recorded, the escort here, the
    minimum monitoring time passed and the required readings taken. A clinician may discharge before the minimum
    time or without a required reading by recording an override with a reason (kept, audited, on the summary);
    nobody overrides a missing dose record or escort."""
    now = now or timezone.now()
    override_reason = (override_reason or "").strip()
    if override_reason:
        _require_clinician(discharged_by, gettext("override the discharge rules"))
    if escort_present is not None:
        record = _session_record(appointment)
        record.escort_present_at_discharge = escort_present
        record.save(update_fields=["escort_present_at_discharge"])

    def may_leave(locked: Appointment) -> None:
        check = session_rules.discharge_check(selectors.discharge_facts(locked, now=now))
        if check.hard or (check.overridable and not override_reason):
            hint = (
                " "
                + gettext(
                    "A clinician may discharge before the minimum time or without a reading by recording an "
                    "override with a reason."
                )
                if check.overridable
                else ""
            )
            raise InvalidTransition(
                gettext("The patient cannot be discharged yet.") + " " + " ".join(check.blockers) + hint,
                blockers=check.blockers,
            )
        if check.overridable:
            record = _session_record(locked)
            record.discharge_override_reason = override_reason
            record.discharge_override_blockers = check.overridable
            record.discharge_override_at = now
            record.discharge_override_by = discharged_by
            record.save(
                update_fields=[
                    "discharge_override_reason",
                    "discharge_override_blockers",
                    "discharge_override_at",
                    "discharge_override_by",
                ]
            )

    return _transition(appointment, Status.DISCHARGED, now=now, guard=may_leave)


# --- The day of the session -------------------------------------------------------------------------------------


def _session_record(appointment: Appointment) -> SessionRecord:
    record, _ = SessionRecord.objects.select_for_update().get_or_create(appointment_id=appointment.pk)
    return record


def _require_status(appointment: Appointment, allowed: set[str], doing: str) -> None:
    if appointment.status not in allowed:
        raise InvalidTransition(
            gettext("This session is %(appointment)s: %(doing)s is not possible now.")
            % {"appointment": appointment.get_status_display().lower(), "doing": doing}
        )


def _require_clinician(user, doing: str) -> None:
    if user is None or getattr(user, "role", None) is not Role.CLINICIAN:
        raise SessionRefused(gettext("Only a clinician can %(doing)s.") % {"doing": doing})


@transaction.atomic
def record_check_in_checklist(
    *,
    appointment: Appointment,
    escort_name: str,
    escort_phone: str,
    escort_confirmed: bool,
    fasting_confirmed: bool,
    recorded_by,
    now: datetime | None = None,
) -> SessionRecord:
    """The check-in checklist: who drives the patient home (named, with a phone, confirmed) and fasting."""
    now = now or timezone.now()
    appointment = locked(appointment)
    _require_status(appointment, {Status.CHECKED_IN}, gettext("the check-in checklist"))
    escort_name, escort_phone = escort_name.strip(), escort_phone.strip()
    if escort_confirmed and not (escort_name and escort_phone):
        raise SessionRefused(
            gettext("Give the escort or driver's name and phone before confirming them."), field="escort_name"
        )
    record = _session_record(appointment)
    record.escort_name = escort_name[:120]
    record.escort_phone = escort_phone[:32]
    record.escort_confirmed_at = (record.escort_confirmed_at or now) if escort_confirmed else None
    record.fasting_confirmed_at = (record.fasting_confirmed_at or now) if fasting_confirmed else None
    record.checklist_by = recorded_by
    record.save(
        update_fields=[
            "escort_name",
            "escort_phone",
            "escort_confirmed_at",
            "fasting_confirmed_at",
            "checklist_by",
        ]
    )
    return record


VITALS_LIMITS = {"systolic": (40, 300), "diastolic": (20, 200), "heart_rate": (20, 250), "spo2": (50, 100)}
VITALS_NAMES = {
    "systolic": gettext_noop("Systolic BP"),
    "diastolic": gettext_noop("Diastolic BP"),
    "heart_rate": gettext_noop("Heart rate"),
    "spo2": "SpO2",
}


@transaction.atomic
def record_vitals(
    *,
    appointment: Appointment,
    phase: str,
    systolic: int,
    diastolic: int,
    heart_rate: int,
    spo2: int,
    recorded_by,
    now: datetime | None = None,
) -> VitalSigns:
    """One set of vitals. A pre-dose BP over 140/90 is flagged for the clinician; over 180/100 is a hard stop."""
    now = now or timezone.now()
    appointment = locked(appointment)
    _require_status(
        appointment,
        {Status.CHECKED_IN, Status.IN_SESSION, Status.RECOVERING},
        gettext("recording vital signs"),
    )
    values = {"systolic": systolic, "diastolic": diastolic, "heart_rate": heart_rate, "spo2": spo2}
    for name, value in values.items():
        low, high = VITALS_LIMITS[name]
        if not isinstance(value, int) or not low <= value <= high:
            raise SessionRefused(
                gettext("%(name)s must be a whole number from %(low)s to %(high)s.")
                % {"name": gettext(VITALS_NAMES[name]), "low": low, "high": high},
                field=name,
            )
    if systolic <= diastolic:
        raise SessionRefused(gettext("Systolic BP must be higher than diastolic BP."), field="systolic")
    if phase not in VitalSigns.Phase.values:
        raise SessionRefused(gettext("Choose when these vitals were taken."), field="phase")
    return VitalSigns.objects.create(
        appointment=appointment, phase=phase, recorded_at=now, recorded_by=recorded_by, **values
    )


@transaction.atomic
def override_bp_hard_stop(
    *, appointment: Appointment, reason: str, clinician_user, now: datetime | None = None
) -> SessionRecord:
    """A clinician accepts a pre-dose BP above 180/100 and says why; the session may then start."""
    now = now or timezone.now()
    _require_clinician(clinician_user, gettext("override a blood-pressure hard stop"))
    reason = (reason or "").strip()
    if not reason:
        raise SessionRefused(gettext("Say why it is safe to proceed."), field="reason")
    appointment = locked(appointment)
    _require_status(appointment, {Status.CHECKED_IN}, gettext("a blood-pressure override"))
    record = _session_record(appointment)
    record.bp_override_reason = reason
    record.bp_override_at = now
    record.bp_override_by = clinician_user
    record.save(update_fields=["bp_override_reason", "bp_override_at", "bp_override_by"])
    return record


@transaction.atomic
def record_observation_scores(
    *, appointment: Appointment, dissociation_score: int | None, sedation_score: int | None, recorded_by
) -> SessionRecord:
    """The clinician's dissociation (CADSS 0-92) and sedation (MOAA/S 0-5) scores."""
    _require_clinician(recorded_by, gettext("record dissociation and sedation scores"))
    appointment = locked(appointment)
    _require_status(appointment, {Status.IN_SESSION, Status.RECOVERING}, gettext("recording scores"))
    if dissociation_score is not None and not 0 <= dissociation_score <= 92:
        raise SessionRefused(
            gettext("The dissociation score (CADSS) is from 0 to 92."), field="dissociation_score"
        )
    if sedation_score is not None and not 0 <= sedation_score <= 5:
        raise SessionRefused(gettext("The sedation score (MOAA/S) is from 0 to 5."), field="sedation_score")
    record = _session_record(appointment)
    record.dissociation_score = dissociation_score
    record.sedation_score = sedation_score
    record.scores_recorded_by = recorded_by
    record.save(update_fields=["dissociation_score", "sedation_score", "scores_recorded_by"])
    return record
