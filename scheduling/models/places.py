"""Places, people and hours: locations with their zone, opening hours and closures, chairs and rooms, clinicians
with their working hours and time off. Every weekly time is local wall-clock time at the location."""

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from clinic.local_time import format_day

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
    """An IANA zone Python knows. The database must know it too (it works out local days for the calendar guards,
    migration 0008): the location form asks it (``selectors.database_knows_time_zone``)."""
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            _("%(value)s is not an IANA time zone such as America/New_York.") % {"value": f"{value!r}"}
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
        verbose_name_plural = _("opening hours")
        ordering = ["location", "weekday", "opens"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes__gt=F("opens")),
                name="opening_hours_closes_after_opens",
                violation_error_message=_("Closing time must be after opening time."),
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
        return f"{self.location} closed {format_day(self.date)}"


# Cleaning between sessions by kind, what a chair or room added in the set-up gets unless another time is typed
# (clinic policy; the clinical reference sets no figure): an infusion chair is wiped down and re-made between
# patients, a consultation room is not. Migration 0017 gave the chairs and rooms then in use the same.
CLEANING_MINUTES_DEFAULT = {"chair": 15, "room": 0}
# A typing mistake, not a policy: cleaning is minutes, not hours.
MAX_CLEANING_MINUTES = 120


class Resource(models.Model):
    """Something a session occupies: an infusion chair or a consultation room."""

    class Kind(models.TextChoices):
        CHAIR = "chair", _("Infusion chair")
        ROOM = "room", _("Consultation room")

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="resources")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=60)
    is_active = models.BooleanField(default=True)
    # None chosen: every treatment of the chair's or room's kind, as before chairs could be limited (the set-up
    # pages save at least one, so an empty set only remains on chairs made before them).
    treatment_types = models.ManyToManyField(
        "scheduling.TreatmentType",
        blank=True,
        related_name="resources",
        help_text="The treatments given here. None chosen: every treatment of this kind.",
    )
    # Part of the chair's hold: the next session cannot start until the chair is cleaned (CLEANING_MINUTES_DEFAULT
    # in the set-up; 0 here so that a chair made in code says what it wants).
    cleaning_minutes = models.PositiveSmallIntegerField(
        _("cleaning after each session (minutes)"),
        default=0,
        validators=[MaxValueValidator(MAX_CLEANING_MINUTES)],
        help_text=_(
            "Held after every session, so the next one cannot start sooner. Infusion chairs: usually 15."
        ),
    )

    class Meta:
        ordering = ["location", "kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["location", "name"], name="resource_name_unique_per_location"),
            models.CheckConstraint(
                condition=models.Q(cleaning_minutes__lte=MAX_CLEANING_MINUTES),
                name="resource_cleaning_at_most_two_hours",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.location})"


class Clinician(models.Model):
    """A prescriber or nurse who doses and observes patients."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="clinician")
    credentials = models.CharField(max_length=40, blank=True, help_text=_("For example MD, NP, RN."))
    locations = models.ManyToManyField(Location, related_name="clinicians")
    is_on_call = models.BooleanField(default=False, help_text=_("Receives urgent suicide-risk alerts."))

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
        verbose_name_plural = _("working hours")
        ordering = ["clinician", "weekday", "starts"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends__gt=F("starts")),
                name="working_hours_ends_after_starts",
                violation_error_message=_("Working hours must end after they start."),
            ),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="working_hours_weekday_range"),
        ]

    def __str__(self) -> str:
        return f"{self.clinician} {self.get_weekday_display()} {self.starts:%H:%M}-{self.ends:%H:%M}"


class ClinicianTimeOff(models.Model):
    """A stretch when a clinician works nowhere (leave, training). Availability and booking both honour it."""

    clinician = models.ForeignKey(Clinician, on_delete=models.CASCADE, related_name="time_off")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name_plural = _("clinician time off")
        ordering = ["clinician", "starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="time_off_ends_after_starts",
                violation_error_message=_("Time off must end after it starts."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.clinician} off {self.starts_at:%Y-%m-%d %H:%M} to {self.ends_at:%Y-%m-%d %H:%M} UTC"
