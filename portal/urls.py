from django.urls import path

from portal import consent, reminders, views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("reminders/", reminders.reminders, name="reminders"),
    path("consent/", consent.consents, name="consents"),
    path("consent/records/<id:pk>/", consent.record, name="consent_record"),
    path("consent/<slug:kind>/sign/", consent.sign, name="consent_sign"),
    path("consent/<slug:kind>/withdraw/", consent.withdraw, name="consent_withdraw"),
]
