import zoneinfo
from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import BigIntegerRangeField, DateTimeRangeField, RangeOperators
from django.contrib.postgres.indexes import GistIndex
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Func, Q, Value
from django.db.models.functions import Length, Trim
from django.db.models.lookups import GreaterThan, GreaterThanOrEqual

from clinic.roles import ROLE_GROUP_NAMES, Role

# No session holds anything for longer than this. Schedule reads rely on it: the sessions overlapping a day are
# those starting at most this long before it, which keeps the day view an index range scan (not all history).
MAX_SESSION_LENGTH = timedelta(hours=24)

WEEKDAYS = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone such as America/New_York.")
    # The database works out local days too (the calendar guards, migration 0008): its zone data must know the name.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = %s)", [value])
        if not cursor.fetchone()[0]:
            raise ValidationError(
                f"The database server's time zone data does not know {value!r} yet: use another name for the "
                "same zone, or update the server."
            )


class Location(models.Model):
    """A clinic site. Its time zone is the one every time at this site is shown in."""

    name = models.CharField(max_length=120, unique=True)
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    address = models.TextField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class OpeningHours(models.Model):
    """A location's weekly opening hours, in its local wall-clock time (a day may have several spans)."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(choices=WEEKDAYS)
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        verbose_name_plural = "opening hours"
        ordering = ["location", "weekday", "opens"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes__gt=F("opens")),
                name="opening_hours_closes_after_opens",
                violation_error_message="Closing time must be after opening time.",
            ),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="opening_hours_weekday_range"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"


class Closure(models.Model):
    """A whole local day on which a location is closed (holiday, training day)."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="closures")
    date = models.DateField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["location", "date"]
        constraints = [models.UniqueConstraint(fields=["location", "date"], name="closure_one_per_day")]

    def __str__(self) -> str:
        return f"{self.location} closed {self.date:%a %d %b %Y}"


