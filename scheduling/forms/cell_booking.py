"""The day view's booking panel: one empty cell of the grid (a chair or room at a time, or on the clinician view a
clinician at a time) and what front desk adds to it: a patient found by name, the treatment, a clinician (or the
first free one), a chair (or the first free one, when the cell named the clinician)."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from clinic.parsing import parse_moment
from scheduling.models import Clinician, Location, Resource, TreatmentType


class CellBookingForm(forms.Form):
    resource = forms.ModelChoiceField(queryset=Resource.objects.none(), required=False)
    start = forms.CharField(max_length=40, widget=forms.HiddenInput)
    # Posted, never in the address: a patient's name must not land in a URL or an access log.
    q = forms.CharField(label=_("Patient: name, email or phone"), max_length=100, required=False)
    patient = forms.IntegerField(required=False, min_value=1)
    treatment_type = forms.ModelChoiceField(queryset=TreatmentType.objects.none(), required=False)
    clinician = forms.ModelChoiceField(
        queryset=Clinician.objects.none(), required=False, empty_label=_("The first free clinician")
    )
    notes = forms.CharField(label=_("Note for the care team (optional)"), required=False, max_length=500)

    def __init__(self, *args, location: Location, now: datetime, **kwargs):
        super().__init__(*args, **kwargs)
        self.location, self.now = location, now
        self._choices("resource").queryset = Resource.objects.filter(location=location, is_active=True)
        self.fields["resource"].error_messages["invalid_choice"] = "That chair or room is not in use here."
        self._choices("treatment_type").queryset = TreatmentType.objects.filter(is_active=True).order_by(
            "label"
        )
        self._choices("clinician").queryset = (
            Clinician.objects.filter(locations=location).select_related("user").order_by("user__full_name")
        )

    def _choices(self, name: str) -> forms.ModelChoiceField:
        return cast(forms.ModelChoiceField, self.fields[name])

    def clean_start(self) -> datetime:
        try:
            return parse_moment(self.cleaned_data["start"], now=self.now)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean(self):
        cleaned = super().clean()
        resource, treatment_type = cleaned.get("resource"), cleaned.get("treatment_type")
        if resource is None and cleaned.get("clinician") is None and not self.has_error("resource"):
            self.add_error("resource", _("The cell names neither a chair nor a clinician."))
        if resource and treatment_type and resource.kind != treatment_type.resource_kind:
            self.add_error(
                "treatment_type",
                _("%(treatment_type)s is not given in a %(resource)s.")
                % {"treatment_type": treatment_type.label, "resource": resource.get_kind_display().lower()},
            )
        return cleaned

    def treatment_choices(self) -> list[TreatmentType]:
        """The treatments that fit the cell's chair or room (all of them before the cell is known)."""
        resource = self.cleaned_data.get("resource") if hasattr(self, "cleaned_data") else None
        types = list(TreatmentType.objects.filter(is_active=True).order_by("label"))
        return [t for t in types if resource is None or t.resource_kind == resource.kind]
