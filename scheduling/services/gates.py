"""What a booking must pass before it may hold anything, and what front desk hears when it does not: the gates
(eligibility, consent, REMS, the past, opening hours, closures, the clinician's hours and time off), the choice of a free
chair and clinician when front desk leaves them to the system, and a clash turned into a message naming what is
taken, with the nearest free starts."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, OperationalError
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from clinic.local_time import format_clock, format_day, format_local, format_time_of_day
from intake.consent import selectors as consent_selectors
from intake.eligibility import decide as decide_eligibility
from intake.models import Patient
from scheduling import availability, selectors
from scheduling.errors import BookingConflict, BookingRefused
from scheduling.models import Appointment, Clinician, Location, Resource, TreatmentType
from scheduling.services.holds import DOSING_TOO_CLOSE, SessionHolds, dosing_days

DEFAULT_BOOKING_HORIZON_DAYS = 400


def booking_horizon_days() -> int:
    return int(getattr(settings, "SCHEDULING_BOOKING_HORIZON_DAYS", DEFAULT_BOOKING_HORIZON_DAYS))


def last_bookable_day(location: Location, now: datetime) -> date:
    """The last local day at ``location`` a session may be booked on (SCHEDULING_BOOKING_HORIZON_DAYS ahead)."""
    return now.astimezone(location.tz).date() + timedelta(days=booking_horizon_days())


def _check_resource(resource: Resource, *, location: Location, treatment_type: TreatmentType) -> None:
    if resource.location_id != location.pk or not resource.is_active:
        raise BookingRefused(
            gettext("%(resource)s is not in use at %(location)s.")
            % {"resource": resource.name, "location": location.name},
            field="resource",
        )
    if resource.kind != treatment_type.resource_kind:
        raise BookingRefused(
            gettext("%(treatment_type)s needs a %(label)s, not %(resource)s.")
            % {
                "treatment_type": treatment_type.label,
                "label": Resource.Kind(treatment_type.resource_kind).label.lower(),
                "resource": resource.name,
            },
            field="resource",
        )


def _check_gates(
    *,
    patient: Patient,
    treatment_type: TreatmentType,
    location: Location,
    resource: Resource,
    clinician: Clinician,
    holds: SessionHolds,
    now: datetime,
    ignore_appointment: Appointment | None = None,
    with_alternatives: bool = True,
) -> None:
    """Every rule a booking must pass before it may hold anything. Raises BookingRefused with a message, or
    BookingConflict naming the patient's other dosing session too close to this one."""
    tz = location.tz
    local_start = holds.start.astimezone(tz)
    day = local_start.date()
    when = format_local(holds.start, location)

    if not treatment_type.is_active:
        raise BookingRefused(
            gettext("%(treatment_type)s is no longer offered.") % {"treatment_type": treatment_type.label},
            field="treatment_type",
        )
    if not location.is_active:
        raise BookingRefused(
            gettext("%(location)s is not taking bookings.") % {"location": location.name}, field="location"
        )
    if holds.start < now:
        raise BookingRefused(
            gettext("%(when)s is in the past: choose a time from now on.") % {"when": when}, field="start"
        )
    if day > (last := last_bookable_day(location, now)):
        raise BookingRefused(
            gettext(
                "%(when)s is too far ahead: sessions are booked up to %(booking_horizon_days)s days ahead (until %(last)s)."
            )
            % {"when": when, "booking_horizon_days": booking_horizon_days(), "last": format_day(last)},
            field="start",
        )
    _check_resource(resource, location=location, treatment_type=treatment_type)

    first_hold = min(start for start, _ in holds.clinician_spans)
    last_hold = max(end for _, end in holds.clinician_spans)
    facts = selectors.booking_facts(
        location_id=location.pk,
        clinician_id=clinician.pk,
        patient_id=patient.pk,
        day=day,
        since=first_hold,
        until=last_hold,
        now=now,
        dosing_days=dosing_days(treatment_type, holds.start, tz),
        ignore_appointment_id=ignore_appointment.pk if ignore_appointment else None,
        resource_id=resource.pk,
        treatment_type_id=treatment_type.pk,
    )
    if not facts.resource_takes_treatment:
        raise BookingRefused(
            _("%(resource)s is not set up for %(treatment)s.")
            % {"resource": resource.name, "treatment": treatment_type.label},
            field="resource",
        )
    if facts.dosing_clash_id is not None:
        # The day holds' exclusion constraint is the guarantee; this read names the other session first.
        raise dosing_conflict(
            patient=patient,
            treatment_type=treatment_type,
            location=location,
            start=holds.start,
            now=now,
            ignore_appointment=ignore_appointment,
            with_alternatives=with_alternatives,
            other=Appointment.objects.select_related("location", "treatment_type").get(
                pk=facts.dosing_clash_id
            ),
        )
    if facts.closure_reason is not None:
        because = f" ({facts.closure_reason})" if facts.closure_reason else ""
        raise BookingRefused(
            gettext("%(location)s is closed on %(day)s%(because)s.")
            % {"location": location.name, "day": format_day(day), "because": because},
            field="start",
        )
    opening = facts.opening_hours
    if not availability.inside_local_windows(holds.start, holds.end, tz=tz, day=day, windows=opening):
        hours = (
            ", ".join(f"{format_time_of_day(o)} to {format_time_of_day(c)}" for o, c in opening)
            or "closed all day"
        )
        raise BookingRefused(
            gettext("%(when)s to %(end)s is outside opening hours on %(local_start)ss (%(hours)s).")
            % {
                "when": when,
                "end": format_clock(holds.end, tz),
                "local_start": f"{local_start:%A}",
                "hours": hours,
            },
            field="start",
        )

    if not facts.clinician_works_here:
        raise BookingRefused(
            gettext("%(clinician)s does not work at %(location)s.")
            % {"clinician": clinician, "location": location.name},
            field="clinician",
        )
    for span_start, span_end in holds.clinician_spans:
        if not availability.inside_local_windows(
            span_start, span_end, tz=tz, day=day, windows=facts.clinician_hours
        ):
            raise BookingRefused(
                gettext("%(clinician)s is not working at %(span_start)s on %(local_start)ss.")
                % {
                    "clinician": clinician,
                    "span_start": format_clock(span_start, tz),
                    "local_start": f"{local_start:%A}",
                },
                field="clinician",
            )
        if any(off.start < span_end and span_start < off.end for off in facts.clinician_time_off):
            raise BookingRefused(
                gettext("%(clinician)s is on time off then.") % {"clinician": clinician}, field="clinician"
            )

    eligibility = decide_eligibility(facts.eligibility, modality=treatment_type.modality, patient=patient)
    if not eligibility.allowed:
        raise BookingRefused(
            gettext("%(patient)s cannot be booked for %(treatment_type)s: %(reason)s")
            % {
                "patient": patient.full_name,
                "treatment_type": treatment_type.label,
                "reason": eligibility.reason,
            }
        )
    if consent_refusal := consent_selectors.refusal(patient, treatment_type.modality, row=facts.consent):
        raise BookingRefused(consent_refusal)
    if treatment_type.modality == TreatmentType.Modality.SPRAVATO:
        enrollment = facts.rems_enrolled_on
        if enrollment is None:
            raise BookingRefused(
                gettext(
                    "%(patient)s has no Spravato REMS enrollment on record: record the Patient Enrollment Form before booking a Spravato session."
                )
                % {"patient": patient.full_name}
            )
        if enrollment > day:
            raise BookingRefused(
                gettext("%(patient)s's REMS enrollment starts %(enrollment)s, after this session.")
                % {"patient": patient.full_name, "enrollment": format_day(enrollment)}
            )


