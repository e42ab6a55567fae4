from django.urls import path

from intake import views
from intake.consent import views as consent_views

app_name = "intake"

urlpatterns = [
    path("patient/intake/", views.intake_start, name="start"),
    path("patient/intake/<id:pk>/review/", views.intake_review, name="review"),
    path("patient/intake/<id:pk>/<slug:step>/", views.intake_step, name="step"),
    path("patient/submissions/<id:pk>/", views.intake_submitted, name="submitted"),
    path("patient/rescreen/", views.rescreen, name="rescreen"),
    path("patient/my-data/", views.my_data, name="my_data"),
    path("patient/my-data.<str:fmt>", views.my_data_download, name="my_data_download"),
    # Clinic settings: the consent documents (clinic admin).
    path("clinic-settings/consent/", consent_views.documents, name="consent_documents"),
    path("clinic-settings/consent/<slug:kind>/", consent_views.edit, name="consent_edit"),
    path("clinic-settings/consent/<slug:kind>/publish/", consent_views.publish, name="consent_publish"),
    path("clinic-settings/consent/<slug:kind>/discard/", consent_views.discard, name="consent_discard"),
    # Public pages: rate-limited per address by name (settings.RATE_LIMITED_VIEWS).
    path("invite/<str:token>/", views.accept_invitation, name="accept_invitation"),
    path("register/", views.register, name="register"),
]
