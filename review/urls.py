"""Clinician review pages, mounted at /review/ (namespace "review"). No URL carries clinical detail: ids only."""

from django.urls import path

from review import views as review_views

app_name = "review"

urlpatterns = [
    path("", review_views.queue, name="queue"),
    path("alerts/", review_views.alerts, name="alerts"),
    path("alerts/<id:pk>/", review_views.alert, name="alert"),
    path("patients/<id:pk>/", review_views.patient, name="patient"),
    path("patients/<id:pk>/submissions/<id:submission_pk>/", review_views.patient, name="submission"),
    path("patients/<id:pk>/decision/", review_views.decide, name="decide"),
    path("patients/<id:pk>/trends/", review_views.patient_trends, name="trends"),
    path("patients/<id:pk>/ratings/new/", review_views.add_rating, name="add_rating"),
    path("emergency-access/", review_views.break_glass, name="break_glass"),
]