def nearest_free_words(alternatives, location) -> str:
    """' Nearest free: <when> (<chair>, <clinician>); …' after a refusal, or nothing when there are none."""
    if not alternatives:
        return ""
    times = "; ".join(
        f"{format_local(o.start, location)} ({o.resource_name}, {o.clinician_name})" for o in alternatives
    )
    return f" Nearest free: {times}."


def conflict(
    exc: IntegrityError | OperationalError,
    *,
    patient: Patient,
    treatment_type: TreatmentType,
    location: Location,
    resource: Resource,
    clinician: Clinician,
    holds: SessionHolds,
    now: datetime,
    ignore_appointment: Appointment | None = None,
    session_index: int | None = None,
    with_alternatives: bool = True,
) -> BookingConflict:
    """Turn an exclusion violation into a message naming what is taken, with the nearest free starts."""
    constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", "") or ""
    when = format_local(holds.start, location)
    if constraint == DOSING_TOO_CLOSE:
        # The session that won is committed by now (this try has rolled back): name it.
        return dosing_conflict(
            patient=patient,
            treatment_type=treatment_type,
            location=location,
            start=holds.start,
            now=now,
            ignore_appointment=ignore_appointment,
            session_index=session_index,
            with_alternatives=with_alternatives,
        )
    if "clinician" in constraint:
        taken, kind = str(clinician), "clinician"
        message = f"{clinician} is already with another patient during this session's dosing or discharge time ({when})."
    elif "patient" in constraint:
        taken, kind = patient.full_name, "patient"
        message = f"{patient.full_name} already has another session at that time ({when})."
    else:
        taken, kind = resource.name, "resource"
        message = f"{resource.name} is already booked at {when}."
        if resource.cleaning_minutes:
            message = _(
                "%(chair)s is already booked at %(when)s, or being cleaned then (%(minutes)s minutes after each "
                "session)."
            ) % {"chair": resource.name, "when": when, "minutes": resource.cleaning_minutes}
    prefix = f"Session {session_index}: " if session_index else ""
    alternatives = (
        selectors.nearest_alternatives(
            location=location,
            treatment_type=treatment_type,
            requested_start=holds.start,
            now=now,
            patient=patient,
            ignore_appointment=ignore_appointment,
            resource_id=resource.pk if kind == "resource" else None,
            clinician_id=clinician.pk if kind == "clinician" else None,
        )
        if with_alternatives
        else []
    )
    message += nearest_free_words(alternatives, location)
    return BookingConflict(
        prefix + message, taken=taken, taken_kind=kind, alternatives=alternatives, session_index=session_index
    )


