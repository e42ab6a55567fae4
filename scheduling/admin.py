"""The clinic's set-up (locations, chairs and rooms, clinicians, hours, time off, closures, treatment types) and
read-only views of what the app writes. Every change the booking rules depend on is saved through
scheduling.services: time off, closures and weekly hours (refused over booked sessions), REMS enrollments, a resend of
a failed reminder. Appointments, reminders and emergency accesses are not edited here."""

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic.admin import LogsPatientViews
from scheduling import services
from scheduling.forms import (
    ClinicianTimeOffForm,
    ClosureForm,
    LocationForm,
    OpeningHoursFormSet,
    WorkingHoursFormSet,
)
from scheduling.forms.resource import ResourceForm
from scheduling.models import (
    Appointment,
    BreakGlassAccess,
    Clinician,
    ClinicianTimeOff,
    Closure,
    FrontDeskAssignment,
    Location,
    OpeningHours,
    Reminder,
    ReminderDelivery,
    RemsEnrollment,
    Resource,
    TreatmentType,
    WorkingHours,
)


class RefusalsAsMessages:
    """A service's refusal at save time (a booking made between the form's check and the save) is said on the page,
    with nothing saved, instead of a server error. The forms list the sessions in the way before that."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)  # type: ignore[misc]
        except services.SchedulingError as refusal:
            self.message_user(
                request, _("Not saved: %(message)s") % {"message": refusal.message}, messages.ERROR
            )  # type: ignore[attr-defined]
            return HttpResponseRedirect(request.get_full_path())


def _save_calendar_rows(formset, *, save_row, remove_row) -> None:
    """An inline's new and changed rows through ``save_row``, its ticked ones through ``remove_row``."""
    for row in formset.save(commit=False):
        save_row(row)
    for row in formset.deleted_objects:
        remove_row(row)


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
    form = ResourceForm
    extra = 0


class FrontDeskAssignmentInline(admin.TabularInline):
    model = FrontDeskAssignment
    extra = 0
    verbose_name_plural = "front-desk staff who work here"


@admin.register(Location)
class LocationAdmin(RefusalsAsMessages, admin.ModelAdmin):
    form = LocationForm
    list_display = ("name", "time_zone", "is_active")
    inlines = [OpeningHoursInline, ClosureInline, ResourceInline, FrontDeskAssignmentInline]

    def save_formset(self, request, form, formset, change):
        if formset.model is OpeningHours:
            services.set_opening_hours(
                location=form.instance,
                save=formset.save(commit=False),
                delete=formset.deleted_objects,
                now=timezone.now(),
            )
        elif formset.model is Closure:
            _save_calendar_rows(
                formset,
                save_row=lambda closure: services.save_closure(closure=closure),
                remove_row=lambda closure: services.remove_closure(closure=closure),
            )
        else:
            super().save_formset(request, form, formset, change)


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
class ClinicianAdmin(RefusalsAsMessages, admin.ModelAdmin):
    list_display = ("__str__", "is_on_call")
    filter_horizontal = ("locations",)
    raw_id_fields = ("user",)
    inlines = [WorkingHoursInline, ClinicianTimeOffInline]

    def save_formset(self, request, form, formset, change):
        if formset.model is WorkingHours:
            services.set_working_hours(
                clinician=form.instance,
                save=formset.save(commit=False),
                delete=formset.deleted_objects,
                now=timezone.now(),
            )
        elif formset.model is ClinicianTimeOff:
            _save_calendar_rows(
                formset,
                save_row=lambda time_off: services.save_time_off(time_off=time_off),
                remove_row=lambda time_off: services.remove_time_off(time_off=time_off),
            )
        else:
            super().save_formset(request, form, formset, change)


@admin.register(Resource)
class ResourceAdmin(admin.ModelAdmin):
    form = ResourceForm


@admin.register(TreatmentType)
class TreatmentTypeAdmin(admin.ModelAdmin):
    """Durations and the session-day protocol (minimum monitoring, required readings) are clinic policy: the
    clinic admin sets them here. Spravato's label minimum is a database constraint, shown as the form's error."""

    list_display = (
        "label", "modality", "resource_kind", "chair_minutes", "clinician_offset_minutes", "clinician_minutes",
        "discharge_minutes", "min_monitoring_minutes", "min_days_apart", "is_active",
    )  # fmt: skip
    list_filter = ("modality", "is_active")


