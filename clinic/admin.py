import csv
import json

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import F
from django.http import HttpResponse

from clinic.models import AuditEvent, RecordView, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("email",)
    list_display = ("email", "full_name", "is_active", "is_staff", "last_login")
    list_filter = ("is_active", "is_staff", "groups")
    search_fields = ("email", "full_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("full_name", "mobile_phone")}),
        ("Role and access", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "full_name", "password1", "password2")}),
    )
    filter_horizontal = ("groups",)
    actions = ["reset_two_step", "sign_out_everywhere"]

    @admin.action(description="Reset two-step sign-in (lost phone) and sign out everywhere")
    def reset_two_step(self, request, queryset):
        from clinic.mfa import reset_second_factor

        for user in queryset:
            reset_second_factor(user=user)
        self.message_user(request, f"Two-step sign-in reset for {queryset.count()} account(s).")

    @admin.action(description="Sign out on every device")
    def sign_out_everywhere(self, request, queryset):
        queryset.update(session_epoch=F("session_epoch") + 1)
        self.message_user(request, f"{queryset.count()} account(s) signed out everywhere.")


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

    @admin.action(description="Export the selected events as CSV")
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

    @admin.action(description="Export the selected views as CSV")
    def export_csv(self, request, queryset):
        rows = (
            [v.occurred_at.isoformat(), v.user.email, v.patient_id, v.what, v.path, v.ip_address]
            for v in queryset.select_related("user").order_by("occurred_at", "id")
        )
        return _csv_response(
            "record-views.csv", ["occurred_at", "user", "patient_id", "what", "path", "ip"], rows
        )
