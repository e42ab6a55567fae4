"""Two-step sign-in (TOTP, django-otp) with recovery codes: required for staff, a choice for patients.

After the password, a staff member without a confirmed authenticator sets one up (QR code or key, then a code from
the app); with one, they type its current code or a recovery code. Until then every page but these redirects here.
The session remembers the verified device (django_otp.login); removing a person's devices also raises their session
epoch, which ends every session they have, so no per-request device query is needed.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods
from django_otp import DEVICE_ID_SESSION_KEY, devices_for_user, match_token
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.security import rate_limited

RECOVERY_CODES = 10
# Pages a signed-in person may reach before the second step (URL names).
OPEN_URL_NAMES = {"mfa_setup", "mfa_verify", "logout", "keep_alive", "healthz", "password_change"}


NOT_NEEDED = "mfa_not_needed"


class SecondFactorMiddleware:
    """Staff, and patients who turned it on, must pass the second step before any other page. For a patient
    without an authenticator the answer is remembered in the session, so their pages cost no extra query."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        session = request.session
        if user.is_authenticated and not session.get(DEVICE_ID_SESSION_KEY) and not session.get(NOT_NEEDED):
            path = request.path_info
            if _resolve(path) not in OPEN_URL_NAMES and not path.startswith(settings.STATIC_URL):
                has_device = user.totpdevice_set.filter(confirmed=True).exists()
                staff = user.role is not None and user.role.is_staff_role and settings.STAFF_MFA_REQUIRED
                if staff or has_device:
                    target = "mfa_verify" if has_device else "mfa_setup"
                    return redirect(f"{reverse(target)}?next={request.get_full_path()}")
                session[NOT_NEEDED] = True
        return self.get_response(request)


def _resolve(path: str) -> str | None:
    from django.urls import Resolver404, resolve

    try:
        return resolve(path).url_name
    except Resolver404:
        return None


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code from your app",
        max_length=20,
        help_text="The 6-digit code your authenticator app shows now, or one of your recovery codes.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "class": "form-control"}
        ),
    )

    def clean_code(self) -> str:
        return self.cleaned_data["code"].replace(" ", "").strip()


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("home")


def _qr_svg(url: str) -> str:
    import qrcode
    import qrcode.image.svg

    buffer = io.BytesIO()
    qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage).save(buffer)
    svg = buffer.getvalue().decode()
    return svg[svg.index("<svg") :]


@login_required
@rate_limited("mfa", methods=("POST",))
@require_http_methods(["GET", "POST"])
def setup(request: HttpRequest) -> HttpResponse:
    """Add an authenticator: scan the QR code (or type the key), then confirm with a code it shows."""
    user = request.user
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["code"]):
            codes = _confirm(user, device)
            otp_login(request, device)
            request.session.pop(NOT_NEEDED, None)
            return render(
                request, "registration/mfa_recovery_codes.html", {"codes": codes, "next": _next_url(request)}
            )
        form.add_error(
            "code", "That code did not match. Check the time on your phone and try the newest code."
        )
    from base64 import b32encode

    return render(
        request,
        "registration/mfa_setup.html",
        {
            "form": form,
            "qr_svg": _qr_svg(device.config_url),
            "key": b32encode(device.bin_key).decode(),
            "next": _next_url(request),
        },
        status=400 if form.errors else 200,
    )


@transaction.atomic
def _confirm(user, device: TOTPDevice) -> list[str]:
    """Confirm the new authenticator, retire older ones, and issue fresh recovery codes (shown once)."""
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    StaticDevice.objects.filter(user=user).delete()
    static = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    codes = [f"{secrets.token_hex(2)}-{secrets.token_hex(2)}" for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=static, token=code.replace("-", "")) for code in codes)
    return codes


@login_required
@rate_limited("mfa", methods=("POST",))
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    if not any(True for _ in devices_for_user(request.user, confirmed=True)):
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
                    f"You used a recovery code; {left} are left. Set up your app again if you lost it.",
                )
            return redirect(_next_url(request))
        form.add_error(
            "code", "That code did not work. Try the newest code from your app, or a recovery code."
        )
    return render(
        request,
        "registration/mfa_verify.html",
        {"form": form, "next": _next_url(request)},
        status=400 if form.errors else 200,
    )


@transaction.atomic
def reset_second_factor(*, user) -> None:
    """For a person who lost their phone (clinic admin action): remove their devices and end their sessions."""
    from clinic.models import User

    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
