from django.urls import path

from scheduling.views import patient as patient_views

app_name = "my_appointments"

urlpatterns = [
    path("book/", patient_views.book, name="book"),
    path("<id:pk>/move/", patient_views.move, name="move"),
    path("<id:pk>/<slug:action>/", patient_views.appointment_action, name="action"),
]
