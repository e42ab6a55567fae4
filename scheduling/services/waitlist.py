"""The waitlist: patients who want an earlier session, offers by email, booking from the list."""

from __future__ import annotations

from datetime import date, datetime

from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic import policies
from clinic.celery import app
from clinic.local_time import format_local
from intake.models import Patient
from scheduling import selectors
from scheduling.errors import BookingConflict, BookingRefused, InvalidTransition
from scheduling.models import Appointment, Location, TreatmentType, WaitlistEntry
from scheduling.services.booking import book_appointment, reschedule_appointment
from scheduling.services.holds import retry_aborted

Status = Appointment.Status
# Enqueued by name: the task (scheduling.tasks) calls this module's deliver_waitlist_offer, so this module does not
# import it. The task registers under this name.
SEND_OFFER_TASK = "scheduling.tasks.send_waitlist_offer_email"


@transaction.atomic
def add_to_waitlist(
    *,
    patient: Patient,
    location: Location,
    treatment_type: TreatmentType,
    earliest_date: date,
    latest_date: date,
    added_by,
    current_appointment: Appointment | None = None,
    notes: str = "",
) -> WaitlistEntry:
    """Put a patient on the waitlist for an earlier session of one treatment at one location."""
    if latest_date < earliest_date:
        raise BookingRefused(_("The last day must be on or after the first day."), field="latest_date")
    if current_appointment is not None and current_appointment.patient_id != patient.pk:
        raise BookingRefused(_("That appointment belongs to another patient."), field="current_appointment")
    try:
        with transaction.atomic():
            return WaitlistEntry.objects.create(
                patient=patient,
                location=location,
                treatment_type=treatment_type,
                earliest_date=earliest_date,
                latest_date=latest_date,
                current_appointment=current_appointment,
                notes=notes.strip()[:300],
                created_by=added_by,
            )
    except IntegrityError:
        raise BookingRefused(
            _("%(patient)s is already on the waitlist for %(treatment_type)s.")
            % {"patient": patient.full_name, "treatment_type": treatment_type.label}
        ) from None


def _locked_entry(entry: WaitlistEntry) -> WaitlistEntry:
    return (
        WaitlistEntry.objects.select_for_update(of=("self",))
        .select_related("patient", "location", "treatment_type", "current_appointment")
        .get(pk=entry.pk)
    )


@transaction.atomic
def send_waitlist_offer(
    *, entry: WaitlistEntry, start: datetime, offered_by, now: datetime | None = None
) -> WaitlistEntry:
    """Offer a free start to a waitlisted patient by email (sent by a worker once this commits). Nothing is held:
    the first to book the time gets it, so the offer says to call."""
    now = now or timezone.now()
    entry = _locked_entry(entry)
    if entry.status not in (WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED):
        raise InvalidTransition(
            _("This waitlist entry is %(entry)s.") % {"entry": entry.get_status_display().lower()}
        )
    option = selectors.free_option_at(
        location=entry.location,
        treatment_type=entry.treatment_type,
        start=start,
        now=now,
        patient=entry.patient,
        ignore_appointment=entry.current_appointment,
    )
    if option is None:
        raise BookingConflict(
            _("%(start)s is no longer free.") % {"start": format_local(start, entry.location)},
            taken="time",
            taken_kind="resource",
        )
    entry.status = WaitlistEntry.Status.OFFERED
    entry.offered_start = option.start
    entry.offered_at = now
    entry.offer_sent_at = None
    entry.save(update_fields=["status", "offered_start", "offered_at", "offer_sent_at"])
    transaction.on_commit(lambda: app.signature(SEND_OFFER_TASK).delay(entry.pk))
    return entry


def deliver_waitlist_offer(*, entry_id: int) -> bool:
    """Send the offer email once (called by the task). No treatment or diagnosis in it: a time, a place, a phone."""
    with transaction.atomic():
        entry = (
            # The entry's row alone: every booking's foreign-key check shares the patient and location rows.
            WaitlistEntry.objects.select_for_update(of=("self",))
            .select_related("patient", "location", "current_appointment")
            .filter(pk=entry_id, status=WaitlistEntry.Status.OFFERED, offer_sent_at__isnull=True)
            .first()
        )
        if entry is None or entry.offered_start is None:
            return False
        location = entry.location
        call = (
            _("Call us on %(phone)s to take it.") % {"phone": location.phone}
            if location.phone
            else _("Call the clinic to take it.")
        )
        current = entry.current_appointment
        where = {"location": location.name, "when": format_local(entry.offered_start, location)}
        # Whole sentences for each case: "another" and "an earlier" do not translate as words on their own.
        if current is not None and entry.offered_start > current.start_at:
            subject = _("Another appointment is free at %(location)s") % where
            news = _("Another appointment time is free at %(location)s: %(when)s.") % where
        else:
            subject = _("An earlier appointment is free at %(location)s") % where
            news = _("An earlier appointment time is free at %(location)s: %(when)s.") % where
        name = entry.patient.preferred_name or entry.patient.legal_first_name
        send_mail(
            subject=subject,
            message="\n\n".join(
                [
                    _("Hello %(name)s,") % {"name": name},
                    f"{news} {call} " + _("It is not held for you: the first person to book it gets it."),
                    policies.value("CLINIC_NAME"),
                ]
            ),
            from_email=None,
            recipient_list=[entry.patient.email],
        )
        entry.offer_sent_at = timezone.now()
        entry.save(update_fields=["offer_sent_at"])
    return True


@retry_aborted
@transaction.atomic
def book_from_waitlist(
    *, entry: WaitlistEntry, start: datetime, booked_by, now: datetime | None = None
) -> Appointment:
    """Book the waitlisted patient at ``start``: their current session moves there, or a new one is booked."""
    now = now or timezone.now()
    entry = _locked_entry(entry)
    if entry.status not in (WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED):
        raise InvalidTransition(
            _("This waitlist entry is %(entry)s.") % {"entry": entry.get_status_display().lower()}
        )
    current = entry.current_appointment
    if current is not None and current.status in (Status.BOOKED, Status.CONFIRMED):
        appointment = reschedule_appointment(
            appointment=current, start=start, rescheduled_by=booked_by, now=now
        )
    else:
        appointment = book_appointment(
            patient=entry.patient,
            treatment_type=entry.treatment_type,
            location=entry.location,
            start=start,
            booked_by=booked_by,
            now=now,
        )
    entry.status = WaitlistEntry.Status.BOOKED
    entry.save(update_fields=["status"])
    return appointment


@transaction.atomic
def withdraw_from_waitlist(*, entry: WaitlistEntry, withdrawn_by) -> WaitlistEntry:
    entry = _locked_entry(entry)
    entry.status = WaitlistEntry.Status.WITHDRAWN
    entry.save(update_fields=["status"])
    return entry
