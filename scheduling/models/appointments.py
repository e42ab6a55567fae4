"""Treatments, bookings and the allocation table: what a session is, the appointment, and the rows that hold its
chair or room, clinician and patient (the exclusion constraints are the guarantee against double-booking)."""

from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import (
    BigIntegerRangeField,
    DateRangeField,
    DateTimeRangeField,
    RangeOperators,
)
from django.contrib.postgres.indexes import GistIndex
from django.db import models
from django.db.models import F, Func, Q, Value
from django.db.models.lookups import GreaterThan, LessThanOrEqual
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from intake.models import Modality
from scheduling import series
from scheduling.models.places import Clinician, Location, Resource
from scheduling.session_rules import SPRAVATO_MIN_MONITORING_MINUTES

# No session holds anything for longer than this. Schedule reads rely on it: the sessions overlapping a day are
# those starting at most this long before it, which keeps the day view an index range scan (not all history).
MAX_SESSION_LENGTH = timedelta(hours=24)
# The widest spacing a dosing treatment may ask for between sessions (four weeks).
MAX_MIN_DAYS_APART = 28


def default_min_days_apart(modality: str) -> int:
    """The spacing a new treatment type of ``modality`` starts with: Spravato the clinic's setting
    (SCHEDULING_SPRAVATO_MIN_DAYS_APART), anything else one a day."""
    if modality == Modality.SPRAVATO:
        return int(getattr(settings, "SCHEDULING_SPRAVATO_MIN_DAYS_APART", 2))
    return 1


class MonitoringFrom(models.TextChoices):
    ADMINISTRATION = "administration", _("Administration (first device, or the infusion's start)")
    DOSE_END = "dose_end", _("The end of the dose (the infusion's end)")


