"""What the front-desk patient page leads with: may this patient be booked (clearance per treatment, open urgent
alerts, REMS enrollment), what is coming, and which forms are still to do. A refusal should never be the first
time front desk hears of a missing clearance."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from clinic.local_time import format_day, format_local
from intake.consent import selectors as consent_selectors
from intake.eligibility import MODALITY_LABELS, clearance, decide, eligibility_facts
from intake.models import ConsentKind, Intake, Modality, Patient, UrgentAlert
from scheduling.models import Appointment, RemsEnrollment
from scheduling.selectors.appointments import upcoming_appointments_for_patient


@dataclass(frozen=True)
class ClearanceLine:
    treatment: str  # "IV ketamine", "Spravato"
    state: str  # intake.eligibility's CLEARED / NOT_CLEARED / PENDING
    reason: str  # the booking gate's own words


@dataclass
class PatientOverview:
    clearance: list[ClearanceLine]
    open_alerts_since: list[datetime]  # each open urgent alert's time, oldest first (no clinical detail)
    rems: RemsEnrollment | None
    upcoming: list[Appointment]  # soonest first, each with ``checkin_open`` and ``checkin_done``
    to_do: list[str] = field(default_factory=list)  # forms the patient still has to fill in or sign
    consents: list[consent_selectors.Standing] = field(
        default_factory=list
    )  # every document, in ConsentKind order


def patient_overview(patient: Patient, *, now: datetime) -> PatientOverview:
    """Six reads: the eligibility facts (intake's function, as the booking gate reads them), the open alerts, the
    REMS enrollment, the upcoming sessions with their check-ins, the intake in progress and the consent."""
    facts = eligibility_facts(patient_id=patient.pk, now=now)
    lines = [
        ClearanceLine(
            MODALITY_LABELS[modality],
            clearance(facts, modality=modality),
            decide(facts, modality=modality, patient=patient).reason,
        )
        for modality in (Modality.IV_KETAMINE, Modality.SPRAVATO)
    ]
    alerts = list(
        UrgentAlert.objects.filter(patient=patient, acknowledged_at__isnull=True)
        .order_by("created_at")
        .values_list("created_at", flat=True)
    )
    upcoming = upcoming_appointments_for_patient(patient, now=now)
    to_do: list[str] = []
    zone = patient.location.tz if patient.location_id else None
    if facts.latest is None:
        started = Intake.objects.filter(patient=patient, status=Intake.Status.IN_PROGRESS).order_by(
            "-started_at"
        )
        intake = started.first()
        if intake is None:
            to_do.append(_("Intake: not started yet."))
        else:
            to_do.append(
                _("Intake: started on %(day)s, not submitted yet.")
                % {"day": format_day(timezone.localtime(intake.started_at, zone).date())}
            )
    for appointment in upcoming:
        if getattr(appointment, "checkin_open", False) and not getattr(appointment, "checkin_done", True):
            to_do.append(
                _("Pre-session check-in for %(when)s: not answered yet.")
                % {"when": format_local(appointment.start_at, appointment.location)}
            )
    consents = consent_selectors.standings(patient, ConsentKind.values)
    for item in consents:
        if item.withdrawn:
            to_do.append(
                _("Consent: the patient withdrew the %(document)s; they must sign it again before booking.")
                % {"document": item.label}
            )
        elif item.blocked_by is not None:
            to_do.append(
                _("Consent: the patient must sign the new version %(version)s of the %(document)s.")
                % {"version": item.blocked_by.version, "document": item.label}
            )
    return PatientOverview(
        clearance=lines,
        open_alerts_since=alerts,
        rems=RemsEnrollment.objects.filter(patient=patient).first(),
        upcoming=upcoming,
        to_do=to_do,
        consents=consents,
    )
