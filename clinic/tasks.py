from enum import StrEnum
from urllib.parse import urlsplit

from celery import shared_task
from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse


@shared_task(ignore_result=False)
def ping(token: str) -> str:
    """Echo a token: the smallest proof that a real worker took a task from Redis and ran it."""
    return f"pong:{token}"


class AccountChange(StrEnum):
    """Changes to what guards a person's account. Each is emailed to them, so a change they did not make is seen."""

    AUTHENTICATOR_ADDED = "authenticator_added"
    AUTHENTICATOR_REPLACED = "authenticator_replaced"
    SECOND_FACTOR_RESET = "second_factor_reset"

    @property
    def sentence(self) -> str:
        return ACCOUNT_CHANGE_SENTENCES[self]


ACCOUNT_CHANGE_SENTENCES = {
    AccountChange.AUTHENTICATOR_ADDED: "Two-step sign-in was turned on for your account, and new recovery codes "
    "were issued.",
    AccountChange.AUTHENTICATOR_REPLACED: "The authenticator app for your account was replaced, and new recovery "
    "codes were issued. Your other devices were signed out.",
    AccountChange.SECOND_FACTOR_RESET: "A clinic admin reset the two-step sign-in of your account, and you were "
    "signed out everywhere. You will set up an authenticator again when you next sign in.",
}


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, retry_backoff_max=600, max_retries=8)
def send_account_notice(self, user_id: int, change: str) -> None:
    """Tell a person that something guarding their account changed (no patient data, only what changed)."""
    from clinic.models import User

    user = User.objects.filter(pk=user_id).first()
    if user is None or not user.email:
        return
    what = AccountChange(change)
    context = {
        "name": user.get_short_name(),
        "sentence": what.sentence,
        "link": settings.SITE_URL + reverse("login"),
        "clinic_name": settings.CLINIC_NAME,
    }
    EmailMultiAlternatives(
        subject=f"Security notice: your {settings.CLINIC_NAME} account changed",
        body=render_to_string("clinic/email/account_change.txt", context),
        to=[user.email],
    ).send()


class _SendingPasswordResetForm(PasswordResetForm):
    """Django's reset form, used by the task to find the accounts and build the link. Its send_mail logs a failure
    and carries on; this one lets it raise, so the task retries."""

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ) -> None:
        subject = "".join(render_to_string(subject_template_name, context).splitlines())
        body = render_to_string(email_template_name, context)
        EmailMultiAlternatives(subject, body, from_email, [to_email]).send()


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, retry_backoff_max=600, max_retries=8)
def send_password_reset(self, email: str) -> None:
    """Email a reset link to each active account with this address; for an address with none, send nothing.

    It takes the address, not a user id: finding the account is the work that differs between a known and an
    unknown address, so it happens here, after the request has answered the same way for both."""
    site = urlsplit(settings.SITE_URL)
    form = _SendingPasswordResetForm({"email": email})
    if form.is_valid():
        form.save(
            domain_override=site.netloc,
            use_https=site.scheme == "https",
            extra_email_context={"site_name": settings.CLINIC_NAME},
        )
