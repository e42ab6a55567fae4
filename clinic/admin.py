import csv
import json
from operator import attrgetter

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm as BaseUserChangeForm
from django.contrib.auth.forms import UserCreationForm as BaseUserCreationForm
from django.db import transaction
from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _

from clinic.accounts import (
    AccountChangeRefused,
    change_role,
    reset_second_factor,
    set_superuser,
    sign_out_everywhere,
)
from clinic.audit import record_patient_view
from clinic.models import AccountEvent, AuditEvent, RecordView, User
from clinic.roles import Role


class UserChangeForm(BaseUserChangeForm):
    """The person's role is one choice, saved through clinic.accounts.change_role (audited, emailed), never by
    editing their groups directly."""

    role = forms.TypedChoiceField(
        choices=[("", _("No role"))] + [(role.value, role.group_name) for role in Role],
        coerce=Role,
        empty_value=None,
        required=False,
        help_text=_(
            "Changing a role signs the person out everywhere and is emailed to them and the clinic admins."
        ),
    )

    make_superuser = forms.BooleanField(
        label=_("Superuser"),
        required=False,
        help_text=_("Every permission, without any role. Only superusers grant it, and never to themselves."),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Either field is left out where it is read-only (a person's own account, a clinic admin's view).
        if self.instance.pk and "role" in self.fields:
            self.fields["role"].initial = self.instance.role
        if self.instance.pk and "make_superuser" in self.fields:
            self.fields["make_superuser"].initial = self.instance.is_superuser


class UserCreationForm(BaseUserCreationForm):
    role = UserChangeForm.base_fields["role"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    ordering = ("email",)
    list_display = ("email", "full_name", "is_active", "is_staff", "last_login")
    list_filter = ("is_active", "is_staff", "groups")
    search_fields = ("email", "full_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Person"), {"fields": ("full_name", "mobile_phone")}),
        (_("Role and access"), {"fields": ("is_active", "role", "is_staff", "is_superuser")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "full_name", "role", "password1", "password2")}),
    )
    actions = ["reset_two_step", "sign_out_everywhere"]

    def get_readonly_fields(self, request, obj=None):
        # Admin access follows the role; superuser status changes only through set_superuser below.
        readonly = ["is_staff", "is_superuser", "last_login", "date_joined"]
        if obj is not None and obj.pk == request.user.pk:
            readonly += ["role", "is_active"]
        return readonly

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and request.user.is_superuser and obj.pk != request.user.pk:
            fieldsets = [*fieldsets, (_("Superuser"), {"fields": ("make_superuser",)})]
        return fieldsets

    def has_change_permission(self, request, obj=None) -> bool:
        # A clinic admin never edits a superuser's account (its password, its role): only a superuser does.
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # accounts are deactivated, so the trail keeps who did what

    @transaction.atomic
    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        try:
            if "role" in form.changed_data or not change:
                change_role(actor=request.user, user=obj, role=form.cleaned_data.get("role"))
            if request.user.is_superuser and "make_superuser" in form.changed_data:
                set_superuser(actor=request.user, user=obj, is_superuser=form.cleaned_data["make_superuser"])
        except AccountChangeRefused as refused:
            transaction.set_rollback(True)
            self.message_user(request, str(refused), level=messages.ERROR)

    @admin.action(description=_("Reset two-step sign-in (lost phone) and sign out everywhere"))
    def reset_two_step(self, request, queryset):
        done = 0
        for user in queryset:
            try:
                reset_second_factor(actor=request.user, user=user)
                done += 1
            except AccountChangeRefused as refused:
                self.message_user(request, str(refused), level=messages.ERROR)
        self.message_user(request, _("Two-step sign-in reset for %(done)s account(s).") % {"done": done})

    @admin.action(description=_("Sign out on every device"))
    def sign_out_everywhere(self, request, queryset):
        sign_out_everywhere(users=queryset)
        self.message_user(
            request, _("%(count)s account(s) signed out everywhere.") % {"count": queryset.count()}
        )


@admin.register(AccountEvent)
class AccountEventAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "account", "change", "detail", "actor")
    list_filter = ("change",)
    search_fields = ("account__email", "actor__email")
    date_hierarchy = "occurred_at"
    list_select_related = ("account", "actor")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class LogsPatientViews:
    """For admin pages that show one patient's data: opening one is logged in the record-view log, as the staff
    pages log it. ``patient_id_path`` leads from the object to the patient's id."""

    patient_id_path = "patient_id"

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)  # type: ignore[misc]
        if obj is not None:
            patient_id = attrgetter(self.patient_id_path)(obj)
            if patient_id is not None:
                record_patient_view(request, patient_id=patient_id, what=f"admin: {obj._meta.verbose_name}")
        return obj


class ReadOnlyAdmin(admin.ModelAdmin):
    """The trail is written by the database and the app; nobody edits it here (the database refuses anyway)."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def _csv_response(filename: str, header: list[str], rows) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = (
        "occurred_at",
        "action",
        "table_name",
        "row_pk",
        "patient_id",
        "actor_id",
        "actor_ip",
        "context",
    )
    list_filter = ("action", "table_name")
    search_fields = ("=patient_id", "=actor_id", "=row_pk")
    date_hierarchy = "occurred_at"
    actions = ["export_csv"]

    @admin.action(description=_("Export the selected events as CSV"))
    def export_csv(self, request, queryset):
        rows = (
            [e.occurred_at.isoformat(), e.action, e.table_name, e.row_pk, e.patient_id, e.actor_id, e.actor_ip,
             e.context, json.dumps(e.old_data), json.dumps(e.new_data)]
            for e in queryset.order_by("occurred_at", "id")
        )  # fmt: skip
        header = [
            "occurred_at",
            "action",
            "table",
            "row",
            "patient_id",
            "actor_id",
            "actor_ip",
            "context",
            "old",
            "new",
        ]
        return _csv_response("audit-trail.csv", header, rows)


@admin.register(RecordView)
class RecordViewAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "user", "patient_id", "what", "path", "ip_address")
    search_fields = ("=patient_id", "user__email")
    date_hierarchy = "occurred_at"
    actions = ["export_csv"]

    @admin.action(description=_("Export the selected views as CSV"))
    def export_csv(self, request, queryset):
        rows = (
            [v.occurred_at.isoformat(), v.user.email, v.patient_id, v.what, v.path, v.ip_address]
            for v in queryset.select_related("user").order_by("occurred_at", "id")
        )
        return _csv_response(
            "record-views.csv", ["occurred_at", "user", "patient_id", "what", "path", "ip"], rows
        )
