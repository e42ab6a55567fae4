"""Reads for scheduling, by job; every public name is importable from here.

- ``appointments``: the per-object access gates, patient search, a patient's sessions;
- ``booking_facts``: the booking gate's one read;
- ``slots``: availability (free starts, one start's free chair and clinician, a range's free starts by chair and
  clinician);
- ``alternatives``: the nearest free starts to a taken time;
- ``series_proposals``: a course laid on the calendar;
- ``schedule``: the day view, tomorrow's unconfirmed sessions; ``week``: the week grid;
- ``locations``: the schedule pages' location picker, a patient's booking location, a zone the database knows;
- ``holds``: sessions in the way of a calendar change, and the no-overlap check;
- ``cover``: a colleague for each session of an absent clinician;
- ``session_day``: the session page, the facts the session rules judge;
- ``rems``: the REMS Patient Monitoring Form: the forms due, a form's answers, what the app prefills;
- ``waitlist``: each waitlisted patient's earliest matching slot;
- ``reminders``: failed reminders, and the reminder a patient's link names;
- ``export``: the patient's appointments, session records, REMS enrollment and waiting list, for their download.

Who may see which location is ``scheduling.access``'s rule; the gates here apply it.
"""

from scheduling.selectors.alternatives import nearest_alternatives
from scheduling.selectors.appointments import (
    ConsentHold,
    appointment_for_user,
    consent_holds,
    patient_appointments,
    patient_for_booking,
    search_patients,
    sessions_needing_consent,
    upcoming_appointments_for_patient,
)
from scheduling.selectors.booking_facts import BookingFacts, booking_facts
from scheduling.selectors.clinician_day import clinician_day, clinician_day_facts
from scheduling.selectors.cover import COVER_MAX_DAYS, CoverRow, cover_plan
from scheduling.selectors.export import export_section, requests_export_section
from scheduling.selectors.free_starts import FreeCalendar, free_calendar, treatment_type_by_code
from scheduling.selectors.holds import (
    dosing_clash,
    overlapping_active_allocations,
    sessions_held_at_location_on,
    sessions_held_by_clinician,
    sessions_outside_opening_hours,
    sessions_outside_working_hours,
    upcoming_sessions_at_location,
    upcoming_sessions_of_clinician,
    upcoming_sessions_of_clinician_at,
    upcoming_sessions_of_treatment,
    upcoming_sessions_on_resource,
)
from scheduling.selectors.locations import (
    database_knows_time_zone,
    first_active_location,
    phone_to_call,
    picker_locations,
)
from scheduling.selectors.moves import (
    MOVE_CHOICES_APART,
    MOVE_WINDOW_DAYS,
    WEEKDAY_NAMES,
    MoveAlternatives,
    move_alternatives,
    preferred_weekdays,
    sessions_in_the_way,
)
from scheduling.selectors.patient_overview import PatientOverview, patient_overview
from scheduling.selectors.reminders import failed_reminders, reminder_for_link
from scheduling.selectors.rems import (
    REMS_FORM_DAYS,
    DueForm,
    RemsFormPage,
    concomitant_medicines,
    form_values,
    rems_form_due_at,
    rems_form_page,
    rems_form_prefill,
    rems_forms_due,
)
from scheduling.selectors.schedule import (
    DayCell,
    DayColumn,
    DayEntry,
    DayRow,
    DaySchedule,
    DayStatement,
    appointments_between,
    day_schedule,
    day_statement,
    day_version,
    local_day_bounds,
    patient_sessions_on,
    unconfirmed_appointments,
    usual_treatment_type,
)
from scheduling.selectors.series_proposals import (
    TEMPLATE_MODALITY,
    ProposedSeriesSession,
    SeriesCalendar,
    SeriesCalendarWeek,
    bookable_course_template,
    bookable_course_templates,
    propose_treatment_series,
    series_calendar,
)
from scheduling.selectors.session_day import (
    SessionDay,
    VitalsRow,
    administered_at,
    discharge_facts,
    dose_flags,
    dose_policy,
    monitoring_started_at,
    plan_awaits_cosign,
    protocol_of,
    rescreen_state,
    session_day,
    spravato_schedule_facts,
    start_facts,
)
from scheduling.selectors.slots import (
    SLOT_STEP_MINUTES,
    AvailabilityInputs,
    SlotOption,
    available_slots,
    free_option_at,
    load_availability_inputs,
    next_available_slot,
    treatment_shape,
)
from scheduling.selectors.waitlist import WaitlistMatch, waitlist_for_gap, waitlist_matches
from scheduling.selectors.week import WeekGrid, week_grid, week_version

__all__ = [
    "clinician_day",
    "clinician_day_facts",
    "waitlist_for_gap",
    "PatientOverview",
    "patient_overview",
    "WeekGrid",
    "week_grid",
    "week_version",
    "MOVE_CHOICES_APART",
    "MOVE_WINDOW_DAYS",
    "WEEKDAY_NAMES",
    "MoveAlternatives",
    "move_alternatives",
    "preferred_weekdays",
    "sessions_in_the_way",
    "COVER_MAX_DAYS",
    "REMS_FORM_DAYS",
    "SLOT_STEP_MINUTES",
    "TEMPLATE_MODALITY",
    "bookable_course_template",
    "bookable_course_templates",
    "AvailabilityInputs",
    "BookingFacts",
    "CoverRow",
    "DayCell",
    "DayColumn",
    "DayEntry",
    "DayRow",
    "DaySchedule",
    "DayStatement",
    "DueForm",
    "ProposedSeriesSession",
    "RemsFormPage",
    "SessionDay",
    "SlotOption",
    "VitalsRow",
    "WaitlistMatch",
    "appointment_for_user",
    "appointments_between",
    "available_slots",
    "booking_facts",
    "concomitant_medicines",
    "cover_plan",
    "database_knows_time_zone",
    "day_schedule",
    "day_statement",
    "day_version",
    "patient_sessions_on",
    "usual_treatment_type",
    "administered_at",
    "discharge_facts",
    "dose_flags",
    "dose_policy",
    "monitoring_started_at",
    "plan_awaits_cosign",
    "protocol_of",
    "spravato_schedule_facts",
    "dosing_clash",
    "export_section",
    "failed_reminders",
    "first_active_location",
    "form_values",
    "free_option_at",
    "load_availability_inputs",
    "FreeCalendar",
    "free_calendar",
    "treatment_type_by_code",
    "local_day_bounds",
    "nearest_alternatives",
    "next_available_slot",
    "overlapping_active_allocations",
    "patient_appointments",
    "patient_for_booking",
    "phone_to_call",
    "picker_locations",
    "propose_treatment_series",
    "series_calendar",
    "SeriesCalendar",
    "SeriesCalendarWeek",
    "reminder_for_link",
    "rems_form_due_at",
    "rems_form_page",
    "rems_form_prefill",
    "rems_forms_due",
    "requests_export_section",
    "rescreen_state",
    "search_patients",
    "ConsentHold",
    "consent_holds",
    "sessions_needing_consent",
    "session_day",
    "sessions_held_at_location_on",
    "sessions_held_by_clinician",
    "sessions_outside_opening_hours",
    "sessions_outside_working_hours",
    "upcoming_sessions_at_location",
    "upcoming_sessions_of_clinician",
    "upcoming_sessions_of_clinician_at",
    "upcoming_sessions_of_treatment",
    "upcoming_sessions_on_resource",
    "start_facts",
    "treatment_shape",
    "unconfirmed_appointments",
    "upcoming_appointments_for_patient",
    "waitlist_matches",
]
