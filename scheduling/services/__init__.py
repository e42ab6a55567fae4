"""Every change scheduling makes: one function per action, keyword-only arguments, one transaction each.

Views, admin actions, commands and tasks all come through here. The rules that protect patients and chairs are
checked here with friendly messages, but the guarantee against double-booking is the database's: each
appointment holds its chair or room, its clinician and its patient as Allocation rows, and the exclusion
constraints refuse an overlapping active hold (SQLSTATE 23P01), which becomes a ``BookingConflict``.

By job:

- ``holds``: the allocation rows and how a clash is decided; the calendar guards' locks.
- ``gates``: what a booking must pass, the choice of a free chair and clinician, a clash in words.
- ``booking``: book one session or a series, reschedule, hand to another clinician, cancel, no-show.
- ``session_day``: the session's states and what is recorded on the day.
- ``rems``: the patient's REMS enrollment, the REMS Patient Monitoring Form of each session.
- ``waitlist``: the waitlist, its offers and booking from it.
- ``calendar``: time off, closures, opening and working hours, refused over booked sessions.
- ``setup``: the clinic admin's set-up: locations, chairs and rooms, staff, treatment types.
- ``patient``: what a patient does online, from the portal or a reminder's link.

Refusals are ``scheduling.errors`` (re-exported here); the reminders' own service (resend) is the outbox's.
"""

from clinic.local_time import format_local
from scheduling.errors import (
    AccessError,
    BookingConflict,
    BookingRefused,
    InvalidTransition,
    LinkRefused,
    SchedulingError,
    SessionRefused,
)
from scheduling.reminders.outbox import resend_reminder
from scheduling.services.booking import (
    SeriesSessionChoice,
    book_appointment,
    book_series,
    cancel_appointment,
    late_cancel_hours,
    mark_no_show,
    reassign_clinician,
    reschedule_appointment,
)
from scheduling.services.calendar import (
    closure_refusal,
    opening_hours_refusal,
    remove_closure,
    remove_time_off,
    save_closure,
    save_time_off,
    set_opening_hours,
    set_working_hours,
    time_off_refusal,
    working_hours_refusal,
)
from scheduling.services.course_templates import MAX_SESSIONS, save_course_template
from scheduling.services.dose import (
    TELL_CLINIC_OF_DOSE_TASK,
    cosign_dose_plan,
    plan_dose,
    record_dose,
    tell_clinic_of_dose_flags,
)
from scheduling.services.gates import booking_horizon_days, last_bookable_day
from scheduling.services.holds import (
    CLOSURE_OVER_HOLDS,
    HOLD_ATTEMPTS,
    HOLD_LOCK_TIMEOUT,
    HOLD_QUEUE_SQL,
    HOLD_ROW_SQL,
    HOLDS_INSERT_SQL,
    TIME_OFF_OVER_HOLDS,
    SessionHolds,
    hold_queue_keys,
    lock_calendar,
    session_holds,
)
from scheduling.services.patient import (
    CANCEL_REASONS,
    ask_to_reschedule,
    book_by_patient,
    cancel_by_patient,
    confirm_by_patient,
    move_by_patient,
    use_reminder_link,
)
from scheduling.services.rems import (
    RemsFormIncomplete,
    mark_rems_form_submitted,
    record_rems_enrollment,
    remove_rems_enrollment,
    save_rems_monitoring_form,
)
from scheduling.services.session_day import (
    CHECK_IN_EARLIEST,
    TRANSITIONS,
    check_in,
    confirm_appointment,
    discharge,
    next_steps,
    next_steps_text,
    override_bp_hard_stop,
    record_check_in_checklist,
    record_observation_scores,
    record_vitals,
    start_recovery,
    start_session,
)
from scheduling.services.setup import (
    change_staff_role,
    invite_staff,
    resource_refusal,
    save_location,
    save_resource,
    save_treatment_type,
    set_clinician_locations,
    set_front_desk_locations,
    set_staff_active,
)
from scheduling.services.waitlist import (
    add_to_waitlist,
    book_from_waitlist,
    deliver_waitlist_offer,
    send_waitlist_offer,
    withdraw_from_waitlist,
)

__all__ = [
    "CANCEL_REASONS",
    "CHECK_IN_EARLIEST",
    "TELL_CLINIC_OF_DOSE_TASK",
    "CLOSURE_OVER_HOLDS",
    "HOLDS_INSERT_SQL",
    "HOLD_ATTEMPTS",
    "HOLD_LOCK_TIMEOUT",
    "HOLD_QUEUE_SQL",
    "HOLD_ROW_SQL",
    "TIME_OFF_OVER_HOLDS",
    "TRANSITIONS",
    "AccessError",
    "BookingConflict",
    "BookingRefused",
    "InvalidTransition",
    "LinkRefused",
    "RemsFormIncomplete",
    "SchedulingError",
    "SeriesSessionChoice",
    "SessionHolds",
    "SessionRefused",
    "add_to_waitlist",
    "ask_to_reschedule",
    "move_by_patient",
    "book_appointment",
    "book_by_patient",
    "book_from_waitlist",
    "book_series",
    "booking_horizon_days",
    "cancel_appointment",
    "cancel_by_patient",
    "check_in",
    "closure_refusal",
    "confirm_appointment",
    "confirm_by_patient",
    "deliver_waitlist_offer",
    "cosign_dose_plan",
    "discharge",
    "format_local",
    "hold_queue_keys",
    "last_bookable_day",
    "late_cancel_hours",
    "lock_calendar",
    "mark_no_show",
    "mark_rems_form_submitted",
    "next_steps",
    "next_steps_text",
    "opening_hours_refusal",
    "override_bp_hard_stop",
    "plan_dose",
    "reassign_clinician",
    "record_check_in_checklist",
    "record_dose",
    "record_observation_scores",
    "record_rems_enrollment",
    "record_vitals",
    "remove_closure",
    "remove_rems_enrollment",
    "save_rems_monitoring_form",
    "remove_time_off",
    "resend_reminder",
    "reschedule_appointment",
    "save_closure",
    "save_time_off",
    "send_waitlist_offer",
    "session_holds",
    "set_opening_hours",
    "set_working_hours",
    "start_recovery",
    "start_session",
    "tell_clinic_of_dose_flags",
    "time_off_refusal",
    "use_reminder_link",
    "withdraw_from_waitlist",
    "invite_staff",
    "resource_refusal",
    "save_location",
    "save_resource",
    "save_treatment_type",
    "save_course_template",
    "change_staff_role",
    "set_staff_active",
    "MAX_SESSIONS",
    "set_clinician_locations",
    "set_front_desk_locations",
    "working_hours_refusal",
]
