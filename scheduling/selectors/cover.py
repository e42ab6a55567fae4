"""Cover for an absent clinician: their sessions, each with a colleague free to take it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from scheduling.models import Allocation, Appointment, Clinician
from scheduling.selectors.slots import AvailabilityInputs, load_availability_inputs

COVER_MAX_DAYS = 31


@dataclass(frozen=True)
class CoverRow:
    """One of the absent clinician's sessions and the colleague proposed to take it (None: nobody is free)."""

    appointment: Appointment
    cover: Clinician | None


def cover_plan(
    *,
    clinician: Clinician,
    date_from: date,
    date_to: date,
    now: datetime,
    location_ids: Collection[int] | None = None,
) -> list[CoverRow]:
    """The clinician's upcoming booked or confirmed sessions on local dates ``date_from``..``date_to`` (at every
    location they work, or only at ``location_ids``: those the person arranging cover may see), each with the first
    colleague (lowest id) who could hold exactly the session's clinician spans as they are held now: on shift at
    that location, not on time off, holding nothing else then. Only the clinician changes hands, so the chair and
    the patient are not asked about. A few queries whatever the range: the sessions, their clinician holds, and
    each location's calendar once."""
    earliest = datetime.combine(date_from - timedelta(days=1), time(0), tzinfo=UTC)
    latest = datetime.combine(date_to + timedelta(days=2), time(0), tzinfo=UTC)
    sessions_of = Appointment.objects.filter(
        clinician=clinician,
        status__in=(Appointment.Status.BOOKED, Appointment.Status.CONFIRMED),
        start_at__gte=max(now, earliest),
        start_at__lt=latest,
    )
    if location_ids is not None:
        sessions_of = sessions_of.filter(location_id__in=location_ids)
    sessions = [
        session
        for session in sessions_of.select_related(
            "location", "patient", "resource", "treatment_type"
        ).order_by("start_at", "pk")
        if date_from <= session.start_at.astimezone(session.location.tz).date() <= date_to
    ]
    spans: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for appointment_id, span in Allocation.objects.filter(
        appointment_id__in=[session.pk for session in sessions], kind=Allocation.Kind.CLINICIAN, active=True
    ).values_list("appointment_id", "span"):
        spans[appointment_id].append((span.lower, span.upper))
    calendars: dict[int, AvailabilityInputs] = {}
    proposed: dict[int, int | None] = {}
    for session in sessions:
        if session.location_id not in calendars:
            calendars[session.location_id] = load_availability_inputs(
                location=session.location,
                treatment_type=session.treatment_type,
                date_from=date_from,
                date_to=date_to,
            )
        calendar = calendars[session.location_id]
        day = session.start_at.astimezone(session.location.tz).date()
        proposed[session.pk] = next(
            (
                colleague
                for colleague in sorted(calendar.clinician_hours)
                if colleague != clinician.pk
                and all(calendar.clinician_free(colleague, lo, hi, day=day) for lo, hi in spans[session.pk])
            ),
            None,
        )
    colleagues = Clinician.objects.select_related("user").in_bulk([pk for pk in proposed.values() if pk])
    return [CoverRow(appointment=session, cover=colleagues.get(proposed[session.pk])) for session in sessions]
