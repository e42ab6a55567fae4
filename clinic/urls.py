from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from clinic import mfa, policy_views, views
from clinic.security import keep_alive

admin.site.site_header = "Clinic administration"
admin.site.site_title = "Clinic administration"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("theme/<slug:version>.css", views.theme_css, name="clinic_theme"),
    path("theme/<slug:version>/logo", views.clinic_logo, name="clinic_logo"),
    # Every form here that takes a password, a code or a token is rate-limited by name (RATE_LIMITED_VIEWS).
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            authentication_form=views.EmailAuthenticationForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path(
        "accounts/password_reset/",
        auth_views.PasswordResetView.as_view(form_class=views.QueuedPasswordResetForm),
        name="password_reset",
    ),
    path("clinic-settings/", policy_views.clinic_settings, name="clinic_settings"),
    path("clinic-settings/setup/", include("scheduling.setup.urls")),
    path("accounts/sign-out-everywhere/", views.sign_out_everywhere, name="sign_out_everywhere"),
    path("accounts/keep-alive/", keep_alive, name="keep_alive"),
    path("accounts/two-step/setup/", mfa.setup, name="mfa_setup"),
    path("accounts/two-step/", mfa.verify, name="mfa_verify"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("patient/", include("portal.urls")),
    path("", include("intake.urls")),
    path("review/", include("review.urls")),
    path("front-desk/", include("scheduling.urls")),
    path("patient/appointments/", include("scheduling.patient_urls")),
    path("r/", include("scheduling.reminder_urls")),
    path("sms/", include("scheduling.sms_urls")),
    path("admin/", admin.site.urls),
]