class Resource(models.Model):
    """Something a session occupies: an infusion chair or a consultation room."""

    class Kind(models.TextChoices):
        CHAIR = "chair", "Infusion chair"
        ROOM = "room", "Consultation room"

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="resources")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=60)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["location", "kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["location", "name"], name="resource_name_unique_per_location")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.location})"


class Clinician(models.Model):
    """A prescriber or nurse who doses and observes patients."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="clinician")
    credentials = models.CharField(max_length=40, blank=True, help_text="For example MD, NP, RN.")
    locations = models.ManyToManyField(Location, related_name="clinicians")
    is_on_call = models.BooleanField(default=False, help_text="Receives urgent suicide-risk alerts.")

    def __str__(self) -> str:
        name = self.user.full_name or self.user.email
        return f"{name}, {self.credentials}" if self.credentials else name


class WorkingHours(models.Model):
    """A clinician's weekly working hours at one location, in the location's local wall-clock time."""

    clinician = models.ForeignKey(Clinician, on_delete=models.CASCADE, related_name="working_hours")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    weekday = models.PositiveSmallIntegerField(choices=WEEKDAYS)
    starts = models.TimeField()
    ends = models.TimeField()

    class Meta:
        verbose_name_plural = "working hours"
        ordering = ["clinician", "weekday", "starts"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends__gt=F("starts")),
                name="working_hours_ends_after_starts",
                violation_error_message="Working hours must end after they start.",
            ),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="working_hours_weekday_range"),
        ]

    def __str__(self) -> str:
        return f"{self.clinician} {self.get_weekday_display()} {self.starts:%H:%M}-{self.ends:%H:%M}"


# --- Treatments, bookings and the allocation table --------------------------------------------------------------


class TreatmentType(models.Model):
    """What a session is, and how long it holds each resource. Every duration is clinic data, not code.

    The chair (or room) is held for ``chair_minutes`` from the start. The clinician is held from
    ``clinician_offset_minutes`` after the start for ``clinician_minutes`` (the dosing window), and, when
    ``discharge_minutes`` is set, again for the last ``discharge_minutes`` of the chair span (Spravato's
    discharge assessment, clinical reference 3.3). In between they are free to dose someone else.
    """

    class Modality(models.TextChoices):
        # The values are intake.eligibility.Modality's, so the gate can be asked with modality directly.
        IV_KETAMINE = "iv", "IV ketamine"
        SPRAVATO = "spravato", "Spravato (esketamine)"
        CONSULTATION = "consultation", "Consultation"

    code = models.SlugField(max_length=40, unique=True)
    label = models.CharField(max_length=120)
    modality = models.CharField(max_length=20, choices=Modality.choices)
    resource_kind = models.CharField(max_length=10, choices=Resource.Kind.choices)
    chair_minutes = models.PositiveSmallIntegerField(
        help_text="How long the chair or room is held, check-in to discharge."
    )
    clinician_offset_minutes = models.PositiveSmallIntegerField(
        default=0,
        help_text="Minutes after the start when the clinician is needed (after check-in and vitals).",
    )
    clinician_minutes = models.PositiveSmallIntegerField(
        help_text="How long the clinician is held for dosing."
    )
    discharge_minutes = models.PositiveSmallIntegerField(
        default=0,
        help_text="Minutes at the end the clinician is held again for the discharge check (0: none).",
    )
    dose_mg = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Spravato: 56 or 84 mg. Empty for weight-based IV dosing."
    )
    preparation = models.TextField(blank=True, help_text="What the patient is told to do before the session.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["modality", "label"]
        constraints = [
            models.CheckConstraint(
                condition=Q(chair_minutes__gt=0),
                name="treatment_chair_minutes_positive",
                violation_error_message="The chair or room must be held for at least a minute.",
            ),
            models.CheckConstraint(
                condition=Q(chair_minutes__lte=MAX_SESSION_LENGTH // timedelta(minutes=1)),
                name="treatment_chair_minutes_at_most_a_day",
                violation_error_message="A session can hold its chair or room for a day at most.",
            ),
            models.CheckConstraint(
                condition=Q(clinician_minutes__gt=0),
                name="treatment_clinician_minutes_positive",
                violation_error_message="The clinician must be held for at least a minute.",
            ),
            models.CheckConstraint(
                condition=Q(
                    chair_minutes__gte=F("clinician_offset_minutes")
                    + F("clinician_minutes")
                    + F("discharge_minutes")
                ),
                name="treatment_clinician_inside_chair_span",
                violation_error_message=(
                    "The clinician's offset, dosing and discharge minutes together must fit inside the chair or "
                    "room minutes."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.label


class ClinicianTimeOff(models.Model):
    """A stretch when a clinician works nowhere (leave, training). Availability and booking both honour it."""

    clinician = models.ForeignKey(Clinician, on_delete=models.CASCADE, related_name="time_off")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name_plural = "clinician time off"
        ordering = ["clinician", "starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="time_off_ends_after_starts",
                violation_error_message="Time off must end after it starts.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.clinician} off {self.starts_at:%Y-%m-%d %H:%M} to {self.ends_at:%Y-%m-%d %H:%M} UTC"


class RemsEnrollment(models.Model):
    """The patient's SPRAVATO REMS enrolment (Patient Enrollment Form), required before the first treatment."""

    patient = models.OneToOneField("intake.Patient", on_delete=models.CASCADE, related_name="rems_enrollment")
    enrolled_on = models.DateField()
    rems_patient_id = models.CharField("REMS patient ID", max_length=40, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "REMS enrolment"

    def __str__(self) -> str:
        return f"REMS enrolment of patient {self.patient_id} on {self.enrolled_on:%Y-%m-%d}"


class TreatmentSeries(models.Model):
    """A course booked together from a template (IV induction, Spravato induction); its sessions are appointments."""

    patient = models.ForeignKey("intake.Patient", on_delete=models.PROTECT, related_name="treatment_series")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    treatment_type = models.ForeignKey(TreatmentType, on_delete=models.PROTECT, related_name="+")
    template_code = models.CharField(max_length=40)
    label = models.CharField(max_length=160)
    weekdays = models.CharField(max_length=20, help_text="Chosen weekdays, 0 = Monday, comma separated.")
    local_time = models.TimeField(help_text="Wall-clock start at the location, kept across DST changes.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "treatment series"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.label


class Appointment(models.Model):
    """One session. Its resources are held by its Allocation rows; the exclusion constraints are the guarantee."""

    class Status(models.TextChoices):
        BOOKED = "booked", "Booked"
        CONFIRMED = "confirmed", "Confirmed"
        CHECKED_IN = "checked_in", "Checked in"
        IN_SESSION = "in_session", "In session"
        RECOVERING = "recovering", "Recovering"
        DISCHARGED = "discharged", "Discharged"
        CANCELLED = "cancelled", "Cancelled"
        NO_SHOW = "no_show", "No-show"

    patient = models.ForeignKey("intake.Patient", on_delete=models.PROTECT, related_name="appointments")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="appointments")
    treatment_type = models.ForeignKey(TreatmentType, on_delete=models.PROTECT, related_name="appointments")
    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="appointments")
    clinician = models.ForeignKey(Clinician, on_delete=models.PROTECT, related_name="appointments")
    start_at = models.DateTimeField()
    end_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.BOOKED)
    series = models.ForeignKey(
        TreatmentSeries, null=True, blank=True, on_delete=models.PROTECT, related_name="appointments"
    )
    series_index = models.PositiveSmallIntegerField(null=True, blank=True)
    series_note = models.CharField(max_length=200, blank=True)
    cancellation_reason = models.CharField(max_length=300, blank=True)
    late_cancellation = models.BooleanField(default=False)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    session_started_at = models.DateTimeField(null=True, blank=True)
    recovery_started_at = models.DateTimeField(null=True, blank=True)
    discharged_at = models.DateTimeField(null=True, blank=True)
    no_show_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start_at", "resource_id"]
        indexes = [
            models.Index(fields=["location", "start_at"], name="appointment_location_start_idx"),
            models.Index(fields=["patient", "start_at"], name="appointment_patient_start_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_at__gt=F("start_at")), name="appointment_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(end_at__lte=F("start_at") + MAX_SESSION_LENGTH),
                name="appointment_at_most_a_day_long",
            ),
            models.CheckConstraint(
                condition=~Q(status="cancelled") | ~Q(cancellation_reason=""),
                name="appointment_cancellation_has_reason",
            ),
            models.UniqueConstraint(
                fields=["series", "series_index"],
                condition=Q(series__isnull=False),
                name="appointment_series_index_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.treatment_type} for patient {self.patient_id} at {self.start_at:%Y-%m-%d %H:%M} UTC"

    ACTIVE_STATUSES = frozenset(
        {Status.BOOKED, Status.CONFIRMED, Status.CHECKED_IN, Status.IN_SESSION, Status.RECOVERING}
    )

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def local_start(self):
        return self.start_at.astimezone(self.location.tz)

    @property
    def local_end(self):
        return self.end_at.astimezone(self.location.tz)


def _one_point(column: str) -> Func:
    # GiST has no operator class for plain integers without btree_gist (absent from the embedded PostgreSQL),
    # but it has one for ranges: an id compared as the one-point range [id, id] works on every server.
    return Func(F(column), F(column), Value("[]"), function="int8range", output_field=BigIntegerRangeField())


class Allocation(models.Model):
    """One resource held by one appointment for one span: the chair or room, the clinician, or the patient.

    Exactly one of resource / clinician / patient is set. Three exclusion constraints (one per kind) make an
    overlapping active hold impossible, whatever the application does: engineering guide section 2.
    """

    class Kind(models.TextChoices):
        RESOURCE = "resource", "Chair or room"
        CLINICIAN = "clinician", "Clinician"
        PATIENT = "patient", "Patient"

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="allocations")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    resource = models.ForeignKey(Resource, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    clinician = models.ForeignKey(
        Clinician, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    patient = models.ForeignKey(
        "intake.Patient", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    span = DateTimeRangeField()
    active = models.BooleanField(default=True)

    class Meta:
        indexes = [GistIndex(fields=["span"], name="allocation_span_gist", condition=Q(active=True))]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="resource", resource__isnull=False, clinician__isnull=True, patient__isnull=True)
                    | Q(
                        kind="clinician", resource__isnull=True, clinician__isnull=False, patient__isnull=True
                    )
                    | Q(kind="patient", resource__isnull=True, clinician__isnull=True, patient__isnull=False)
                ),
                name="allocation_holds_exactly_one_thing",
            ),
            # An empty range overlaps nothing, so it would slip past the exclusion constraints: refuse it, and
            # refuse open-ended spans too. Reversed bounds never get this far (PostgreSQL refuses the range).
            models.CheckConstraint(
                # Q & a lookup is a valid condition; the stubs type the combination as a plain Combinable.
                condition=Q(span__isempty=False, span__lower_inf=False, span__upper_inf=False)  # type: ignore[arg-type]
                & GreaterThan(
                    Func(F("span"), function="upper", output_field=models.DateTimeField()),
                    Func(F("span"), function="lower", output_field=models.DateTimeField()),
                ),
                name="allocation_span_not_empty",
            ),
            ExclusionConstraint(
                name="allocation_resource_not_double_booked",
                expressions=[
                    (_one_point("resource"), RangeOperators.EQUAL),
                    ("span", RangeOperators.OVERLAPS),
                ],
                condition=Q(active=True, resource__isnull=False),
            ),
            ExclusionConstraint(
                name="allocation_clinician_not_double_booked",
                expressions=[
                    (_one_point("clinician"), RangeOperators.EQUAL),
                    ("span", RangeOperators.OVERLAPS),
                ],
                condition=Q(active=True, clinician__isnull=False),
            ),
            ExclusionConstraint(
                name="allocation_patient_not_double_booked",
                expressions=[
                    (_one_point("patient"), RangeOperators.EQUAL),
                    ("span", RangeOperators.OVERLAPS),
                ],
                condition=Q(active=True, patient__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for appointment {self.appointment_id}"


# --- The day of the session -------------------------------------------------------------------------------------


class SessionRecord(models.Model):
    """What happens on the day: the check-in checklist, the dose, the clinician's scores, discharge, REMS form.

    Written only through scheduling.services; each part records who and when.
    """

    class Route(models.TextChoices):
        IV = "iv", "Intravenous infusion"
        INTRANASAL = "intranasal", "Intranasal (nasal spray)"

    appointment = models.OneToOneField(Appointment, on_delete=models.CASCADE, related_name="session_record")
    # Check-in checklist
    escort_name = models.CharField("escort or driver's name", max_length=120, blank=True)
    escort_phone = models.CharField("escort or driver's phone", max_length=32, blank=True)
    escort_confirmed_at = models.DateTimeField(null=True, blank=True)
    fasting_confirmed_at = models.DateTimeField(null=True, blank=True)
    checklist_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A pre-dose BP above 180/100 is a hard stop: only a clinician's recorded override lets the session start.
    bp_override_reason = models.TextField(blank=True)
    bp_override_at = models.DateTimeField(null=True, blank=True)
    bp_override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Dose record
    drug = models.CharField(max_length=80, blank=True)
    dose_mg = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    weight_kg = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    dose_mg_per_kg = models.DecimalField(max_digits=5, decimal_places=3, null=True, blank=True)
    route = models.CharField(max_length=12, choices=Route.choices, blank=True)
    lot_number = models.CharField(max_length=40, blank=True)
    dose_started_at = models.DateTimeField(null=True, blank=True)
    dose_ended_at = models.DateTimeField(null=True, blank=True)
    dose_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Clinician's observation scores (dissociation: CADSS total 0-92; sedation: MOAA/S 0-5, 5 = awake)
    dissociation_score = models.PositiveSmallIntegerField(null=True, blank=True)
    sedation_score = models.PositiveSmallIntegerField(null=True, blank=True)
    scores_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Discharge
    escort_present_at_discharge = models.BooleanField(default=False)
    # SPRAVATO REMS Patient Monitoring Form, due within 7 days of the session (clinical reference 3.3)
    rems_form_submitted_at = models.DateTimeField(null=True, blank=True)
    rems_form_submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(dose_ended_at__isnull=True)
                | Q(dose_started_at__isnull=True)
                | Q(dose_ended_at__gte=F("dose_started_at")),
                name="session_dose_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(sedation_score__isnull=True) | Q(sedation_score__lte=5),
                name="session_sedation_0_5",
            ),
            models.CheckConstraint(
                condition=Q(dissociation_score__isnull=True) | Q(dissociation_score__lte=92),
                name="session_dissociation_0_92",
            ),
            models.CheckConstraint(
                condition=Q(bp_override_at__isnull=True) | ~Q(bp_override_reason=""),
                name="session_bp_override_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"Session record of appointment {self.appointment_id}"

    @property
    def checklist_complete(self) -> bool:
        return bool(self.escort_confirmed_at and self.fasting_confirmed_at and self.escort_name)

    @property
    def dose_recorded(self) -> bool:
        return bool(self.dose_mg and self.dose_started_at and self.lot_number)


class VitalSigns(models.Model):
    """One set of vitals: before dosing, at about 40 minutes, before discharge (REMS form; clinical ref. 3.1, 3.3)."""

    class Phase(models.TextChoices):
        PRE_DOSE = "pre_dose", "Before dosing"
        AT_40_MIN = "at_40_min", "About 40 minutes after dosing"
        PRE_DISCHARGE = "pre_discharge", "Before discharge"
        OTHER = "other", "Other check"

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="vitals")
    phase = models.CharField(max_length=20, choices=Phase.choices)
    systolic = models.PositiveSmallIntegerField("systolic BP (mmHg)")
    diastolic = models.PositiveSmallIntegerField("diastolic BP (mmHg)")
    heart_rate = models.PositiveSmallIntegerField("heart rate (beats/min)")
    spo2 = models.PositiveSmallIntegerField("SpO2 (%)")
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name_plural = "vital signs"
        ordering = ["appointment", "recorded_at"]
        constraints = [
            models.CheckConstraint(condition=Q(systolic__range=(40, 300)), name="vitals_systolic_plausible"),
            models.CheckConstraint(
                condition=Q(diastolic__range=(20, 200)), name="vitals_diastolic_plausible"
            ),
            models.CheckConstraint(
                condition=Q(systolic__gt=F("diastolic")), name="vitals_systolic_above_diastolic"
            ),
            models.CheckConstraint(
                condition=Q(heart_rate__range=(20, 250)), name="vitals_heart_rate_plausible"
            ),
            models.CheckConstraint(condition=Q(spo2__range=(50, 100)), name="vitals_spo2_plausible"),
        ]

    def __str__(self) -> str:
        return f"{self.get_phase_display()}: {self.systolic}/{self.diastolic}"


# --- Waitlist ---------------------------------------------------------------------------------------------------


class WaitlistEntry(models.Model):
    """A patient who wants an earlier session. Front desk sees matching free slots and may email an offer."""

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        OFFERED = "offered", "Offer sent"
        BOOKED = "booked", "Booked"
        WITHDRAWN = "withdrawn", "Withdrawn"

    patient = models.ForeignKey("intake.Patient", on_delete=models.CASCADE, related_name="waitlist_entries")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    treatment_type = models.ForeignKey(TreatmentType, on_delete=models.PROTECT, related_name="+")
    # The session the patient would like to bring forward (optional); a match must start before it.
    current_appointment = models.ForeignKey(
        Appointment, null=True, blank=True, on_delete=models.SET_NULL, related_name="waitlist_entries"
    )
    earliest_date = models.DateField(help_text="The first day the patient can come.")
    latest_date = models.DateField(help_text="The last day that is still worth offering.")
    notes = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.WAITING)
    offered_start = models.DateTimeField(null=True, blank=True)
    offered_at = models.DateTimeField(null=True, blank=True)
    offer_sent_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "waitlist entries"
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(latest_date__gte=F("earliest_date")), name="waitlist_dates_in_order"
            ),
            models.UniqueConstraint(
                fields=["patient", "treatment_type"],
                condition=Q(status__in=["waiting", "offered"]),
                name="waitlist_one_open_entry_per_treatment",
            ),
        ]

    def __str__(self) -> str:
        return f"Waitlist entry {self.pk} ({self.get_status_display()})"


