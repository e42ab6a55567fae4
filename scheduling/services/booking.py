"""Booking one session or a series, moving one, handing one to another clinician, cancelling, no-show.

Each is one function, keyword-only arguments, and one transaction a try (a booking that meets a clash still in
flight tries once more: ``holds.until_decided``). A conflict rolls the try back first and reads the alternatives
after, so no savepoint is needed. Every booking change plans the appointment's reminders in its own transaction.

"24 hours before" (the late-cancellation window) is elapsed time, not wall-clock time: a patient who cancels at
09:00 on Saturday 13 March 2027 for 09:00 on Sunday 14 March (New York springs forward overnight) is 24
wall-clock hours but only 23 real hours ahead, so the cancellation is late. Elapsed time is what the clinic loses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from clinic import policies
from clinic.local_time import format_local
from intake.models import Patient
from scheduling import reminders, selectors
from scheduling.errors import BookingConflict, BookingRefused, InvalidTransition, SchedulingError
from scheduling.models import Appointment, Clinician, Location, Resource, TreatmentSeries, TreatmentType
from scheduling.services.gates import choose_and_check, conflict
from scheduling.services.holds import (
    Taken,
    hold,
    locked,
    release,
    retry_aborted,
    session_holds,
    until_decided,
)

DEFAULT_LATE_CANCEL_HOURS = 24

Status = Appointment.Status


def late_cancel_hours() -> int:
    return int(policies.value("SCHEDULING_LATE_CANCEL_HOURS"))


# --- Booking --------------------------------------------------------------------------------------------------


@retry_aborted
def book_appointment(
    *,
    patient: Patient,
    treatment_type: TreatmentType,
    location: Location,
    start: datetime,
    booked_by,
    resource: Resource | None = None,
    clinician: Clinician | None = None,
    end: datetime | None = None,
    notes: str = "",
    now: datetime | None = None,
    series: TreatmentSeries | None = None,
    series_index: int | None = None,
    series_note: str = "",
    with_alternatives: bool = True,
) -> Appointment:
    """Book one session. Leave ``resource`` / ``clinician`` out to take the first free ones at ``start``.

    Raises BookingRefused (a gate said no) or BookingConflict (something is taken; nothing was written).
    One transaction: one read for every gate (``selectors.booking_facts``), the holds (with the new id and the
    lock wait, one round trip), then the appointment and its reminder rows (one more). A conflict rolls it back
    first and reads the alternatives after, so no savepoint is needed.
    """
    now = now or timezone.now()
    holds = session_holds(treatment_type, start, end)
    chosen: dict[str, Resource | Clinician] = {}  # the chair and clinician of the latest try, for a conflict

    def attempt(short_wait: bool) -> Appointment:
        with transaction.atomic():
            chosen["resource"], chosen["clinician"] = choose_and_check(
                patient=patient,
                treatment_type=treatment_type,
                location=location,
                holds=holds,
                resource=resource,
                clinician=clinician,
                now=now,
                with_alternatives=with_alternatives,
            )
            appointment = Appointment(
                patient=patient,
                location=location,
                treatment_type=treatment_type,
                resource=chosen["resource"],
                clinician=chosen["clinician"],
                start_at=holds.start,
                end_at=holds.end,
                status=Status.BOOKED,
                series=series,
                series_index=series_index,
                series_note=series_note,
                notes=notes,
                created_by=booked_by,
            )
            # The outbox rows, in this transaction and in the appointment's own statement; planned only once the
            # holds are in, so a booking that loses the race reads no policy.
            hold(
                appointment,
                holds,
                short_wait=short_wait,
                with_rows=lambda: reminders.new_booking_reminders(appointment, patient=patient, now=now),
            )
        return appointment

    try:
        return until_decided(attempt)
    except Taken as taken:
        raise conflict(
            taken.error,
            patient=patient,
            treatment_type=treatment_type,
            location=location,
            resource=chosen["resource"],
            clinician=chosen["clinician"],
            holds=holds,
            now=now,
            session_index=series_index if series else None,
            with_alternatives=with_alternatives,
        ) from None


@dataclass(frozen=True)
class SeriesSessionChoice:
    """One session of a confirmed series proposal. Chair/room and clinician may be left to the system."""

    index: int
    start: datetime
    resource_id: int | None = None
    clinician_id: int | None = None
    note: str = ""


@retry_aborted
@transaction.atomic
def book_series(
    *,
    patient: Patient,
    treatment_type: TreatmentType,
    location: Location,
    template_code: str,
    weekdays: Sequence[int],
    local_time: time,
    sessions: Sequence[SeriesSessionChoice],
    booked_by,
    now: datetime | None = None,
) -> TreatmentSeries:
    """Book every session of a confirmed proposal, or none: one conflict rolls the whole series back."""
    now = now or timezone.now()
    template = selectors.bookable_course_template(template_code)
    if template is None:
        raise BookingRefused(gettext("Unknown or retired treatment series template."), field="template")
    if selectors.TEMPLATE_MODALITY.get(template.modality) != treatment_type.modality:
        raise BookingRefused(
            gettext("%(template)s is not a course of %(treatment_type)s.")
            % {"template": template.label, "treatment_type": treatment_type.label},
            field="treatment_type",
        )
    if not sessions:
        raise BookingRefused(gettext("The series has no sessions to book."))
    if len({s.index for s in sessions}) != len(sessions):
        raise BookingRefused(gettext("Each session of the series may be booked once."))
    treatment_series = TreatmentSeries.objects.create(
        patient=patient,
        location=location,
        treatment_type=treatment_type,
        template_code=template.code,
        label=template.label,
        weekdays=",".join(str(d) for d in sorted(weekdays)),
        local_time=local_time,
        created_by=booked_by,
    )
    resources = Resource.objects.in_bulk([s.resource_id for s in sessions if s.resource_id])
    clinicians = Clinician.objects.select_related("user").in_bulk(
        [s.clinician_id for s in sessions if s.clinician_id]
    )
    unknown = [
        s.index
        for s in sessions
        if (s.resource_id and s.resource_id not in resources)
        or (s.clinician_id and s.clinician_id not in clinicians)
    ]
    if unknown:
        # Left empty, the booking would pick a free chair or clinician itself: not what was proposed.
        raise BookingRefused(
            gettext(
                "Session %(min)s names a chair, room or clinician the clinic no longer has: propose the series again."
            )
            % {"min": min(unknown)}
        )
    for session in sorted(sessions, key=lambda s: s.start):
        try:
            book_appointment(
                patient=patient,
                treatment_type=treatment_type,
                location=location,
                start=session.start,
                booked_by=booked_by,
                resource=resources.get(session.resource_id) if session.resource_id else None,
                clinician=clinicians.get(session.clinician_id) if session.clinician_id else None,
                now=now,
                series=treatment_series,
                series_index=session.index,
                series_note=session.note,
            )
        except SchedulingError as exc:
            if not exc.message.startswith("Session "):
                exc.message = (
                    f"Session {session.index} ({format_local(session.start, location)}): {exc.message}"
                )
                exc.args = (exc.message,)
            raise
    return treatment_series


@retry_aborted
def reschedule_appointment(
    *,
    appointment: Appointment,
    start: datetime,
    rescheduled_by,
    resource: Resource | None = None,
    clinician: Clinician | None = None,
    end: datetime | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Move one session (the rest of its series stays). Keeps the chair and clinician unless told otherwise,
    falling back to any free ones when front desk leaves them out. The patient must confirm again.

    One transaction, as ``book_appointment``: a conflict rolls it back, then the alternatives are read."""
    now = now or timezone.now()
    try:
        return until_decided(
            lambda short_wait: _move(
                appointment=appointment,
                start=start,
                resource=resource,
                clinician=clinician,
                end=end,
                now=now,
                short_wait=short_wait,
            )
        )
    except Taken as taken:
        raise _moving_conflict(taken, now=now) from None