class TreatmentType(models.Model):
    """What a session is, and how long it holds each resource. Every duration is clinic data, not code.

    The chair (or room) is held for ``chair_minutes`` from the start. The clinician is held from
    ``clinician_offset_minutes`` after the start for ``clinician_minutes`` (the dosing window), and, when
    ``discharge_minutes`` is set, again for the last ``discharge_minutes`` of the chair span (Spravato's
    discharge assessment, clinical reference 3.3). In between they are free to dose someone else.
    """

    Modality = Modality  # the one list (intake.models.Modality), so the gate can be asked with it directly
    MonitoringFrom = MonitoringFrom

    code = models.SlugField(max_length=40, unique=True)
    label = models.CharField(max_length=120)
    modality = models.CharField(max_length=20, choices=Modality.choices)
    resource_kind = models.CharField(max_length=10, choices=Resource.Kind.choices)
    chair_minutes = models.PositiveSmallIntegerField(
        help_text=_("How long the chair or room is held, check-in to discharge.")
    )
    clinician_offset_minutes = models.PositiveSmallIntegerField(
        default=0,
        help_text=_("Minutes after the start when the clinician is needed (after check-in and vitals)."),
    )
    clinician_minutes = models.PositiveSmallIntegerField(
        help_text=_("How long the clinician is held for dosing.")
    )
    discharge_minutes = models.PositiveSmallIntegerField(
        default=0,
        help_text=_("Minutes at the end the clinician is held again for the discharge check (0: none)."),
    )
    dose_mg = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=_("Spravato: 56 or 84 mg. Empty for weight-based IV dosing.")
    )
    preparation = models.TextField(
        blank=True, help_text=_("What the patient is told to do before the session.")
    )
    min_days_apart = models.PositiveSmallIntegerField(
        default=1,
        help_text=(
            _(
                "Dosing treatments: the fewest local calendar days from a session of this type to the patient's next "
                "dosing session of any kind (1: one a day; 2: Monday then Wednesday at the earliest). Not used for "
                "consultations."
            )
        ),
    )
    is_active = models.BooleanField(default=True)
    # The session-day protocol (scheduling.session_rules.Protocol): discharge is refused before the minimum
    # monitoring time or with a required reading missing, unless a clinician records an override with a reason.
    # Vital signs before the dose are required for every treatment: the blood-pressure gate reads them.
    min_monitoring_minutes = models.PositiveSmallIntegerField(
        default=0,
        help_text=_(
            "Minimum monitoring before discharge, in minutes (0: no minimum). Spravato: at least 120 (label)."
        ),
    )
    monitoring_from = models.CharField(
        max_length=16,
        choices=MonitoringFrom.choices,
        default=MonitoringFrom.ADMINISTRATION,
        help_text=_(
            "When the monitoring time starts: at administration (Spravato's first device) or when the "
            "dose ends (the end of an infusion)."
        ),
    )
    vitals_at_40_min_required = models.BooleanField(
        _("vital signs about 40 minutes after the dose required"),
        default=False,
        help_text=_("Spravato: required (label). IV ketamine: blood pressure peaks at about 40 minutes."),
    )
    vitals_before_discharge_required = models.BooleanField(
        _("vital signs before discharge required"), default=False
    )
    vitals_during_dose_every_minutes = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text=_(
            "Offered, not required: the session page suggests a reading this often while the dose is given "
            "(empty: no suggestion)."
        ),
    )

    class Meta:
        ordering = ["modality", "label"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_days_apart__gte=1, min_days_apart__lte=MAX_MIN_DAYS_APART),
                name="treatment_min_days_apart_range",
                violation_error_message=format_lazy(
                    _("Days apart must be from 1 (one session a day) to {maximum}."),
                    maximum=MAX_MIN_DAYS_APART,
                ),
            ),
            models.CheckConstraint(
                condition=Q(chair_minutes__gt=0),
                name="treatment_chair_minutes_positive",
                violation_error_message=_("The chair or room must be held for at least a minute."),
            ),
            models.CheckConstraint(
                condition=Q(chair_minutes__lte=MAX_SESSION_LENGTH // timedelta(minutes=1)),
                name="treatment_chair_minutes_at_most_a_day",
                violation_error_message=_("A session can hold its chair or room for a day at most."),
            ),
            models.CheckConstraint(
                condition=Q(clinician_minutes__gt=0),
                name="treatment_clinician_minutes_positive",
                violation_error_message=_("The clinician must be held for at least a minute."),
            ),
            models.CheckConstraint(
                condition=~Q(modality=Modality.SPRAVATO)
                | Q(
                    min_monitoring_minutes__gte=SPRAVATO_MIN_MONITORING_MINUTES,
                    monitoring_from=MonitoringFrom.ADMINISTRATION,
                    vitals_at_40_min_required=True,
                    vitals_before_discharge_required=True,
                ),
                name="treatment_spravato_monitoring_per_label",
                violation_error_message=(
                    _(
                        "Spravato's label asks for at least 120 minutes of monitoring from administration, with vital "
                        "signs about 40 minutes after the dose and before discharge."
                    )
                ),
            ),
            models.CheckConstraint(
                condition=Q(vitals_during_dose_every_minutes__isnull=True)
                | Q(vitals_during_dose_every_minutes__gt=0),
                name="treatment_vitals_during_dose_positive",
                violation_error_message=_(
                    "Suggest a reading during the dose at least a minute apart, or none."
                ),
            ),
            models.CheckConstraint(
                condition=Q(
                    chair_minutes__gte=F("clinician_offset_minutes")
                    + F("clinician_minutes")
                    + F("discharge_minutes")
                ),
                name="treatment_clinician_inside_chair_span",
                violation_error_message=(
                    _(
                        "The clinician's offset, dosing and discharge minutes together must fit inside the chair or "
                        "room minutes."
                    )
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def is_dosing(self) -> bool:
        """IV ketamine and Spravato are dosing sessions, spaced per patient (DayHold); a consultation is not."""
        return self.modality != Modality.CONSULTATION


class RemsEnrollment(models.Model):
    """The patient's SPRAVATO REMS enrollment (Patient Enrollment Form), required before the first treatment."""

    patient = models.OneToOneField("intake.Patient", on_delete=models.CASCADE, related_name="rems_enrollment")
    enrolled_on = models.DateField()
    rems_patient_id = models.CharField(_("REMS patient ID"), max_length=40, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("REMS enrollment")

    def __str__(self) -> str:
        return f"REMS enrollment of patient {self.patient_id} on {self.enrolled_on:%Y-%m-%d}"


class TreatmentSeries(models.Model):
    """A course booked together from a template (IV induction, Spravato induction); its sessions are appointments."""

    patient = models.ForeignKey("intake.Patient", on_delete=models.PROTECT, related_name="treatment_series")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    treatment_type = models.ForeignKey(TreatmentType, on_delete=models.PROTECT, related_name="+")
    template_code = models.CharField(max_length=40)
    label = models.CharField(max_length=160)
    weekdays = models.CharField(max_length=20, help_text=_("Chosen weekdays, 0 = Monday, comma separated."))
    local_time = models.TimeField(help_text=_("Wall-clock start at the location, kept across DST changes."))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = _("treatment series")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.label


class Appointment(models.Model):
    """One session. Its resources are held by its Allocation rows; the exclusion constraints are the guarantee."""

    class Status(models.TextChoices):
        BOOKED = "booked", _("Booked")
        CONFIRMED = "confirmed", _("Confirmed")
        CHECKED_IN = "checked_in", _("Checked in")
        IN_SESSION = "in_session", _("In session")
        RECOVERING = "recovering", _("Recovering")
        DISCHARGED = "discharged", _("Discharged")
        CANCELLED = "cancelled", _("Cancelled")
        NO_SHOW = "no_show", _("No-show")

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
        RESOURCE = "resource", _("Chair or room")
        CLINICIAN = "clinician", _("Clinician")
        PATIENT = "patient", _("Patient")

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
        indexes = [
            GistIndex(fields=["span"], name="allocation_span_gist", condition=Q(active=True)),
            # Availability reads a range of each chair's, clinician's and patient's holds by start: a btree range
            # scan per holder (allocation_span_bounded says how far before the range a hold can start), which
            # reads the holds it returns and no others, whatever else the table holds; with the span and the
            # appointment in the index, from the index alone.
            *(
                models.Index(
                    F(kind),
                    Func(F("span"), function="lower", output_field=models.DateTimeField()),
                    name=f"allocation_{kind}_start",
                    condition=Q(active=True, **{f"{kind}__isnull": False}),
                    include=["span", "appointment"],
                )
                for kind in ("resource", "clinician", "patient")
            ),
        ]
        constraints = [
            # The booking rule (MAX_SESSION_LENGTH), held by the database too, since the availability read relies
            # on it: a hold starts at most this long before any instant it covers.
            models.CheckConstraint(
                condition=LessThanOrEqual(
                    Func(F("span"), function="upper", output_field=models.DateTimeField())
                    - Func(F("span"), function="lower", output_field=models.DateTimeField()),
                    Value(MAX_SESSION_LENGTH),
                ),
                name="allocation_span_bounded",
            ),
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
                condition=Q(span__isempty=False, span__lower_inf=False, span__upper_inf=False)
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


class DayHold(models.Model):
    """The local days a dosing session (IV ketamine, Spravato) keeps the patient from another dosing session.

    One row per dosing appointment: ``days`` is ``[its local day, that day + its type's min_days_apart)`` at its
    location. The exclusion constraint refuses two active rows of one patient whose days overlap: two IV infusions
    on one local day ([D, D+1) twice), or a second session inside a Spravato session's spacing ([D, D+2) and
    D+1). Maintained with the appointment's allocations (``scheduling.services.holds``): inserted with them,
    inactive when they are released or moved.
    """

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="day_holds")
    patient = models.ForeignKey("intake.Patient", on_delete=models.PROTECT, related_name="+")
    days = DateRangeField()
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            # As for allocations: an empty range overlaps nothing and would slip past the exclusion constraint.
            models.CheckConstraint(
                condition=Q(days__isempty=False, days__lower_inf=False, days__upper_inf=False),
                name="dayhold_days_not_empty",
            ),
            ExclusionConstraint(
                name="dayhold_patient_dosing_spaced",
                expressions=[
                    (_one_point("patient"), RangeOperators.EQUAL),
                    ("days", RangeOperators.OVERLAPS),
                ],
                condition=Q(active=True),
            ),
        ]

    def __str__(self) -> str:
        return f"Dosing days of appointment {self.appointment_id}"


class CourseTemplate(models.Model):
    """A series template front desk books as one course (IV ketamine x6, Spravato induction and maintenance).

    Clinic data edited on the set-up pages (scheduling.services.save_course_template); booking reads it through
    ``as_series_template``, the pure ``scheduling.series.SeriesTemplate`` that lays it on the calendar. ``sessions``
    is a list of ``[week, weekday_slot, note]`` in calendar order (see scheduling/series.py for what they mean).
    A retired template is no longer offered; series booked from it keep their sessions.
    """

    code = models.SlugField(max_length=40, unique=True)
    label = models.CharField(max_length=160)
    modality = models.CharField(
        max_length=20, choices=[(m.value, m.label) for m in (Modality.IV_KETAMINE, Modality.SPRAVATO)]
    )
    sessions = models.JSONField()
    min_days_between = models.PositiveSmallIntegerField(
        default=1,
        help_text="The fewest local calendar days between two sessions of the course (Monday to Wednesday is 2).",
    )
    source = models.CharField(max_length=300, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["modality", "label"]
        verbose_name = "series template"
        constraints = [
            models.CheckConstraint(
                condition=Q(min_days_between__gte=1, min_days_between__lte=7),
                name="course_template_min_days_between_range",
                violation_error_message="Days between sessions must be from 1 to 7.",
            ),
            models.CheckConstraint(
                condition=Q(modality__in=[Modality.IV_KETAMINE, Modality.SPRAVATO]),
                name="course_template_dosing_modality",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    def as_series_template(self):
        """The pure template (ValueError if the stored sessions do not make one)."""
        return series.SeriesTemplate(
            code=self.code,
            label=self.label,
            modality=series.MODALITY_OF[self.modality],
            sessions=tuple(
                series.SessionRule(week=int(week), weekday_slot=int(slot), note=str(note))
                for week, slot, note in self.sessions
            ),
            min_days_between=self.min_days_between,
            source=self.source,
        )
