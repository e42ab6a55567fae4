from django.urls import path

from portal import reminders, views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("reminders/", reminders.reminders, name="reminders"),
]
