from functools import partial
from typing import Any

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.db import transaction
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from clinic import policies
from clinic.access import SignedInRequest
from clinic.health import run_checks
from clinic.models import User
from clinic.roles import ROLE_HOME_URLS
from clinic.security import allow_browser_cache
from clinic.tasks import send_password_reset


class EmailAuthenticationForm(AuthenticationForm):
    """Sign in with an email address, in whatever case it is typed."""

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip().lower()


class QueuedPasswordResetForm(PasswordResetForm):
    """Django's reset form, except that the request only enqueues the email. Looking the address up and sending
    happen in a task, so the request does the same work, and takes the same time, whether or not the address has
    an account: timing cannot tell which addresses are patients here."""

    def save(self, *args: Any, **kwargs: Any) -> None:  # Django's arguments (domain, templates): unused
        transaction.on_commit(partial(send_password_reset.delay, self.cleaned_data["email"]))


def home(request: HttpRequest) -> HttpResponse:
    """The front door: the public page for visitors, each role's own home for people signed in."""
    if not request.user.is_authenticated:
        return render(request, "clinic/landing.html")
    role = request.user.role
    if role is None:
        return render(request, "clinic/no_role.html", status=403)
    return redirect(ROLE_HOME_URLS[role])


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    healthy, results = run_checks()
    return JsonResponse({"status": "ok" if healthy else "down", **results}, status=200 if healthy else 503)


@login_required
@require_POST
def sign_out_everywhere(request: SignedInRequest) -> HttpResponse:
    """End every session of this person, on every device, this one included."""
    User.objects.filter(pk=request.user.pk).update(session_epoch=F("session_epoch") + 1)
    logout(request)
    messages.success(request, _("You have been signed out on every device."))
    return redirect("login")


# Addressed by the theme's version (policies.theme_version): a new color or logo is a new address, so the browser
# may keep each one for a year. An old address still answers, with what is in force now.
THEME_CACHE = "public, max-age=31536000, immutable"


@require_GET
def theme_css(request: HttpRequest, version: str) -> HttpResponse:
    """The clinic's brand color as the style sheet's variables (static/css/clinic.css reads them)."""
    color = policies.value("CLINIC_COLOR")
    dark = policies.darker(color)
    rgb = ", ".join(str(int(color[i : i + 2], 16)) for i in (1, 3, 5))
    dark_rgb = ", ".join(str(int(dark[i : i + 2], 16)) for i in (1, 3, 5))
    body = (
        f":root {{ --clinic-teal: {color}; --clinic-teal-dark: {dark}; --bs-primary-rgb: {rgb};"
        f" --bs-link-color-rgb: {dark_rgb}; }}\n"
    )
    response = HttpResponse(body, content_type="text/css; charset=utf-8")
    allow_browser_cache(response, THEME_CACHE)
    return response


@require_GET
def clinic_logo(request: HttpRequest, version: str) -> HttpResponse:
    logo = policies.logo_file(policies.value("CLINIC_LOGO"))
    if logo is None:
        raise Http404("No logo.")
    response = HttpResponse(logo[1], content_type=logo[0])
    allow_browser_cache(response, THEME_CACHE)
    response["X-Content-Type-Options"] = "nosniff"
    return response
