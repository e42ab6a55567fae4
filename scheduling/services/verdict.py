"""What the booking gates would say about a booking, asked before front desk presses Book: the day view's booking
panel shows it. Nothing is written: the gates are asked exactly as ``book_appointment`` asks them
(``gates.choose_and_check``), and the booking itself still goes through ``book_appointment``, which asks again
(the calendar may change in between; the database has the last word)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from clinic.local_time import format_local
from intake.models import Patient
from scheduling import selectors
from scheduling.errors import BookingConflict, SchedulingError
from scheduling.models import Clinician, Location, Resource, TreatmentType
from scheduling.services.gates import choose_and_check
from scheduling.services.holds import session_holds


@dataclass(frozen=True)
class BookingVerdict:
    """``allowed``: every gate said yes. ``refusal``: the first gate's no, in front desk's words. ``taken``: the
    refusal is a clash (something is booked) rather than a rule. ``same_day``: the patient's other sessions that
    day (a warning: the gates allow it, front desk should know). ``resource`` and ``clinician``: what the booking
    would hold (the free clinician the system would take when none was chosen)."""

    allowed: bool
    refusal: str = ""
    taken: bool = False
    same_day: list[str] = field(default_factory=list)
    resource: Resource | None = None
    clinician: Clinician | None = None


def booking_verdict(
    *,
    patient: Patient,
    treatment_type: TreatmentType,
    location: Location,
    resource: Resource | None,
    clinician: Clinician | None,
    start: datetime,
    now: datetime,
) -> BookingVerdict:
    """The gates' answer for this booking, now (reads only)."""
    day = start.astimezone(location.tz).date()
    same_day = [
        f"{format_local(other.start_at, other.location)} {other.treatment_type.label} at {other.location.name}"
        for other in selectors.patient_sessions_on(patient.pk, location, day)
    ]
    try:
        holds = session_holds(treatment_type, start, None)
        chosen_resource, chosen_clinician = choose_and_check(
            patient=patient,
            treatment_type=treatment_type,
            location=location,
            holds=holds,
            resource=resource,
            clinician=clinician,
            now=now,
        )
    except SchedulingError as refusal:
        return BookingVerdict(
            allowed=False,
            refusal=refusal.message,
            taken=isinstance(refusal, BookingConflict),
            same_day=same_day,
        )
    return BookingVerdict(
        allowed=True, same_day=same_day, resource=chosen_resource, clinician=chosen_clinician
    )
