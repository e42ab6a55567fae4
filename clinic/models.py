from functools import cached_property

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from clinic.roles import Role, role_of


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **fields) -> "User":
        if not email:
            raise ValueError("Every account needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "User":
        fields.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **fields)

    def get_by_natural_key(self, username: str | None) -> "User":
        # Sign-in is by email, whatever case the person types it in.
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """Everyone who signs in: patients, front desk, clinicians and clinic admins (their role is their group)."""

    email = models.EmailField(_("email address"), unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    mobile_phone = models.CharField(
        max_length=32,
        blank=True,
        help_text=_("Staff: E.164 mobile number for urgent alerts by text, e.g. +16175550100."),
    )
    is_staff = models.BooleanField(
        _("may use the Django admin"), default=False, help_text=_("Clinic admins only; set by the role.")
    )
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    # Part of every session's check: raising it signs the person out on every device at once.
    session_epoch = models.PositiveIntegerField(default=0)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        constraints = [
            models.UniqueConstraint(models.functions.Lower("email"), name="user_email_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    def _get_session_auth_hash(self, secret=None) -> str:
        # A session is bound to the password, the epoch and the role it began with: a change of any of them, made
        # anywhere (the admin, a service, a shell), ends the person's sessions, so nothing a session learned
        # under one role (such as "no second step needed") survives into another.
        key_salt = "clinic.models.User.get_session_auth_hash"
        return salted_hmac(
            key_salt, f"{self.password}:{self.session_epoch}:{self.role}", secret=secret, algorithm="sha256"
        ).hexdigest()

    @cached_property
    def role(self) -> Role | None:
        """The person's role, read once per request from their groups (the groups are the source of truth)."""
        return role_of(self)


class AuditEvent(models.Model):
    """One change to a row of patient data, written by a database trigger (clinic/audit.py), so changes made
    through the ORM, a queryset update() or raw SQL are all recorded. The database refuses to change or delete
    these rows."""

    occurred_at = models.DateTimeField()
    table_name = models.CharField(max_length=80)
    row_pk = models.CharField(max_length=40)
    action = models.CharField(max_length=6)  # INSERT, UPDATE or DELETE
    patient_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_ip = models.GenericIPAddressField(null=True, blank=True)
    context = models.CharField(max_length=120, blank=True)  # "web GET /path" or "task:name"; never PHI
    old_data = models.JSONField(null=True, blank=True)  # for UPDATE: only the columns that changed
    new_data = models.JSONField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["patient_id", "occurred_at"], name="audit_patient_time_idx")]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.action} {self.table_name} {self.row_pk} at {self.occurred_at:%Y-%m-%d %H:%M:%S}"


class RecordView(models.Model):
    """A staff member looked at a patient's record (who, when, what, from where). Append-only, like AuditEvent."""

    occurred_at = models.DateTimeField(default=timezone.now)
    user = models.ForeignKey("clinic.User", on_delete=models.PROTECT, related_name="+")
    patient_id = models.BigIntegerField(db_index=True)
    what = models.CharField(max_length=120)
    path = models.CharField(max_length=300)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["patient_id", "occurred_at"], name="recordview_patient_time_idx")]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.user_id} viewed patient {self.patient_id} ({self.what})"


class AccountEvent(models.Model):
    """A change to who a person is in the clinic or to what guards their account: a role given or taken, superuser
    status, an authenticator added, replaced or reset. Written by the services that make the change (each also
    emails whom it concerns) and append-only, like the audit trail."""

    class Change(models.TextChoices):
        ROLE_CHANGED = "role_changed", _("Role changed")
        SUPERUSER_CHANGED = "superuser_changed", _("Superuser status changed")
        AUTHENTICATOR_ADDED = "authenticator_added", _("Two-step sign-in turned on")
        AUTHENTICATOR_REPLACED = "authenticator_replaced", _("Authenticator replaced")
        SECOND_FACTOR_RESET = "second_factor_reset", _("Two-step sign-in reset by an admin")
        DEACTIVATED = "deactivated", _("Account deactivated")
        REACTIVATED = "reactivated", _("Account reactivated")

    occurred_at = models.DateTimeField(default=timezone.now)
    account = models.ForeignKey("clinic.User", on_delete=models.PROTECT, related_name="account_events")
    actor = models.ForeignKey(
        "clinic.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    change = models.CharField(max_length=32, choices=Change.choices)
    detail = models.CharField(max_length=200, blank=True)  # e.g. "Patient -> Clinician"; never PHI

    class Meta:
        indexes = [models.Index(fields=["account", "occurred_at"], name="accountevent_account_time_idx")]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.get_change_display()} for {self.account_id} at {self.occurred_at:%Y-%m-%d %H:%M:%S}"


class ClinicPolicy(models.Model):
    """A clinic policy changed in the app (clinic/policies.py lists them): it overrides the setting of the same
    name, which is the first-run default. Changes are audited with before and after (clinic/audit.py)."""

    key = models.CharField(max_length=64, unique=True)
    value = models.JSONField()
    changed_at = models.DateTimeField()
    changed_by = models.ForeignKey("User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    def __str__(self) -> str:
        return f"{self.key} = {self.value!r}"
