from django.contrib import admin

from clinic.admin import LogsPatientViews
from intake.models import Patient


@admin.register(Patient)
class PatientAdmin(LogsPatientViews, admin.ModelAdmin):
    patient_id_path = "pk"
    list_display = ("legal_last_name", "legal_first_name", "date_of_birth", "location")
    search_fields = ("legal_last_name", "legal_first_name", "email")
    list_filter = ("location",)
    raw_id_fields = ("user",)
