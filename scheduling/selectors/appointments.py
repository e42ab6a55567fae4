"""Appointments and patients as front desk and patients see them: the per-object access gates (a record the user
may not see is a 404, never a 403 that confirms it exists), patient search, a patient's sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q
from django.http import Http404
from django.utils import timezone

from clinic.roles import Role
from intake.consent import selectors as consent_selectors
from intake.consent.selectors import KINDS_FOR_MODALITY
from intake.models import ConsentKind, IntakeSubmission, Patient
from scheduling import access
from scheduling.access import STAFF_ROLES
from scheduling.models import Appointment, TreatmentType
from scheduling.selectors.session_day import RESCREEN_WINDOW


def appointment_for_user(user, pk: int) -> Appointment:
    """The appointment if this person may see it, else 404 (never 403: its existence is not confirmed).

    Staff see the appointments of the locations they may see (scheduling.access: every one, unless the clinic
    restricts staff to their locations), and a clinician also those of a patient they opened in an emergency; a
    patient sees only their own.
    """
    if not user.is_authenticated:
        raise Http404("No such appointment.")
    queryset = Appointment.objects.select_related(
        "patient", "location", "treatment_type", "resource", "clinician__user", "series"
    )
    role = user.role
    if role in STAFF_ROLES:
        queryset = queryset.filter(access.appointment_filter(user, now=timezone.now()))
    elif role is Role.PATIENT:
        queryset = queryset.filter(patient__user=user)
    else:
        raise Http404("No such appointment.")
    try:
        return queryset.get(pk=pk)
    except (Appointment.DoesNotExist, ValueError, TypeError):
        raise Http404("No such appointment.") from None


def patient_for_booking(user, pk: int) -> Patient:
    """A patient that front desk (or a clinician) may book for: one they may see (scheduling.access); 404 for
    anyone else."""
    if not user.is_authenticated or user.role not in STAFF_ROLES:
        raise Http404("No such patient.")
    try:
        return (
            Patient.objects.select_related("location")
            .filter(access.patient_filter(user, now=timezone.now()))
            .get(pk=pk)
        )
    except (Patient.DoesNotExist, ValueError, TypeError):
        raise Http404("No such patient.") from None


def search_patients(query: str, *, user, limit: int = 25) -> list[Patient]:
    """Patients ``user`` may see (scheduling.access) whose name, email or phone matches every word of ``query``
    (case-insensitive)."""
    words = [word for word in query.split() if word][:5]
    if not words:
        return []
    queryset = Patient.objects.filter(access.patient_filter(user))
    for word in words:
        queryset = queryset.filter(
            Q(legal_first_name__icontains=word)
            | Q(legal_last_name__icontains=word)
            | Q(preferred_name__icontains=word)
            | Q(email__icontains=word)
            | Q(phone__icontains=word)
        )
    return list(queryset.order_by("legal_last_name", "legal_first_name")[:limit])


def patient_appointments(patient: Patient) -> list[Appointment]:
    return list(
        Appointment.objects.filter(patient=patient)
        .select_related("location", "treatment_type", "resource", "clinician__user", "series")
        .order_by("-start_at")[:200]
    )


def upcoming_appointments_for_patient(
    patient: Patient, *, now: datetime | None = None, late_cancel_hours: int = 0
) -> list[Appointment]:
    """The patient's own sessions still to come (not cancelled), soonest first: for the patient portal.

    Each carries ``checkin_open`` (the pre-session check-in of a treatment session opens 24 hours before; a
    consultation has none), ``checkin_done`` (a check-in was submitted since it opened: the one the session day
    reads) and ``cancel_is_late`` (cancelling now falls inside the clinic's notice window of ``late_cancel_hours``).
    """
    now = now or timezone.now()
    checkin_done = IntakeSubmission.objects.filter(
        patient_id=OuterRef("patient_id"),
        kind=IntakeSubmission.Kind.RESCREEN,
        submitted_at__gte=OuterRef("start_at") - RESCREEN_WINDOW,
        submitted_at__lte=now,
    )
    return list(
        Appointment.objects.filter(
            patient=patient,
            end_at__gt=now,
            status__in=[
                Appointment.Status.BOOKED,
                Appointment.Status.CONFIRMED,
                Appointment.Status.CHECKED_IN,
                Appointment.Status.IN_SESSION,
                Appointment.Status.RECOVERING,
            ],
        )
        .select_related("location", "treatment_type")
        .annotate(
            checkin_open=ExpressionWrapper(
                Q(start_at__lte=now + RESCREEN_WINDOW)
                & ~Q(treatment_type__modality=TreatmentType.Modality.CONSULTATION),
                output_field=BooleanField(),
            ),
            checkin_done=Exists(checkin_done),
            cancel_is_late=ExpressionWrapper(
                Q(start_at__lt=now + timedelta(hours=late_cancel_hours)), output_field=BooleanField()
            ),
        )
        .order_by("start_at")
    )


def sessions_needing_consent(patient_id: int, kind: str, *, now: datetime) -> list[Appointment]:
    """The patient's sessions still to come that need the consent document ``kind`` (the general one: all of them),
    soonest first: what front desk calls the patient about after a withdrawal."""
    modalities = [m for m, kinds in KINDS_FOR_MODALITY.items() if kind in kinds]
    return list(
        Appointment.objects.filter(
            patient_id=patient_id,
            start_at__gt=now,
            status__in=[Appointment.Status.BOOKED, Appointment.Status.CONFIRMED],
            treatment_type__modality__in=modalities,
        )
        .select_related("location", "treatment_type")
        .order_by("start_at")
    )


@dataclass(frozen=True)
class ConsentHold:
    """A consent document that holds up the patient's sessions, and the booked ones it holds up."""

    message: str
    sessions: list[Appointment]


def consent_holds(
    patient: Patient, upcoming: list[Appointment], standings: list[consent_selectors.Standing] | None = None
) -> list[ConsentHold]:
    """For front desk: each withdrawn or out-of-date consent, with the patient's booked sessions that need it.
    ``standings``: the patient's standing with every document, when read already."""
    if standings is None:
        standings = consent_selectors.standings(patient, ConsentKind.values)
    return [
        ConsentHold(
            message=consent_selectors.hold_words(patient, item),
            sessions=[a for a in upcoming if item.kind in KINDS_FOR_MODALITY[a.treatment_type.modality]],
        )
        for item in standings
        if item.blocks
    ]
