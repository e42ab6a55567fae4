from django.urls import path

from scheduling import reminder_urls, views

app_name = "scheduling"

urlpatterns = [
    path("", views.today, name="today"),
    path("day/", views.day_view, name="day"),
    path("week/", views.week_view, name="week"),
    path("unconfirmed/", views.unconfirmed, name="unconfirmed"),
    path("cover/", views.cover, name="cover"),
    path("patients/", views.patient_search, name="patient_search"),
    path("patients/<id:patient_id>/", views.patient_detail, name="patient_detail"),
    path("patients/<id:patient_id>/book/", views.book, name="book"),
    path("patients/<id:patient_id>/series/", views.book_series, name="book_series"),
    path("patients/<id:patient_id>/rems/", views.record_rems, name="record_rems"),
    path("appointments/<id:pk>/", views.appointment_detail, name="appointment_detail"),
    path("appointments/<id:pk>/status/", views.transition, name="transition"),
    path("appointments/<id:pk>/reschedule/", views.reschedule, name="reschedule"),
    path("appointments/<id:pk>/cancel/", views.cancel, name="cancel"),
    path("appointments/<id:pk>/no-show/", views.no_show, name="no_show"),
    path("appointments/<id:pk>/calendar.ics", views.appointment_ics, name="appointment_ics"),
    path("appointments/<id:pk>/session/", views.session_day, name="session_day"),
    path("appointments/<id:pk>/session/checklist/", views.session_checklist, name="session_checklist"),
    path("appointments/<id:pk>/session/vitals/", views.session_vitals, name="session_vitals"),
    path("appointments/<id:pk>/session/override/", views.session_override, name="session_override"),
    path("appointments/<id:pk>/session/dose/", views.session_dose, name="session_dose"),
    path("appointments/<id:pk>/session/scores/", views.session_scores, name="session_scores"),
    path("appointments/<id:pk>/session/discharge/", views.session_discharge, name="session_discharge"),
    path("appointments/<id:pk>/session/summary/", views.session_summary, name="session_summary"),
    path("appointments/<id:pk>/rems-form/", views.rems_form_submitted, name="rems_form_submitted"),
    path("rems/forms-due/", views.rems_forms_due, name="rems_forms_due"),
    path("waitlist/", views.waitlist, name="waitlist"),
    path("waitlist/<id:pk>/", views.waitlist_action, name="waitlist_action"),
    path("patients/<id:patient_id>/waitlist/", views.waitlist_add, name="waitlist_add"),
    *reminder_urls.front_desk_urlpatterns,
]
