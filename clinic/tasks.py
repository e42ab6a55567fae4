from urllib.parse import urlsplit

from celery import shared_task
from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext as _

from clinic import policies
from clinic.models import AccountEvent, User
from clinic.roles import Role, emails_of_role


@shared_task(ignore_result=False)
def ping(token: str) -> str:
    """Echo a token: the smallest proof that a real worker took a task from Redis and ran it."""
    return f"pong:{token}"


# What the person is told for each change; the clinic admins are told of these too.
ACCOUNT_CHANGE_SENTENCES = {
    "authenticator_added": gettext_noop(
        "Two-step sign-in was turned on for your account, and new recovery codes were issued."
    ),
    "authenticator_replaced": gettext_noop(
        "The authenticator app for your account was replaced, and new recovery codes were issued. Your other "
        "devices were signed out."
    ),
    "second_factor_reset": gettext_noop(
        "A clinic admin reset the two-step sign-in of your account, and you were signed out everywhere. You will "
        "set up an authenticator again when you next sign in."
    ),
    "role_changed": gettext_noop(
        "Your role at the clinic was changed (%(detail)s), and you were signed out everywhere."
    ),
    "superuser_changed": gettext_noop(
        "Superuser status was %(detail)s for your account, and you were signed out everywhere."
    ),
    "deactivated": gettext_noop(
        "Your account at the clinic was deactivated, and you were signed out everywhere."
    ),
    "reactivated": gettext_noop("Your account at the clinic was reactivated: you can sign in again."),
}
TOLD_TO_ADMINS = {"second_factor_reset", "role_changed", "superuser_changed", "deactivated", "reactivated"}


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, retry_backoff_max=600, max_retries=8)
def send_account_notice(self, event_id: int) -> None:
    """Tell the person whose account changed, and for role, superuser and reset changes the clinic admins too
    (who changed what for whom; staff details only, never patient data)."""
    event = AccountEvent.objects.select_related("account", "actor").filter(pk=event_id).first()
    if event is None:
        return
    account = event.account
    context = {
        "name": account.get_short_name(),
        "sentence": gettext(ACCOUNT_CHANGE_SENTENCES[event.change]) % {"detail": event.detail},
        "link": settings.SITE_URL + reverse("login"),
        "clinic_name": policies.value("CLINIC_NAME"),
    }
    if account.email:
        EmailMultiAlternatives(
            subject=gettext("Security notice: your %(clinic)s account changed")
            % {"clinic": policies.value("CLINIC_NAME")},
            body=render_to_string("clinic/email/account_change.txt", context),
            to=[account.email],
        ).send()
    admins = [email for email in emails_of_role(Role.CLINIC_ADMIN) if email != account.email]
    if event.change in TOLD_TO_ADMINS and admins:
        EmailMultiAlternatives(
            subject=gettext("Account change at %(clinic)s: %(change)s")
            % {"clinic": policies.value("CLINIC_NAME"), "change": event.get_change_display()},
            body=render_to_string(
                "clinic/email/account_change_admins.txt",
                {
                    "event": event,
                    "actor": event.actor.email if event.actor else gettext("the system"),
                    "link": settings.SITE_URL + reverse("admin:clinic_accountevent_changelist"),
                    "clinic_name": policies.value("CLINIC_NAME"),
                },
            ),
            to=admins,
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
            extra_email_context={"site_name": policies.value("CLINIC_NAME")},
        )


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, retry_backoff_max=600, max_retries=8)
def send_staff_invitation(self, user_id: int) -> None:
    """Email a new staff member the link to choose their password (and then set up two-step sign-in)."""
    user = User.objects.filter(pk=user_id, is_active=True, last_login__isnull=True).first()
    if user is None:
        return
    link = settings.SITE_URL + reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    clinic_name = policies.value("CLINIC_NAME")
    EmailMultiAlternatives(
        subject=_("You are invited to %(clinic)s") % {"clinic": clinic_name},
        body=render_to_string(
            "clinic/email/staff_invitation.txt",
            {"name": user.get_short_name(), "link": link, "clinic_name": clinic_name, "role": user.role},
        ),
        to=[user.email],
    ).send()