@admin.register(ClinicianTimeOff)
class ClinicianTimeOffAdmin(RefusalsAsMessages, admin.ModelAdmin):
    """Refused over booked sessions, which the error lists (services.save_time_off, migration 0008)."""

    form = ClinicianTimeOffForm
    list_display = ("clinician", "starts_at", "ends_at", "reason")
    list_filter = ("clinician",)

    def save_model(self, request, obj, form, change):
        if not change or form.has_changed():  # an unchanged row is not saved again, so not judged again
            services.save_time_off(time_off=obj)

    def delete_model(self, request, obj):
        services.remove_time_off(time_off=obj)

    def delete_queryset(self, request, queryset):
        for time_off in queryset:
            services.remove_time_off(time_off=time_off)


@admin.register(Closure)
class ClosureAdmin(RefusalsAsMessages, admin.ModelAdmin):
    """Closures across locations (also inline on each location). Refused on a day with booked sessions
    (services.save_closure)."""

    form = ClosureForm
    list_display = ("location", "date", "reason")
    list_filter = ("location",)
    date_hierarchy = "date"

    def save_model(self, request, obj, form, change):
        if not change or form.has_changed():
            services.save_closure(closure=obj)

    def delete_model(self, request, obj):
        services.remove_closure(closure=obj)

    def delete_queryset(self, request, queryset):
        for closure in queryset:
            services.remove_closure(closure=closure)


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
    """Recorded and corrected through services.record_rems_enrollment, as on front desk's patient page; taken back
    (an enrollment recorded for the wrong patient) through services.remove_rems_enrollment."""

    list_display = ("patient", "enrolled_on", "rems_patient_id", "recorded_at")
    raw_id_fields = ("patient",)
    readonly_fields = ("recorded_by", "recorded_at")

    def get_readonly_fields(self, request, obj=None):
        # A correction changes the form's details, not whose enrollment it is: that is a removal and a new one.
        return (*self.readonly_fields, "patient") if obj is not None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        enrollment = services.record_rems_enrollment(
            patient=obj.patient,
            enrolled_on=obj.enrolled_on,
            rems_patient_id=obj.rems_patient_id,
            recorded_by=request.user,
        )
        obj.pk, obj.recorded_by, obj.recorded_at = (
            enrollment.pk,
            enrollment.recorded_by,
            enrollment.recorded_at,
        )

    def delete_model(self, request, obj):
        services.remove_rems_enrollment(enrollment=obj)

    def delete_queryset(self, request, queryset):
        for enrollment in queryset:
            services.remove_rems_enrollment(enrollment=enrollment)


class ReminderDeliveryInline(admin.TabularInline):
    model = ReminderDelivery
    fk_name = "reminder"
    extra = 0
    can_delete = False
    readonly_fields = ["attempted_at", "channel", "kind", "outcome", "provider_id", "error"]
    exclude = ["appointment"]


@admin.register(Reminder)
class ReminderAdmin(LogsPatientViews, admin.ModelAdmin):
    """Read-only: the outbox's rows are written by the booking services and the workers. A failed reminder can be
    sent again (services.resend_reminder), as from front desk's list of failed reminders."""

    patient_id_path = "appointment.patient_id"
    list_display = ["appointment", "channel", "kind", "sequence", "due_at", "status", "attempts"]
    list_filter = ["status", "channel", "kind"]
    inlines = [ReminderDeliveryInline]
    actions = ["send_again"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Send the selected failed reminders again"), permissions=["view"])
    def send_again(self, request, queryset):
        now, sent, refused = timezone.now(), 0, []
        for reminder in queryset:
            try:
                services.resend_reminder(reminder=reminder, resent_by=request.user, now=now)
            except services.SchedulingError as exc:
                refused.append(f"reminder {reminder.pk}: {exc.message}")
            else:
                sent += 1
        if sent:
            self.message_user(
                request,
                _("%(sent)s reminder(s) will be sent again within a minute.") % {"sent": sent},
                messages.SUCCESS,
            )
        if refused:
            self.message_user(
                request, _("Not sent again: %(refused)s") % {"refused": "; ".join(refused)}, messages.WARNING
            )