# --- Reminders: the outbox (engineering guide section 3) ----------------------------------------------------------


class Reminder(models.Model):
    """One message to send about one appointment: a row written in the same transaction as the booking change.

    ``sequence`` is the appointment's plan version: 0 at booking, one more at each reschedule and at the
    cancellation. It is the .ics SEQUENCE, so a calendar replaces the old event with the update. A reminder
    is unique per (appointment, channel, kind) within a plan version; the old version's rows stay, cancelled,
    as the record of what was planned. (A row of an old version still being sent when the appointment moved
    is left to its sender, which skips it: the services never wait on a row a worker holds.)
    """

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "Text message"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="reminders")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    kind = models.CharField(
        max_length=20, help_text="confirmation, update, cancellation, or an offset: 72h, 24h, 2h"
    )
    sequence = models.PositiveIntegerField(default=0)
    planned_start_at = models.DateTimeField(help_text="The appointment start this reminder was planned for.")
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_id = models.CharField(max_length=200, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_at", "pk"]
        indexes = [
            models.Index(fields=["due_at"], name="reminder_pending_due_idx", condition=Q(status="pending")),
            models.Index(fields=["claimed_at"], name="reminder_sending_idx", condition=Q(status="sending")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["appointment", "channel", "kind", "sequence"], name="reminder_one_per_kind_per_plan"
            ),
            models.CheckConstraint(condition=Q(channel__in=["email", "sms"]), name="reminder_channel_known"),
            models.CheckConstraint(
                condition=~Q(status="sending") | Q(claimed_at__isnull=False),
                name="reminder_sending_is_claimed",
            ),
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False), name="reminder_sent_has_time"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.channel} reminder for appointment {self.appointment_id} ({self.status})"


