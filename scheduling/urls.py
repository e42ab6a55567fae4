from django.urls import path

from scheduling import reminder_urls
from scheduling.views import (
    appointments,
    availability,
    booking,
    cover,
    patients,
    rems,
    schedule,
    session_day,
    waitlist,
)

app_name = "scheduling"

urlpatterns = [
    path("", schedule.today, name="today"),
    path("day/", schedule.day_view, name="day"),
    path("week/", schedule.week_view, name="week"),
    path("availability.json", availability.free_starts, name="availability_json"),
    path("unconfirmed/", schedule.unconfirmed, name="unconfirmed"),
    path("cover/", cover.cover, name="cover"),
    path("patients/", patients.patient_search, name="patient_search"),
    path("patients/invite/", patients.invite_patient, name="invite_patient"),
    path("patients/<id:patient_id>/", patients.patient_detail, name="patient_detail"),
    path("patients/<id:patient_id>/book/", booking.book, name="book"),
    path("patients/<id:patient_id>/series/", booking.book_series, name="book_series"),
    path("patients/<id:patient_id>/rems/", patients.record_rems, name="record_rems"),
    path("appointments/<id:pk>/", appointments.appointment_detail, name="appointment_detail"),
    path("appointments/<id:pk>/status/", appointments.transition, name="transition"),
    path("appointments/<id:pk>/reschedule/", appointments.reschedule, name="reschedule"),
    path("appointments/<id:pk>/cancel/", appointments.cancel, name="cancel"),
    path("appointments/<id:pk>/no-show/", appointments.no_show, name="no_show"),
    path("appointments/<id:pk>/calendar.ics", appointments.appointment_ics, name="appointment_ics"),
    path("appointments/<id:pk>/session/", session_day.session_day, name="session_day"),
    path("appointments/<id:pk>/session/checklist/", session_day.session_checklist, name="session_checklist"),
    path("appointments/<id:pk>/session/vitals/", session_day.session_vitals, name="session_vitals"),
    path("appointments/<id:pk>/session/override/", session_day.session_override, name="session_override"),
    path("appointments/<id:pk>/session/dose/", session_day.session_dose, name="session_dose"),
    path("appointments/<id:pk>/session/scores/", session_day.session_scores, name="session_scores"),
    path("appointments/<id:pk>/session/discharge/", session_day.session_discharge, name="session_discharge"),
    path("appointments/<id:pk>/session/summary/", session_day.session_summary, name="session_summary"),
    path("appointments/<id:pk>/rems-form/", rems.rems_monitoring_form, name="rems_form"),
    path("appointments/<id:pk>/rems-form/sent/", rems.rems_form_submitted, name="rems_form_submitted"),
    path("appointments/<id:pk>/rems-form.pdf", rems.rems_form_pdf, name="rems_form_pdf"),
    path("rems/forms-due/", rems.rems_forms_due, name="rems_forms_due"),
    path("waitlist/", waitlist.waitlist, name="waitlist"),
    path("waitlist/<id:pk>/", waitlist.waitlist_action, name="waitlist_action"),
    path("patients/<id:patient_id>/waitlist/", waitlist.waitlist_add, name="waitlist_add"),
    *reminder_urls.front_desk_urlpatterns,
]