def dosing_conflict(
    *,
    patient: Patient,
    treatment_type: TreatmentType,
    location: Location,
    start: datetime,
    now: datetime,
    ignore_appointment: Appointment | None = None,
    session_index: int | None = None,
    with_alternatives: bool = True,
    other: Appointment | None = None,
) -> BookingConflict:
    """A second dosing session too close to one the patient already has: one a local day, and a Spravato session's
    spacing (``TreatmentType.min_days_apart``). Names the other session, with the nearest free starts."""
    days = dosing_days(treatment_type, start, location.tz)
    if other is None and days is not None:
        other = selectors.dosing_clash(
            patient_id=patient.pk,
            days=days,
            ignore_appointment_id=ignore_appointment.pk if ignore_appointment else None,
        )
    prefix = f"Session {session_index}: " if session_index else ""
    if other is None:
        taken = "another dosing session"
        message = (
            f"{patient.full_name} already has a dosing session too close to {format_local(start, location)}."
        )
    else:
        other_when = format_local(other.start_at, other.location)
        taken = f"{other.treatment_type.label} on {other_when}"
        day = start.astimezone(location.tz).date()
        other_day = other.start_at.astimezone(other.location.tz).date()
        if other_day == day:
            why = "one dosing session a day"
        else:
            earlier = other.treatment_type if other_day < day else treatment_type
            why = f"after {earlier.label} the next dosing session is at least {earlier.min_days_apart} days later"
        message = f"{patient.full_name} already has {taken}: {why}."
    alternatives = (
        selectors.nearest_alternatives(
            location=location,
            treatment_type=treatment_type,
            requested_start=start,
            now=now,
            patient=patient,
            ignore_appointment=ignore_appointment,
        )
        if with_alternatives
        else []
    )
    message += nearest_free_words(alternatives, location)
    return BookingConflict(
        prefix + message,
        taken=taken,
        taken_kind="patient",
        alternatives=alternatives,
        session_index=session_index,
    )