class ReminderDelivery(models.Model):
    """One attempt to send a reminder, whatever came of it: the delivery log front desk sees."""

    class Outcome(models.TextChoices):
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed, will retry"
        GAVE_UP = "gave_up", "Failed, gave up"
        SKIPPED = "skipped", "Not sent (appointment changed)"

    reminder = models.ForeignKey(Reminder, on_delete=models.CASCADE, related_name="deliveries")
    # Denormalised so an appointment's page reads its whole log in one query.
    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="reminder_deliveries")
    attempted_at = models.DateTimeField()
    channel = models.CharField(max_length=10, choices=Reminder.Channel.choices)
    kind = models.CharField(max_length=20)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    provider_id = models.CharField(max_length=200, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name_plural = "reminder deliveries"
        ordering = ["-attempted_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.reminder} at {self.attempted_at:%Y-%m-%d %H:%M} UTC: {self.outcome}"


class ReminderLinkUse(models.Model):
    """A confirm or cancel link that was used: the unique key is what makes each link single use."""

    reminder = models.ForeignKey(Reminder, on_delete=models.CASCADE, related_name="link_uses")
    action = models.CharField(max_length=20)
    used_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["reminder", "action"], name="reminder_link_single_use")
        ]

    def __str__(self) -> str:
        return f"{self.action} link of reminder {self.reminder_id}, used {self.used_at:%Y-%m-%d %H:%M} UTC"


