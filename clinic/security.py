"""Sign-in protection: lockout, password length by role and staff session limits (rate limits: clinic/throttle.py)."""

from __future__ import annotations

import time
from collections.abc import Callable

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, logout
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.views import redirect_to_login
from django.contrib.postgres.aggregates import ArrayAgg
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check. It needs the request to know who is asking; an authentication without one
    (a management command, the test client's login()) is not a sign-in attempt from the web and is not counted."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class ClinicModelBackend(ModelBackend):
    """Django's model backend, except that the signed-in user is read together with their role groups in one
    query: every request asks for the role (the access gates, the staff session check), and this saves it a
    round trip. ``User.role`` uses the preloaded names when they are there."""

    def get_user(self, user_id):

        user = (
            get_user_model()
            ._default_manager.annotate(
                role_groups=ArrayAgg("groups__name", filter=Q(groups__isnull=False), default=[])
            )
            .filter(pk=user_id)
            .first()
        )
        return user if user is not None and self.user_can_authenticate(user) else None


def axes_username(request: HttpRequest, credentials: dict | None) -> str:
    """Count failures per email address, whatever case it was typed in."""
    raw = (credentials or {}).get("username") or request.POST.get("username", "")
    return str(raw).strip().lower()


class RoleMinimumLengthValidator:
    """Staff hold many patients' records: their passwords must be longer than patients' (12 characters, not 10)."""

    def __init__(self, patient_min_length: int = 10, staff_min_length: int = 12) -> None:
        self.patient_min_length = patient_min_length
        self.staff_min_length = staff_min_length

    def _minimum(self, user) -> int:
        role = getattr(user, "role", None) if user is not None and getattr(user, "pk", None) else None
        is_staff = (role is not None and role.is_staff_role) or getattr(user, "is_staff", False)
        return self.staff_min_length if is_staff else self.patient_min_length

    def validate(self, password: str, user=None) -> None:
        minimum = self._minimum(user)
        if len(password) < minimum:
            raise ValidationError(
                _("This password is too short. It must contain at least %(minimum)s characters.")
                % {"minimum": minimum},
                code="password_too_short",
            )

    def get_help_text(self) -> str:
        return _(
            "Your password must contain at least %(patient)s characters (%(staff)s for clinic staff)."
        ) % {
            "patient": self.patient_min_length,
            "staff": self.staff_min_length,
        }


# --- Browser caches ----------------------------------------------------------------------------------------------


# Set on a response (by ``allow_browser_cache``) that carries no patient data and sets its own Cache-Control.
CACHEABLE_ATTR = "clinic_cacheable"


def allow_browser_cache(response: HttpResponse, cache_control: str) -> HttpResponse:
    """Let the browser keep this response as ``cache_control`` says: only for what is the same for everyone and
    never patient data (the versioned theme style sheet and logo)."""
    response["Cache-Control"] = cache_control
    setattr(response, CACHEABLE_ATTR, True)
    return response


class NoStoreMiddleware:
    """Nothing the app renders is kept by the browser: pages, calendar files, PDFs and CSVs may all carry patient
    data, and a shared or lost computer must not show them from its disk cache after sign-out. Static files are
    served before this (WhiteNoise) and keep their long cache lifetimes, and a response marked by
    ``allow_browser_cache`` keeps its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not getattr(response, CACHEABLE_ATTR, False):
            add_never_cache_headers(response)
        return response


# --- Staff sessions ---------------------------------------------------------------------------------------------

SESSION_STARTED = "staff_session_started"
SESSION_SEEN = "staff_session_seen"
# Sent by a page's own background requests (the live day view's poll): they are not a person at the desk, so they
# never keep an unattended session alive, and are signed out like any request once it has been idle too long.
PASSIVE_HEADER = "X-Clinic-Passive"


class StaffSessionMiddleware:
    """Staff sessions end after STAFF_SESSION_IDLE_MINUTES without a request and after STAFF_SESSION_MAX_HOURS in
    all. The last-seen time is written at most once a minute, so ordinary pages cost no session write; a request
    marked passive (PASSIVE_HEADER) never moves it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        role = user.role if user.is_authenticated else None
        if role is not None and role.is_staff_role:
            now = time.time()
            session = request.session
            started = session.get(SESSION_STARTED)
            seen = session.get(SESSION_SEEN, started)
            idle_limit = settings.STAFF_SESSION_IDLE_MINUTES * 60
            if started is None:
                session[SESSION_STARTED] = session[SESSION_SEEN] = now
            elif now - seen > idle_limit or now - started > settings.STAFF_SESSION_MAX_HOURS * 3600:
                why = (
                    _("were inactive for a while")
                    if now - seen > idle_limit
                    else _("reached the session time limit")
                )
                logout(request)
                messages.info(
                    request,
                    _("You were signed out because you %(why)s. Please sign in again.") % {"why": why},
                )
                return redirect_to_login(request.get_full_path())
            elif now - seen > 60 and request.headers.get(PASSIVE_HEADER) != "1":
                session[SESSION_SEEN] = now
            request.staff_idle_seconds = idle_limit  # type: ignore[attr-defined]  # read by base.html
        return self.get_response(request)


def keep_alive(request: HttpRequest) -> HttpResponse:
    """Called by the idle warning's "Stay signed in" button."""
    if request.user.is_authenticated:
        request.session[SESSION_SEEN] = time.time()
    return HttpResponse(status=204)