def _moving_conflict(taken: Taken, *, now: datetime) -> BookingConflict:
    """A move's (or a hand-over's) decided clash, named from the appointment as its rolled-back try read it."""
    moving = taken.moving
    return conflict(
        taken.error,
        patient=moving.patient,
        treatment_type=moving.treatment_type,
        location=moving.location,
        resource=moving.resource,
        clinician=moving.clinician,
        holds=taken.holds,
        now=now,
        ignore_appointment=moving,
    )


@transaction.atomic
def _move(
    *,
    appointment: Appointment,
    start: datetime,
    resource: Resource | None,
    clinician: Clinician | None,
    end: datetime | None,
    now: datetime,
    short_wait: bool,
) -> Appointment:
    """One attempt of ``reschedule_appointment``, in its own transaction."""
    appointment = locked(appointment)
    if appointment.status not in (Status.BOOKED, Status.CONFIRMED):
        raise InvalidTransition(
            gettext("A session that is %(appointment)s cannot be moved.")
            % {"appointment": appointment.get_status_display().lower()}
        )
    treatment_type, location, patient = appointment.treatment_type, appointment.location, appointment.patient
    if end is None and appointment.end_at - appointment.start_at != timedelta(
        minutes=treatment_type.chair_minutes
    ):
        end = start + (appointment.end_at - appointment.start_at)  # keep an extended session extended
    holds = session_holds(treatment_type, start, end)
    if resource is None and clinician is None:
        # Keep the patient's chair and clinician when they are free at the new time.
        same = selectors.free_option_at(
            location=location,
            treatment_type=treatment_type,
            start=holds.start,
            now=now,
            patient=patient,
            ignore_appointment=appointment,
            resource_id=appointment.resource_id,
            clinician_id=appointment.clinician_id,
        )
        if same is not None:
            resource, clinician = appointment.resource, appointment.clinician
    resource, clinician = choose_and_check(
        patient=patient,
        treatment_type=treatment_type,
        location=location,
        holds=holds,
        resource=resource,
        clinician=clinician,
        now=now,
        ignore_appointment=appointment,
    )
    appointment.resource = resource
    appointment.clinician = clinician
    appointment.start_at = holds.start
    appointment.end_at = holds.end
    appointment.status = Status.BOOKED
    appointment.confirmed_at = None
    try:
        hold(
            appointment,
            holds,
            short_wait=short_wait,
            update_fields=[
                "resource",
                "clinician",
                "start_at",
                "end_at",
                "status",
                "confirmed_at",
                "updated_at",
            ],
        )
    except Taken as taken:
        taken.moving, taken.holds = appointment, holds  # what the conflict names, once this has rolled back
        raise
    reminders.plan_reminders_for(appointment, now=now)  # void the old time's reminders, plan the update
    return appointment