# --- Who may see which location (scheduling.access) ---------------------------------------------------------------


class FrontDeskAssignment(models.Model):
    """A front-desk person works at this location. When the clinic restricts staff to their locations, front desk
    see, search and book only at the locations they are assigned to (clinicians: ``Clinician.locations``)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="front_desk_assignments",
        limit_choices_to={"groups__name": ROLE_GROUP_NAMES[Role.FRONT_DESK]},
    )
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="front_desk_assignments")

    class Meta:
        verbose_name = "front-desk location"
        ordering = ["location", "user"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "location"], name="front_desk_assignment_once_per_location"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} at {self.location}"


# A reason is what makes an emergency access accountable: a word or two ("urgent") says nothing an auditor can check.
BREAK_GLASS_MIN_REASON = 10


class BreakGlassAccess(models.Model):
    """A clinician opened a patient of a location they do not work at, in an emergency, with a stated reason
    ("break the glass"). Until ``expires_at`` the access gates let them see that patient; the clinic admins are told
    of each one (``admins_told_at``). Kept for the record: nobody edits or deletes these in the app."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("intake.Patient", on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    admins_told_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "emergency access (break the glass)"
        verbose_name_plural = "emergency accesses (break the glass)"
        ordering = ["-created_at", "-pk"]
        default_permissions = ("view",)
        indexes = [models.Index(fields=["user", "patient", "expires_at"], name="break_glass_grant_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("created_at")), name="break_glass_expires_after_it_opens"
            ),
            models.CheckConstraint(
                condition=GreaterThanOrEqual(Length(Trim("reason")), BREAK_GLASS_MIN_REASON),
                name="break_glass_has_a_reason",
                violation_error_message=f"Say why, in at least {BREAK_GLASS_MIN_REASON} characters.",
            ),
        ]

    def __str__(self) -> str:
        return f"Emergency access of user {self.user_id} to patient {self.patient_id}"
