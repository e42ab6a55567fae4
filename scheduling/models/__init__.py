"""Scheduling's models, one module per part of the clinic's day; every model is importable from here."""

from scheduling.models.access import BREAK_GLASS_MIN_REASON, BreakGlassAccess, FrontDeskAssignment
from scheduling.models.appointments import (
    MAX_MIN_DAYS_APART,
    MAX_SESSION_LENGTH,
    Allocation,
    Appointment,
    CourseTemplate,
    DayHold,
    RemsEnrollment,
    TreatmentSeries,
    TreatmentType,
    default_min_days_apart,
)
from scheduling.models.places import (
    CLEANING_MINUTES_DEFAULT,
    WEEKDAYS,
    Clinician,
    ClinicianTimeOff,
    Closure,
    Location,
    OpeningHours,
    Resource,
    WorkingHours,
    validate_time_zone,
)
from scheduling.models.reminders import Reminder, ReminderDelivery, ReminderLinkUse
from scheduling.models.rems import RemsMonitoringForm
from scheduling.models.session_day import SessionRecord, VitalSigns
from scheduling.models.waitlist import WaitlistEntry

__all__ = [
    "BREAK_GLASS_MIN_REASON",
    "MAX_MIN_DAYS_APART",
    "MAX_SESSION_LENGTH",
    "CLEANING_MINUTES_DEFAULT",
    "WEEKDAYS",
    "Allocation",
    "Appointment",
    "CourseTemplate",
    "BreakGlassAccess",
    "Clinician",
    "ClinicianTimeOff",
    "Closure",
    "DayHold",
    "FrontDeskAssignment",
    "Location",
    "OpeningHours",
    "Reminder",
    "ReminderDelivery",
    "ReminderLinkUse",
    "RemsEnrollment",
    "RemsMonitoringForm",
    "Resource",
    "SessionRecord",
    "TreatmentSeries",
    "TreatmentType",
    "VitalSigns",
    "WaitlistEntry",
    "WorkingHours",
    "default_min_days_apart",
    "validate_time_zone",
]
