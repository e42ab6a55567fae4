"""The dose: checked before it is given (the plan, and a second clinician's co-signature above the clinic's
threshold), recorded as given whatever it was, and a departure from the plan told to the clinic once. The rules
are scheduling.session_rules; the thresholds are settings (selectors.dose_policy)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic import policies
from clinic.celery import app
from clinic.local_time import format_local
from clinic.roles import Role, emails_of_role
from scheduling import selectors, session_rules
from scheduling.errors import SessionRefused
from scheduling.models import Appointment, Clinician, SessionRecord, TreatmentType
from scheduling.models.session_day import WEIGHT_KG_RANGE
from scheduling.services.holds import locked
from scheduling.services.session_day import _require_clinician, _require_status, _session_record

Status = Appointment.Status
logger = logging.getLogger(__name__)


def _plausible_weight(weight_kg, field: str) -> Decimal:
    low, high = WEIGHT_KG_RANGE
    weight = _number(weight_kg, field=field, what=_("The weight in kg"))
    if not low <= weight <= high:
        raise SessionRefused(
            _(
                "A weight of %(shown)s kg is not plausible: give the patient's weight in kg, from %(low)s to %(high)s."
            )
            % {"shown": session_rules.shown(weight), "low": low, "high": high},
            field=field,
        )
    return weight.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _number(value, *, field: str, what: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise SessionRefused(_("%(what)s must be a number.") % {"what": what}, field=field) from None
    if not number.is_finite():
        raise SessionRefused(_("%(what)s must be a number.") % {"what": what}, field=field)
    return number


@transaction.atomic
def plan_dose(
    *,
    appointment: Appointment,
    planned_by,
    weight_kg: Decimal | None = None,
    mg_per_kg: Decimal | None = None,
    dose_mg: Decimal | int | None = None,
    now: datetime | None = None,
) -> SessionRecord:
    """The planned dose, checked before dosing starts. IV: mg/kg from the day's weight (the clinic's default
    0.5 mg/kg), a warning above 0.75 mg/kg, a second clinician's co-signature above 1.0 mg/kg (settings).
    Spravato: 56 or 84 mg only, a change against the schedule flagged. A new plan needs a new co-signature."""
    now = now or timezone.now()
    _require_clinician(planned_by, _("record the planned dose"))
    appointment = locked(appointment)
    _require_status(appointment, {Status.CHECKED_IN}, _("planning the dose"))
    modality = appointment.treatment_type.modality
    record = _session_record(appointment)
    if modality == TreatmentType.Modality.IV_KETAMINE:
        if weight_kg is None or str(weight_kg).strip() == "":
            raise SessionRefused(_("Give the patient's weight today, in kg."), field="weight_kg")
        weight = _plausible_weight(weight_kg, "weight_kg")
        policy = selectors.dose_policy()
        per_kg = (
            policy.default_mg_per_kg
            if mg_per_kg is None
            else _number(mg_per_kg, field="mg_per_kg", what=_("The dose in mg/kg"))
        )
        if not 0 < per_kg <= IV_PLAN_MG_PER_KG_AT_MOST:
            raise SessionRefused(
                _(
                    "Give the dose in mg/kg, above 0 and at most %(iv_plan_mg_per_kg_at_most)s (the standard dose is %(default_mg_per_kg)s mg/kg)."
                )
                % {
                    "iv_plan_mg_per_kg_at_most": IV_PLAN_MG_PER_KG_AT_MOST,
                    "default_mg_per_kg": policy.default_mg_per_kg,
                },
                field="mg_per_kg",
            )
        per_kg = per_kg.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
        record.plan_weight_kg = weight
        record.plan_mg_per_kg = per_kg
        record.plan_dose_mg = session_rules.iv_planned_mg(weight, per_kg)
        record.plan_warnings = session_rules.iv_plan_warnings(per_kg, policy)
    elif modality == TreatmentType.Modality.SPRAVATO:
        dose = _number(dose_mg, field="dose_mg", what=_("The dose in mg")) if dose_mg is not None else None
        if (
            dose is None
            or dose != dose.to_integral_value()
            or int(dose) not in session_rules.SPRAVATO_DOSES_MG
        ):
            raise SessionRefused(
                _("A Spravato dose is 56 mg (2 devices) or 84 mg (3 devices)."), field="dose_mg"
            )
        first_session, last_given = selectors.spravato_schedule_facts(appointment)
        record.plan_weight_kg = (
            _plausible_weight(weight_kg, "weight_kg") if weight_kg not in (None, "") else None
        )
        record.plan_mg_per_kg = None
        record.plan_dose_mg = Decimal(int(dose))
        record.plan_warnings = session_rules.spravato_plan_warnings(
            int(dose),
            booked_mg=appointment.treatment_type.dose_mg,
            first_session=first_session,
            last_given_mg=last_given,
        )
    else:
        raise SessionRefused(_("A consultation has no dose."))
    record.planned_at = now
    record.planned_by = planned_by
    record.plan_cosigned_at = None
    record.plan_cosigned_by = None
    record.save(update_fields=[*PLAN_FIELDS, "plan_cosigned_at", "plan_cosigned_by"])
    return record


PLAN_FIELDS = (
    "plan_weight_kg",
    "plan_mg_per_kg",
    "plan_dose_mg",
    "plan_warnings",
    "planned_at",
    "planned_by",
)
# A plan above this is a slip of the keyboard, not a dose anyone co-signs (ten times the standard 0.5 mg/kg).
IV_PLAN_MG_PER_KG_AT_MOST = Decimal(5)


@transaction.atomic
def cosign_dose_plan(
    *,
    appointment: Appointment,
    cosigned_by,
    plan_seen_at: datetime | None = None,
    now: datetime | None = None,
) -> SessionRecord:
    """A second clinician co-signs the planned dose: never the clinician who planned it. ``plan_seen_at`` is the
    plan's time on the page the co-signer read: a plan changed since is not the one they checked."""
    now = now or timezone.now()
    _require_clinician(cosigned_by, _("co-sign the planned dose"))
    appointment = locked(appointment)
    _require_status(appointment, {Status.CHECKED_IN}, _("co-signing the planned dose"))
    record = _session_record(appointment)
    if not record.dose_planned:
        raise SessionRefused(_("There is no planned dose to co-sign yet."))
    if plan_seen_at is not None and plan_seen_at != record.planned_at:
        raise SessionRefused(
            _("The planned dose changed after you opened the page: check the new plan, then co-sign it.")
        )
    if record.planned_by_id == cosigned_by.pk:
        raise SessionRefused(
            _("A second clinician must co-sign: the clinician who planned the dose cannot co-sign it.")
        )
    record.plan_cosigned_at = now
    record.plan_cosigned_by = cosigned_by
    record.save(update_fields=["plan_cosigned_at", "plan_cosigned_by"])
    return record


