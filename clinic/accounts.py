"""Changes to who a person is in the clinic and to what guards their account: one write path for each.

Every change writes an append-only AccountEvent and is emailed (on commit, from a task) to the person it concerns
and, for roles, superuser status and resets, to the clinic admins, so a change nobody meant is seen quickly.
Nobody changes their own role or superuser status, and only a superuser grants or removes superuser status: a
clinic admin who could make themselves a clinician could read every patient's answers.
"""

from __future__ import annotations

import secrets

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils.translation import gettext
from django.utils.translation import gettext as _
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.models import AccountEvent, User
from clinic.roles import Role, assign_role, remove_role
from clinic.tasks import send_account_notice, send_staff_invitation

RECOVERY_CODES = 10


class AccountChangeRefused(Exception):
    """The change is not allowed for this actor; the message says why, in words for the person who tried."""


def _refuse_self(actor: User | None, user: User, what: str) -> None:
    if actor is not None and actor.pk == user.pk:
        raise AccountChangeRefused(
            gettext("You cannot change your own %(what)s: ask another clinic admin.") % {"what": what}
        )


@transaction.atomic
def record_account_event(*, account: User, actor: User | None, change: str, detail: str = "") -> AccountEvent:
    event = AccountEvent.objects.create(account=account, actor=actor, change=change, detail=detail[:200])
    transaction.on_commit(lambda: send_account_notice.delay(event.pk))
    return event


# The advisory lock every change that could leave the clinic without an active clinic admin takes before it looks,
# so two admins demoting or deactivating each other at once run one after the other. Scheduling's locks use kinds
# 1-5 in the top byte; this is kind 6, with nothing below.
CLINIC_ADMINS_LOCK_KEY = 6 << 56


def _refuse_last_clinic_admin(user: User) -> None:
    """The clinic keeps at least one active clinic admin: without one, nobody but a superuser could set it up.
    Call inside the transaction that makes the change: the lock is held until it ends."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CLINIC_ADMINS_LOCK_KEY])
    admins = User.objects.filter(is_active=True, groups__name=Role.CLINIC_ADMIN.group_name)
    # Read after the lock: a change committed while this one waited is seen.
    if admins.filter(pk=user.pk).exists() and not admins.exclude(pk=user.pk).exists():
        raise AccountChangeRefused(_("%(name)s is the last clinic admin: make someone else clinic admin first.")
                                   % {"name": user.get_short_name()})  # fmt: skip


@transaction.atomic
def change_role(*, actor: User, user: User, role: Role | None) -> bool:
    """Give ``user`` exactly ``role`` (or none); True when it changed. Changing a role ends the person's sessions
    (the session hash includes the role)."""
    _refuse_self(actor, user, "role")
    before = user.role
    if before == role:
        return False
    if role is not Role.CLINIC_ADMIN:
        _refuse_last_clinic_admin(user)
    if role is None:
        remove_role(user=user)
    else:
        assign_role(user=user, role=role)
    detail = f"{before.group_name if before else 'No role'} -> {role.group_name if role else 'No role'}"
    record_account_event(account=user, actor=actor, change=AccountEvent.Change.ROLE_CHANGED, detail=detail)
    return True


@transaction.atomic
def set_active(*, actor: User, user: User, is_active: bool) -> bool:
    """Deactivate an account (the person cannot sign in, and is signed out everywhere) or reactivate it; True when
    it changed. Nobody deactivates themselves, nor the last active clinic admin. Accounts are never deleted, so the
    audit trail keeps who did what."""
    if user.is_active == is_active:
        return False
    if user.is_superuser and not actor.is_superuser:
        raise AccountChangeRefused(_("Only a superuser can change a superuser's account."))
    if not is_active:
        if actor.pk == user.pk:
            raise AccountChangeRefused(_("You cannot deactivate your own account: ask another clinic admin."))
        _refuse_last_clinic_admin(user)
    User.objects.filter(pk=user.pk).update(is_active=is_active, session_epoch=F("session_epoch") + 1)
    user.is_active = is_active
    change = AccountEvent.Change.REACTIVATED if is_active else AccountEvent.Change.DEACTIVATED
    record_account_event(account=user, actor=actor, change=change)
    return True


@transaction.atomic
def set_superuser(*, actor: User, user: User, is_superuser: bool) -> bool:
    """Grant or remove superuser status; only a superuser may, and never to themselves."""
    if user.is_superuser == is_superuser:
        return False
    if not actor.is_superuser:
        raise AccountChangeRefused(gettext("Only a superuser can grant or remove superuser status."))
    _refuse_self(actor, user, "superuser status")
    User.objects.filter(pk=user.pk).update(is_superuser=is_superuser, session_epoch=F("session_epoch") + 1)
    user.is_superuser = is_superuser
    record_account_event(
        account=user,
        actor=actor,
        change=AccountEvent.Change.SUPERUSER_CHANGED,
        detail="granted" if is_superuser else "removed",
    )
    return True


@transaction.atomic
def confirm_authenticator(*, user: User, device: TOTPDevice) -> list[str]:
    """Confirm a new authenticator, retire older ones and issue fresh recovery codes (shown once). Replacing an
    authenticator ends the person's other sessions."""
    replaced = TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()[0] > 0
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    StaticDevice.objects.filter(user=user).delete()
    static = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    codes = [f"{secrets.token_hex(2)}-{secrets.token_hex(2)}" for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=static, token=code.replace("-", "")) for code in codes)
    if replaced:
        User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
    change = (
        AccountEvent.Change.AUTHENTICATOR_REPLACED if replaced else AccountEvent.Change.AUTHENTICATOR_ADDED
    )
    record_account_event(account=user, actor=user, change=change)
    return codes


@transaction.atomic
def reset_second_factor(*, actor: User | None, user: User) -> None:
    """For a person who lost their phone: remove their devices and end their sessions. Done by another clinic
    admin (never by the person: a password alone must not be enough to remove the second step)."""
    _refuse_self(actor, user, "two-step sign-in")
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
    record_account_event(account=user, actor=actor, change=AccountEvent.Change.SECOND_FACTOR_RESET)


def sign_out_everywhere(*, users) -> None:
    """End every session of these people, on every device (a queryset or a list of users)."""
    User.objects.filter(pk__in=[user.pk for user in users]).update(session_epoch=F("session_epoch") + 1)


@transaction.atomic
def invite_staff_member(*, actor: User, email: str, full_name: str, role: Role) -> User:
    """Create a staff account with ``role`` and email the person a link to choose their password (Django's
    password-reset token, so it works once and expires with PASSWORD_RESET_TIMEOUT). Nobody knows the password set
    here: it only makes the account one the reset link may serve."""
    if not role.is_staff_role:
        raise AccountChangeRefused(_("Patients are invited from their record, not as staff."))
    email = email.strip().lower()
    taken = _("Someone already has an account with this email address.")
    if _email_taken(email):
        raise AccountChangeRefused(taken)
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email=email, password=secrets.token_urlsafe(32), full_name=full_name.strip()
            )
    except IntegrityError:  # taken since the check, by another request
        raise AccountChangeRefused(taken) from None
    assign_role(user=user, role=role)
    transaction.on_commit(lambda: send_staff_invitation.delay(user.pk))
    return user


def _email_taken(email: str) -> bool:
    return User.objects.filter(email__iexact=email).exists()


def resend_staff_invitation(*, user: User) -> None:
    """Email the set-your-password link again (the earlier one may have expired)."""
    if user.last_login is not None:
        raise AccountChangeRefused(_("This person has already signed in: they can reset their own password."))
    transaction.on_commit(lambda: send_staff_invitation.delay(user.pk))
