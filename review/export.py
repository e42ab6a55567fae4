"""Review's section of the patient's "my data" download (settings.PATIENT_EXPORT_SECTIONS)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_noop

from intake.export import staff_name
from intake.models import Patient
from review.models import ClinicianRating


def ratings_section(patient: Patient) -> tuple[str, Any]:
    ratings = ClinicianRating.objects.filter(patient=patient).select_related("rater", "corrected_by")
    return gettext_noop("Scores your clinician rated"), [
        {"scale": r.get_scale_display(), "total": r.total, "rated_on": r.rated_on,
         "rated_by": staff_name(r.rater), "note": r.note, "replaced_by_a_correction": hasattr(r, "corrected_by")}
        for r in ratings.order_by("rated_on", "recorded_at")
    ]  # fmt: skip