@transaction.atomic
def record_dose(
    *,
    appointment: Appointment,
    dose_mg: Decimal,
    lot_number: str,
    started_at: datetime,
    recorded_by,
    ended_at: datetime | None = None,
    weight_kg: Decimal | None = None,
    drug: str = "",
    now: datetime | None = None,
) -> SessionRecord:
    """The dose as given. It is recorded whatever it was: a dose that departs from the checked plan is flagged on
    the summary and told to the clinic, never refused. Refused only when it cannot be a dose record: not a number,
    not above 0, a Spravato dose that is not whole 28 mg devices, an implausible weight, times in the future or
    before the session. IV: the weight defaults to the day's weight in the plan; mg/kg is computed."""
    now = now or timezone.now()
    _require_clinician(recorded_by, _("record the dose"))
    appointment = locked(appointment)
    _require_status(appointment, {Status.IN_SESSION, Status.RECOVERING}, _("recording the dose"))
    modality = appointment.treatment_type.modality
    dose_mg = _number(dose_mg, field="dose_mg", what=_("The dose in mg"))
    if dose_mg <= 0:
        raise SessionRefused(_("The dose must be more than 0 mg."), field="dose_mg")
    if dose_mg >= DOSE_MG_BELOW:
        raise SessionRefused(
            _("The dose must be below %(dose_mg_below)s mg: check the units.")
            % {"dose_mg_below": DOSE_MG_BELOW},
            field="dose_mg",
        )
    dose_mg = dose_mg.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    if not lot_number.strip():
        raise SessionRefused(_("Give the lot number."), field="lot_number")
    if ended_at is not None and ended_at < started_at:
        raise SessionRefused(_("The dose cannot end before it starts."), field="ended_at")
    # A few minutes' grace for a clock on the wall that differs from the server's.
    grace = timedelta(minutes=5)
    if started_at > now + grace or (ended_at is not None and ended_at > now + grace):
        raise SessionRefused(
            _("Record the dose once it is given: its times cannot be in the future."), field="started_at"
        )
    if appointment.session_started_at and started_at < appointment.session_started_at - timedelta(minutes=30):
        raise SessionRefused(_("The dose cannot start before this session began."), field="started_at")
    record = _session_record(appointment)
    if modality == TreatmentType.Modality.IV_KETAMINE:
        if weight_kg in (None, ""):
            weight_kg = record.plan_weight_kg
        if weight_kg is None:
            raise SessionRefused(_("Give the patient's weight in kg for an IV dose."), field="weight_kg")
        record.weight_kg = _plausible_weight(weight_kg, "weight_kg")
        record.dose_mg_per_kg = (dose_mg / record.weight_kg).quantize(
            Decimal("0.001"), rounding=ROUND_HALF_UP
        )
        record.route = SessionRecord.Route.IV
        record.drug = drug.strip() or "Ketamine hydrochloride"
    elif modality == TreatmentType.Modality.SPRAVATO:
        devices = dose_mg / session_rules.SPRAVATO_DEVICE_MG
        if devices != devices.to_integral_value() or not 1 <= devices <= 3:
            raise SessionRefused(
                _(
                    "A Spravato dose given is whole 28 mg devices: 28 mg (1 device, a dose stopped early), "
                    "56 mg (2 devices) or 84 mg (3 devices)."
                ),
                field="dose_mg",
            )
        record.weight_kg = _plausible_weight(weight_kg, "weight_kg") if weight_kg not in (None, "") else None
        record.dose_mg_per_kg = None
        record.route = SessionRecord.Route.INTRANASAL
        record.drug = drug.strip() or "Esketamine (Spravato) nasal spray"
    else:
        raise SessionRefused(_("A consultation has no dose."))
    record.dose_mg = dose_mg
    record.lot_number = lot_number.strip()[:40]
    record.dose_started_at = started_at
    record.dose_ended_at = ended_at
    record.dose_recorded_by = recorded_by
    record.dose_flags_told_at = None
    record.save()
    if selectors.dose_flags(appointment, record):
        record_id = record.pk
        transaction.on_commit(lambda: app.signature(TELL_CLINIC_OF_DOSE_TASK).delay(record_id))
    return record