@retry_aborted
def reassign_clinician(
    *, appointment: Appointment, clinician: Clinician, now: datetime | None = None
) -> Appointment:
    """Give a session to another clinician at the same time, in the same chair or room: cover for a colleague who
    is away. Every gate is asked again for the new clinician (works here, on shift, not on time off, free). The
    patient's confirmation stands and the reminders are unchanged: they name the time and place, not the
    clinician. One transaction a try, as ``reschedule_appointment``."""
    now = now or timezone.now()
    try:
        return until_decided(
            lambda short_wait: _reassign(
                appointment=appointment, clinician=clinician, now=now, short_wait=short_wait
            )
        )
    except Taken as taken:
        raise _moving_conflict(taken, now=now) from None


@transaction.atomic
def _reassign(
    *, appointment: Appointment, clinician: Clinician, now: datetime, short_wait: bool
) -> Appointment:
    """One attempt of ``reassign_clinician``."""
    appointment = locked(appointment)
    if appointment.status not in (Status.BOOKED, Status.CONFIRMED):
        raise InvalidTransition(
            gettext("A session that is %(appointment)s cannot be handed to another clinician.")
            % {"appointment": appointment.get_status_display().lower()}
        )
    if appointment.clinician_id == clinician.pk:
        raise BookingRefused(
            gettext("%(clinician)s already has this session.") % {"clinician": clinician}, field="clinician"
        )
    holds = session_holds(appointment.treatment_type, appointment.start_at, appointment.end_at)
    _, appointment.clinician = choose_and_check(
        patient=appointment.patient,
        treatment_type=appointment.treatment_type,
        location=appointment.location,
        holds=holds,
        resource=appointment.resource,
        clinician=clinician,
        now=now,
        ignore_appointment=appointment,
    )
    try:
        hold(
            appointment,
            holds,
            short_wait=short_wait,
            update_fields=["clinician", "updated_at"],
            keep_chair=True,
        )
    except Taken as taken:
        taken.moving, taken.holds = appointment, holds  # what the conflict names, once this has rolled back
        raise
    return appointment


@retry_aborted
@transaction.atomic
def cancel_appointment(
    *, appointment: Appointment, reason: str, cancelled_by, now: datetime | None = None
) -> Appointment:
    """Cancel with a reason; inside the notice window (SCHEDULING_LATE_CANCEL_HOURS, elapsed hours) it is
    marked late. The chair, clinician and patient are free again at once."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise BookingRefused(gettext("Give a reason for the cancellation."), field="reason")
    appointment = locked(appointment)
    if appointment.status not in (Status.BOOKED, Status.CONFIRMED, Status.CHECKED_IN):
        raise InvalidTransition(
            gettext("A session that is %(appointment)s cannot be cancelled.")
            % {"appointment": appointment.get_status_display().lower()}
        )
    appointment.status = Status.CANCELLED
    appointment.cancellation_reason = reason[:300]
    appointment.cancelled_at = now
    appointment.cancelled_by = cancelled_by
    appointment.late_cancellation = appointment.start_at - now < timedelta(hours=late_cancel_hours())
    appointment.save(
        update_fields=[
            "status", "cancellation_reason", "cancelled_at", "cancelled_by", "late_cancellation", "updated_at",
        ]
    )  # fmt: skip
    release(appointment)
    reminders.plan_reminders_for(appointment, now=now)  # nothing more is sent but the calendar CANCEL
    return appointment


@retry_aborted
@transaction.atomic
def mark_no_show(*, appointment: Appointment, marked_by, now: datetime | None = None) -> Appointment:
    """The patient did not come. Only once the session should have started; frees the chair for the rest."""
    now = now or timezone.now()
    appointment = locked(appointment)
    if appointment.status not in (Status.BOOKED, Status.CONFIRMED):
        raise InvalidTransition(
            gettext("A session that is %(appointment)s cannot be marked as a no-show.")
            % {"appointment": appointment.get_status_display().lower()}
        )
    if now < appointment.start_at:
        raise InvalidTransition(gettext("A session cannot be marked as a no-show before its start time."))
    appointment.status = Status.NO_SHOW
    appointment.no_show_at = now
    appointment.save(update_fields=["status", "no_show_at", "updated_at"])
    release(appointment)
    return appointment
