"""Clinician review pages, mounted at /review/ (namespace "review"). No URL carries clinical detail: ids only."""

from django.urls import path

from review.views import alerts, patient, queue, trends

app_name = "review"

urlpatterns = [
    path("", queue.queue, name="queue"),
    path("alerts/", alerts.alerts, name="alerts"),
    path("alerts/<id:pk>/", alerts.alert, name="alert"),
    path("patients/<id:pk>/", patient.patient, name="patient"),
    path("patients/<id:pk>/submissions/<id:submission_pk>/", patient.patient, name="submission"),
    path("patients/<id:pk>/decision/", patient.decide, name="decide"),
    path("patients/<id:pk>/trends/", trends.patient_trends, name="trends"),
    path("patients/<id:pk>/ratings/new/", trends.add_rating, name="add_rating"),
    path("emergency-access/", alerts.break_glass, name="break_glass"),
]