# The dose field's own limit (6 digits, one after the point): anything this large is a slip of the keyboard.
DOSE_MG_BELOW = Decimal(10000)
TELL_CLINIC_OF_DOSE_TASK = "scheduling.tell_clinic_of_dose_flags"


def tell_clinic_of_dose_flags(*, record_id: int, now: datetime | None = None) -> bool:
    """Email the clinic admins and the location's clinicians, once, that a session's dose departs from its checked
    plan; True when this call sent it. The email names the location and the patient's initials and links to the
    session summary (sign-in needed): the dose detail stays in the app."""
    with transaction.atomic():
        record = (
            SessionRecord.objects.select_for_update(of=("self",))
            .select_related("appointment__patient", "appointment__location", "appointment__treatment_type")
            .filter(pk=record_id, dose_flags_told_at__isnull=True)
            .first()
        )
        if record is None:  # told already, or no such record
            return False
        appointment = record.appointment
        flags = selectors.dose_flags(appointment, record)
        if not flags:  # corrected since: nothing to tell
            return False
        recipients = sorted(
            set(emails_of_role(Role.CLINIC_ADMIN))
            | set(
                Clinician.objects.filter(locations=appointment.location_id, user__is_active=True).values_list(
                    "user__email", flat=True
                )
            )
        )
        if recipients:
            context = {
                "initials": appointment.patient.initials,
                "location": appointment.location.name,
                "treatment": appointment.treatment_type.label,
                "when": format_local(appointment.start_at, appointment.location),
                "link": settings.SITE_URL + reverse("scheduling:session_summary", args=[appointment.pk]),
                "clinic_name": policies.value("CLINIC_NAME"),
            }
            send_mail(
                subject=f"Dose check: a dose given differs from its checked plan ({appointment.patient.initials})",
                message=render_to_string("scheduling/email/dose_flag.txt", context),
                from_email=None,
                recipient_list=recipients,
            )
        else:
            logger.error("Dose flag on session record %s: nobody to tell.", record.pk)
        record.dose_flags_told_at = now or timezone.now()
        record.save(update_fields=["dose_flags_told_at"])
        return bool(recipients)
