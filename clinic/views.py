from functools import partial
from typing import Any

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from clinic.access import SignedInRequest
from clinic.health import run_checks
from clinic.models import User
from clinic.roles import ROLE_HOME_URLS
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
