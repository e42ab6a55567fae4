"""A chair or room in the clinic's set-up, with its cleaning time defaulting to its kind's."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from scheduling.models import CLEANING_MINUTES_DEFAULT, Resource


class ResourceForm(forms.ModelForm):
    """Left blank, the cleaning time is the kind's (an infusion chair 15 minutes, a room none); a number typed is
    kept, 0 included."""

    class Meta:
        model = Resource
        fields = ["location", "kind", "name", "is_active", "cleaning_minutes"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        optional_cleaning_minutes(self)

    def clean(self) -> dict[str, Any]:
        return default_cleaning_minutes(super().clean() or self.cleaned_data)


def optional_cleaning_minutes(form: forms.ModelForm) -> None:
    field = form.fields["cleaning_minutes"]
    field.required = False
    field.help_text = _("Blank: infusion chairs 15 minutes, consultation rooms none.")


def default_cleaning_minutes(cleaned: dict[str, Any]) -> dict[str, Any]:
    """A blank cleaning time becomes the kind's (the set-up page's and the Django admin's one rule)."""
    kind = cleaned.get("kind")
    if cleaned.get("cleaning_minutes") is None and kind in CLEANING_MINUTES_DEFAULT:
        cleaned["cleaning_minutes"] = CLEANING_MINUTES_DEFAULT[kind]
    return cleaned
