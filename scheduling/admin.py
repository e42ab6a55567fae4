from django.contrib import admin

from clinic.admin import LogsPatientViews
from scheduling.forms import ClinicianTimeOffForm, ClosureForm, OpeningHoursFormSet, WorkingHoursFormSet
from scheduling.models import (
    Appointment,
    BreakGlassAccess,
    Clinician,
    ClinicianTimeOff,
    Closure,
    FrontDeskAssignment,
    Location,
    OpeningHours,
    RemsEnrollment,
    Resource,
    TreatmentType,
    WorkingHours,
)


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    formset = OpeningHoursFormSet
    extra = 0


class ClosureInline(admin.TabularInline):
    model = Closure
    form = ClosureForm
    extra = 0


class ResourceInline(admin.TabularInline):
    model = Resource
    extra = 0


class FrontDeskAssignmentInline(admin.TabularInline):
    model = FrontDeskAssignment
    extra = 0
    verbose_name_plural = "front-desk staff who work here"


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ("name", "time_zone", "is_active")
    inlines = [OpeningHoursInline, ClosureInline, ResourceInline, FrontDeskAssignmentInline]


@admin.register(FrontDeskAssignment)
class FrontDeskAssignmentAdmin(admin.ModelAdmin):
    """Where each front-desk person works: with REVIEW_RESTRICT_TO_CLINICIAN_LOCATIONS on, the only locations they
    see (scheduling.access). Clinicians' locations are set on the clinician."""

    list_display = ("user", "location")
    list_filter = ("location",)
    search_fields = ("user__email", "user__full_name")
    list_select_related = ("user", "location")


@admin.register(BreakGlassAccess)
class BreakGlassAccessAdmin(LogsPatientViews, admin.ModelAdmin):
    """Every emergency access a clinician took to a patient of another location, with their reason: for the clinic
    admins to check (they are emailed each one). Nobody edits these."""

    list_display = ("created_at", "user", "patient", "expires_at", "admins_told_at")
    list_filter = ("created_at",)
    search_fields = ("=patient__id", "user__email", "user__full_name")
    date_hierarchy = "created_at"
    list_select_related = ("user", "patient")
    readonly_fields = (
        "user",
        "patient",
        "reason",
        "created_at",
        "expires_at",
        "ip_address",
        "admins_told_at",
    )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class WorkingHoursInline(admin.TabularInline):
    model = WorkingHours
    formset = WorkingHoursFormSet
    extra = 0


class ClinicianTimeOffInline(admin.TabularInline):
    model = ClinicianTimeOff
    form = ClinicianTimeOffForm
    extra = 0


@admin.register(Clinician)
class ClinicianAdmin(admin.ModelAdmin):
    list_display = ("__str__", "is_on_call")
    filter_horizontal = ("locations",)
    raw_id_fields = ("user",)
    inlines = [WorkingHoursInline, ClinicianTimeOffInline]


admin.site.register(Resource)


@admin.register(TreatmentType)
class TreatmentTypeAdmin(admin.ModelAdmin):
    """Durations are clinic policy: the clinic admin sets them here."""

    list_display = (
        "label", "modality", "resource_kind", "chair_minutes", "clinician_offset_minutes", "clinician_minutes",
        "discharge_minutes", "is_active",
    )  # fmt: skip
    list_filter = ("modality", "is_active")


@admin.register(ClinicianTimeOff)
class ClinicianTimeOffAdmin(admin.ModelAdmin):
    """Refused over booked sessions, which the error lists (scheduling.forms, migration 0008)."""

    form = ClinicianTimeOffForm
    list_display = ("clinician", "starts_at", "ends_at", "reason")
    list_filter = ("clinician",)


@admin.register(Closure)
class ClosureAdmin(admin.ModelAdmin):
    """Closures across locations (also inline on each location). Refused on a day with booked sessions."""

    form = ClosureForm
    list_display = ("location", "date", "reason")
    list_filter = ("location",)
    date_hierarchy = "date"


@admin.register(Appointment)
class AppointmentAdmin(LogsPatientViews, admin.ModelAdmin):
    """Read-only: every booking change goes through scheduling.services (the allocation rows must follow)."""

    list_display = ("start_at", "location", "resource", "clinician", "treatment_type", "status")
    list_filter = ("location", "status", "treatment_type")
    date_hierarchy = "start_at"
    list_select_related = ("location", "resource", "clinician__user", "treatment_type")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RemsEnrollment)
class RemsEnrollmentAdmin(LogsPatientViews, admin.ModelAdmin):
    list_display = ("patient", "enrolled_on", "rems_patient_id", "recorded_at")
    raw_id_fields = ("patient",)
    readonly_fields = ("recorded_by", "recorded_at")


from scheduling.models import Reminder, ReminderDelivery  # noqa: E402 (appended with the reminders)


class ReminderDeliveryInline(admin.TabularInline):
    model = ReminderDelivery
    fk_name = "reminder"
    extra = 0
    can_delete = False
    readonly_fields = ["attempted_at", "channel", "kind", "outcome", "provider_id", "error"]
    exclude = ["appointment"]


@admin.register(Reminder)
class ReminderAdmin(LogsPatientViews, admin.ModelAdmin):
    patient_id_path = "appointment.patient_id"
    list_display = ["appointment", "channel", "kind", "sequence", "due_at", "status", "attempts"]
    list_filter = ["status", "channel", "kind"]
    readonly_fields = [
        "appointment",
        "planned_start_at",
        "claimed_at",
        "sent_at",
        "provider_id",
        "last_error",
    ]
    inlines = [ReminderDeliveryInline]
