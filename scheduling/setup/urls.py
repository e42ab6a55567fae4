from django.urls import path

from scheduling.setup import people, places, protocols

app_name = "setup"

urlpatterns = [
    path("", places.home, name="home"),
    path("locations/new/", places.location_edit, name="location_new"),
    path("locations/<id:pk>/", places.location_detail, name="location"),
    path("locations/<id:pk>/edit/", places.location_edit, name="location_edit"),
    path("locations/<id:pk>/hours/", places.location_hours, name="location_hours"),
    path("locations/<id:pk>/closures/", places.closure_add, name="closure_add"),
    path("locations/<id:pk>/closures/<id:closure_pk>/remove/", places.closure_remove, name="closure_remove"),
    path("locations/<id:location_pk>/chairs/new/", places.resource_edit, name="resource_new"),
    path("locations/<id:location_pk>/chairs/<id:pk>/", places.resource_edit, name="resource_edit"),
    path("staff/invite/", people.staff_invite, name="staff_invite"),
    path("staff/<id:user_pk>/", people.staff_member, name="staff_member"),
    path("staff/<id:user_pk>/active/", people.staff_active, name="staff_active"),
    path("staff/<id:user_pk>/resend/", people.staff_resend, name="staff_resend"),
    path("staff/<id:user_pk>/locations/", people.front_desk_locations, name="front_desk_locations"),
    path("clinicians/<id:pk>/", people.clinician_edit, name="clinician"),
    path("clinicians/<id:pk>/hours/", people.clinician_hours, name="clinician_hours"),
    path("clinicians/<id:pk>/time-off/", people.time_off_add, name="time_off_add"),
    path(
        "clinicians/<id:pk>/time-off/<id:time_off_pk>/remove/", people.time_off_remove, name="time_off_remove"
    ),
    path("treatments/new/", protocols.treatment_edit, name="treatment_new"),
    path("treatments/<id:pk>/", protocols.treatment_edit, name="treatment_edit"),
    path("courses/new/", protocols.course_edit, name="course_new"),
    path("courses/<id:pk>/", protocols.course_edit, name="course_edit"),
]
