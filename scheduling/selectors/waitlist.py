"""The waitlist as front desk sees it: each open entry with the earliest free slot that suits it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from scheduling import availability
from scheduling.models import MAX_MIN_DAYS_APART, Allocation, Appointment, DayHold, Location, WaitlistEntry
from scheduling.selectors.schedule import local_day_bounds
from scheduling.selectors.slots import (
    SlotOption,
    blocked_dosing_days,
    free_option_at,
    free_options,
    load_availability_inputs,
)


@dataclass
class WaitlistMatch:
    entry: WaitlistEntry
    option: SlotOption | None


def waitlist_matches(location: Location, *, now: datetime) -> list[WaitlistMatch]:
    """Each open waitlist entry with the earliest free slot that suits it (before the session it would replace, else
    after it).

    One round of availability queries per treatment type on the list plus two for the patients' own holds (their
    times, and their dosing days: no day too close to another of their dosing sessions is offered), whatever the
    number of entries.
    """
    entries = list(
        WaitlistEntry.objects.filter(
            location=location, status__in=[WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED]
        )
        .select_related("patient", "treatment_type", "current_appointment")
        .order_by("created_at")
    )
    if not entries:
        return []
    today = now.astimezone(location.tz).date()
    matches = []
    by_type: dict[int, list[WaitlistEntry]] = defaultdict(list)
    for entry in entries:
        by_type[entry.treatment_type_id].append(entry)
    date_from = max(today, min(e.earliest_date for e in entries))
    date_to = max(e.latest_date for e in entries)
    if date_to < date_from:
        return [WaitlistMatch(entry=e, option=None) for e in entries]
    range_start, _ = local_day_bounds(location, date_from)
    _, range_end = local_day_bounds(location, date_to)
    patient_busy: dict[int, list[tuple[int, availability.Span]]] = defaultdict(list)
    for patient_id, appointment_id, span in Allocation.objects.filter(
        kind=Allocation.Kind.PATIENT,
        active=True,
        patient_id__in={e.patient_id for e in entries},
        span__overlap=(range_start, range_end),
    ).values_list("patient_id", "appointment_id", "span"):
        patient_busy[patient_id].append((appointment_id, availability.Span(span.lower, span.upper)))
    dosing_days: dict[int, list[tuple[int, tuple[date, date]]]] = defaultdict(list)
    for patient_id, appointment_id, days in DayHold.objects.filter(
        active=True,
        patient_id__in={e.patient_id for e in entries},
        days__overlap=(date_from - timedelta(days=MAX_MIN_DAYS_APART), date_to + timedelta(days=1)),
    ).values_list("patient_id", "appointment_id", "days"):
        dosing_days[patient_id].append((appointment_id, (days.lower, days.upper)))
    found: dict[int, SlotOption | None] = {}
    for type_entries in by_type.values():
        inputs = load_availability_inputs(
            location=location,
            treatment_type=type_entries[0].treatment_type,
            date_from=date_from,
            date_to=date_to,
        )
        for entry in type_entries:
            inputs.patient_busy = [
                span for appointment_id, span in patient_busy[entry.patient_id]
                if appointment_id != entry.current_appointment_id
            ]  # fmt: skip
            treatment_type = entry.treatment_type
            inputs.patient_blocked_days = (
                blocked_dosing_days(
                    [
                        days for appointment_id, days in dosing_days[entry.patient_id]
                        if appointment_id != entry.current_appointment_id
                    ],
                    spacing=treatment_type.min_days_apart,
                )
                if treatment_type.is_dosing
                else frozenset()
            )  # fmt: skip
            # The session being replaced frees its own chair and clinician too.
            first, last = max(today, entry.earliest_date), entry.latest_date
            options = free_options(inputs, date_from=first, date_to=last, now=now) if first <= last else []
            # The time the patient picked when asking to move, while it is still free, comes first.
            asked = [o for o in options if entry.requested_start and o.start == entry.requested_start]
            current = entry.current_appointment
            if current is not None:
                # Earlier is what a waitlist is for; a patient who asked to move a session may need a later time,
                # so when nothing earlier is free, the first later one is a real alternative too.
                earlier = [o for o in options if o.start < current.start_at]
                options = earlier or [o for o in options if o.start > current.start_at]
            found[entry.pk] = (asked or options or [None])[0]
    for entry in entries:
        matches.append(WaitlistMatch(entry=entry, option=found.get(entry.pk)))
    return matches


def waitlist_for_gap(appointment: Appointment, *, now: datetime) -> list[WaitlistMatch]:
    """Who on the waitlist could take the time a cancelled or no-show session freed: open entries at its location for
    its treatment whose dates include its day, each with the free chair and clinician at exactly that start for them
    (their own holds and dosing days asked, their session to be replaced left out), or None when it does not suit.

    Two availability queries per entry: a day's waitlist for one treatment is a handful of patients."""
    location = appointment.location
    day = appointment.start_at.astimezone(location.tz).date()
    if appointment.start_at <= now or appointment.is_active:
        return []
    entries = (
        WaitlistEntry.objects.filter(
            location=location,
            treatment_type=appointment.treatment_type,
            status__in=[WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED],
            earliest_date__lte=day,
            latest_date__gte=day,
        )
        .exclude(patient=appointment.patient)
        .select_related("patient", "treatment_type", "current_appointment", "location")
        .order_by("created_at")
    )
    return [
        WaitlistMatch(
            entry=entry,
            option=free_option_at(
                location=location,
                treatment_type=appointment.treatment_type,
                start=appointment.start_at,
                now=now,
                patient=entry.patient,
                ignore_appointment=entry.current_appointment,
            ),
        )
        for entry in entries
    ]
