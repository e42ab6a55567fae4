"""Two sets of routes. ``urlpatterns``: the patient's reminder links, included from clinic/urls.py at ``r/``
(namespace ``reminder_links``). ``front_desk_urlpatterns``: added to scheduling/urls.py under /front-desk/."""

from django.urls import path

from scheduling import reminder_views

app_name = "reminder_links"

urlpatterns = [
    # Public (no sign-in): rate-limited per address by name like the other public pages (RATE_LIMITED_VIEWS).
    path("<str:token>/", reminder_views.reminder_link, name="link"),
]

front_desk_urlpatterns = [
    path("reminders/failed/", reminder_views.failed_reminders, name="failed_reminders"),
    path("reminders/<id:pk>/resend/", reminder_views.resend_reminder, name="resend_reminder"),
]
