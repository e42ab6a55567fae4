from django.contrib import admin

from scheduling.models import Clinician, Closure, Location, OpeningHours, Resource, WorkingHours


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0


class ClosureInline(admin.TabularInline):
    model = Closure
    extra = 0


class ResourceInline(admin.TabularInline):
    model = Resource
    extra = 0


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ("name", "time_zone", "is_active")
    inlines = [OpeningHoursInline, ClosureInline, ResourceInline]


class WorkingHoursInline(admin.TabularInline):
    model = WorkingHours
    extra = 0


@admin.register(Clinician)
class ClinicianAdmin(admin.ModelAdmin):
    list_display = ("__str__", "is_on_call")
    filter_horizontal = ("locations",)
    raw_id_fields = ("user",)
    inlines = [WorkingHoursInline]


admin.site.register(Resource)
