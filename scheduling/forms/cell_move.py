"""Moving a session on the day grid: the session dragged (or picked with "m") and the empty cell it was dropped on
(a chair or room at a time)."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from clinic.parsing import parse_moment
from scheduling.models import Location, Resource


class CellMoveForm(forms.Form):
    appointment = forms.IntegerField(min_value=1, max_value=2**63 - 1)
    resource = forms.ModelChoiceField(queryset=Resource.objects.none())
    start = forms.CharField(max_length=40)

    def __init__(self, *args, location: Location, now: datetime, **kwargs):
        super().__init__(*args, **kwargs)
        self.now = now
        field = cast(forms.ModelChoiceField, self.fields["resource"])
        field.queryset = Resource.objects.filter(location=location, is_active=True)
        field.error_messages["invalid_choice"] = _("That chair or room is not in use here.")
        field.error_messages["required"] = _("Choose a chair or room to move the session to.")
        self.fields["appointment"].error_messages["required"] = _("Choose the session to move.")
        self.fields["start"].error_messages["required"] = _("Choose a time to move the session to.")

    def clean_start(self) -> datetime:
        try:
            return parse_moment(self.cleaned_data["start"], now=self.now)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
