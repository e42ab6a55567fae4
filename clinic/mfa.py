"""Two-step sign-in (TOTP, django-otp) with recovery codes: required for staff, a choice for patients.

After the password, a staff member without a confirmed authenticator sets one up (QR code or key, then a code from
the app); with one, they type its current code or a recovery code. Until then every page but these redirects here.
The session remembers the verified device (django_otp.login); removing a person's devices also raises their session
epoch, which ends every session they have, so no per-request device query is needed.

A password alone never changes what guards the account: once a person has a confirmed authenticator, setting up
another needs a session that passed the second step and the password typed again, and a lost phone is reset only by
a clinic admin. Every change to a person's authenticator or recovery codes is emailed to them.
"""

from __future__ import annotations

import io
from base64 import b32encode
from collections.abc import Callable

import qrcode
import qrcode.image.svg
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods
from django_otp import DEVICE_ID_SESSION_KEY, match_token
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from clinic.access import SignedInRequest
from clinic.accounts import confirm_authenticator
from clinic.parsing import next_path

# Pages a signed-in person may reach before the second step (URL names). Nothing here may change the account:
# a session that has only the password must not be able to lock the owner out.
OPEN_URL_NAMES = {"mfa_setup", "mfa_verify", "logout", "keep_alive", "healthz", "clinic_theme", "clinic_logo"}


NOT_NEEDED = "mfa_not_needed"
# The key of the authenticator being set up, kept in the session until a code confirms it, so that opening the
# setup page writes nothing.
PENDING_KEY = "mfa_pending_key"


class SecondFactorMiddleware:
    """Staff, and patients who turned it on, must pass the second step before any other page. For a patient
    without an authenticator the answer is remembered in the session, so their pages cost no extra query."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        session = request.session
        if user.is_authenticated and not session.get(DEVICE_ID_SESSION_KEY):
            # The role is read with the user (no query). The "not needed" mark is trusted only while the person
            # holds no staff role, so a role given mid-session cannot inherit a patient's answer.
            staff = user.role is not None and user.role.is_staff_role and settings.STAFF_MFA_REQUIRED
            path = request.path_info
            if (staff or not session.get(NOT_NEEDED)) and (
                _resolve(path) not in OPEN_URL_NAMES and not path.startswith(settings.STATIC_URL)
            ):
                has_device = has_confirmed_device(user)
                if staff or has_device:
                    target = "mfa_verify" if has_device else "mfa_setup"
                    return redirect(f"{reverse(target)}?next={request.get_full_path()}")
                session[NOT_NEEDED] = True
        return self.get_response(request)


def has_confirmed_device(user) -> bool:
    # Recovery codes are only ever issued with an authenticator, so the authenticator alone answers.
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def is_verified(request: HttpRequest) -> bool:
    """This session passed the second step (django_otp.login remembered the device)."""
    return bool(request.session.get(DEVICE_ID_SESSION_KEY))


def _resolve(path: str) -> str | None:

    try:
        return resolve(path).url_name
    except Resolver404:
        return None


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code from your app"),
        max_length=20,
        help_text=_("The 6-digit code your authenticator app shows now, or one of your recovery codes."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "class": "form-control"}
        ),
    )

    def clean_code(self) -> str:
        return self.cleaned_data["code"].replace(" ", "").strip()


def _next_url(request: HttpRequest) -> str:
    return next_path(request, reverse("home"))


def _qr_svg(url: str) -> str:

    buffer = io.BytesIO()
    qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage).save(buffer)
    svg = buffer.getvalue().decode()
    return svg[svg.index("<svg") :]


class ReplaceForm(CodeForm):
    """Replacing an authenticator: the password again, then a code from the new app."""

    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "class": "form-control"}),
        help_text=_("Type your password again to replace the authenticator that protects your account."),
    )
    field_order = ["password", "code"]

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("That password is not right."))
        return password


@login_required
@require_http_methods(["GET", "POST"])
def setup(request: SignedInRequest) -> HttpResponse:
    """Add an authenticator: scan the QR code (or type the key), then confirm with a code it shows."""
    user = request.user
    replacing = has_confirmed_device(user)
    if replacing and not is_verified(request):
        # Someone who knows only the password must not swap in their own authenticator.
        messages.info(
            request,
            _(
                "Enter a code from your current authenticator first. "
                "If you lost it, ask a clinic admin to reset your two-step sign-in."
            ),
        )
        return redirect(f"{reverse('mfa_verify')}?next={reverse('mfa_setup')}")
    key = request.session.get(PENDING_KEY)
    if not key:
        key = request.session[PENDING_KEY] = random_hex(20)
    device = TOTPDevice(user=user, name="Authenticator app", key=key, confirmed=False)
    form = ReplaceForm(request.POST or None, user=user) if replacing else CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # Saved on the first code typed, so django-otp's throttle counts wrong codes from then on.
        device = TOTPDevice.objects.filter(user=user, key=key, confirmed=False).first() or device
        if device.pk is None:
            device.save()
        if device.verify_token(form.cleaned_data["code"]):
            codes = confirm_authenticator(user=user, device=device)
            request.session.pop(PENDING_KEY, None)
            if replacing:
                # Other sessions passed the second step with the old authenticator: they end; this one stays.
                user.refresh_from_db(fields=["session_epoch"])
                update_session_auth_hash(request, user)
            otp_login(request, device)
            request.session.pop(NOT_NEEDED, None)
            return render(
                request, "registration/mfa_recovery_codes.html", {"codes": codes, "next": _next_url(request)}
            )
        form.add_error(
            "code", _("That code did not match. Check the time on your phone and try the newest code.")
        )
    return render(
        request,
        "registration/mfa_setup.html",
        {
            "form": form,
            "replacing": replacing,
            "qr_svg": _qr_svg(device.config_url),
            "key": b32encode(device.bin_key).decode(),
            "next": _next_url(request),
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    if not has_confirmed_device(request.user):
        return redirect(f"{reverse('mfa_setup')}?next={_next_url(request)}")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(request.user, form.cleaned_data["code"].replace("-", ""))
        if device is not None:
            otp_login(request, device)
            if isinstance(device, StaticDevice):
                left = StaticToken.objects.filter(device=device).count()
                messages.warning(
                    request,
                    _("You used a recovery code; %(left)s are left. Set up your app again if you lost it.")
                    % {"left": left},
                )
            return redirect(_next_url(request))
        form.add_error(
            "code", _("That code did not work. Try the newest code from your app, or a recovery code.")
        )
    return render(
        request,
        "registration/mfa_verify.html",
        {"form": form, "next": _next_url(request)},
        status=400 if form.errors else 200,
    )