def choose_and_check(
    *,
    patient: Patient,
    treatment_type: TreatmentType,
    location: Location,
    holds: SessionHolds,
    resource: Resource | None,
    clinician: Clinician | None,
    now: datetime,
    ignore_appointment: Appointment | None = None,
    with_alternatives: bool = True,
) -> tuple[Resource, Clinician]:
    """The chair or room and the clinician for a booking or a move (the free ones when not given), once every gate
    has said yes: both paths ask the same questions in the same order. ``with_alternatives``: a dosing conflict
    offers the nearest free times (more queries; a caller that does not show them skips them)."""
    resource, clinician = _pick_resources(
        patient=patient,
        treatment_type=treatment_type,
        location=location,
        start=holds.start,
        resource=resource,
        clinician=clinician,
        now=now,
        ignore_appointment=ignore_appointment,
    )
    _check_gates(
        patient=patient,
        treatment_type=treatment_type,
        location=location,
        resource=resource,
        clinician=clinician,
        holds=holds,
        now=now,
        ignore_appointment=ignore_appointment,
        with_alternatives=with_alternatives,
    )
    return resource, clinician


def _pick_resources(
    *,
    patient: Patient,
    treatment_type: TreatmentType,
    location: Location,
    start: datetime,
    resource: Resource | None,
    clinician: Clinician | None,
    now: datetime,
    ignore_appointment: Appointment | None = None,
) -> tuple[Resource, Clinician]:
    """Fill in a free chair/room and clinician when front desk left them to the system."""
    if resource is not None and clinician is not None:
        return resource, clinician  # the gates check both
    if resource is not None:
        _check_resource(resource, location=location, treatment_type=treatment_type)
    if clinician is not None and not clinician.locations.filter(pk=location.pk).exists():
        raise BookingRefused(
            gettext("%(clinician)s does not work at %(location)s.")
            % {"clinician": clinician, "location": location.name},
            field="clinician",
        )
    option = selectors.free_option_at(
        location=location,
        treatment_type=treatment_type,
        start=start,
        now=now,
        patient=patient,
        ignore_appointment=ignore_appointment,
        resource_id=resource.pk if resource else None,
        clinician_id=clinician.pk if clinician else None,
    )
    if option is None and (days := dosing_days(treatment_type, start, location.tz)) is not None:
        other = selectors.dosing_clash(
            patient_id=patient.pk,
            days=days,
            ignore_appointment_id=ignore_appointment.pk if ignore_appointment else None,
        )
        if other is not None:  # not a full calendar: the patient may not be dosed that day
            raise dosing_conflict(
                patient=patient,
                treatment_type=treatment_type,
                location=location,
                start=start,
                now=now,
                ignore_appointment=ignore_appointment,
                other=other,
            )
    if option is None:
        alternatives = selectors.nearest_alternatives(
            location=location,
            treatment_type=treatment_type,
            requested_start=start,
            now=now,
            patient=patient,
            ignore_appointment=ignore_appointment,
        )
        when = format_local(start, location)
        if resource or clinician:
            what = resource.name if resource else str(clinician)
            message = f"{what} is not free for {treatment_type.label} at {when}."
        else:
            what = Resource.Kind(treatment_type.resource_kind).label
            message = f"No {what.lower()} and clinician are free for {treatment_type.label} at {when}."
        if alternatives:
            message += (
                " Nearest free: " + "; ".join(format_local(o.start, location) for o in alternatives) + "."
            )
        raise BookingConflict(
            message,
            taken=what,
            taken_kind="resource" if resource or not clinician else "clinician",
            alternatives=alternatives,
        )
    resource = resource or Resource.objects.get(pk=option.resource_id)
    clinician = clinician or Clinician.objects.select_related("user").get(pk=option.clinician_id)
    return resource, clinician
