"""The base of the hand-rendered forms (intake steps, clinician review): Bootstrap classes on every widget, and
errors and help text wired to their field for screen readers. The scheduling forms render through crispy-forms,
which does the same for them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms

_CHECKABLE = forms.RadioSelect | forms.CheckboxSelectMultiple | forms.CheckboxInput


class AccessibleForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.style_fields()

    def style_fields(self) -> None:
        """Classes and descriptions for every field (again after a form adds fields of its own)."""
        for name, form_field in self.fields.items():
            widget = form_field.widget
            if form_field.help_text:
                widget.attrs["aria-describedby"] = f"{self[name].auto_id}_help"
            if isinstance(widget, _CHECKABLE):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            elif not isinstance(widget, forms.HiddenInput):
                widget.attrs.setdefault("class", "form-control")

    def set_choices(self, name: str, choices: Iterable[tuple[Any, str]]) -> None:
        """Choices known only at request time (a clinic's reasons, a patient's sessions)."""
        form_field = self.fields[name]
        assert isinstance(form_field, forms.ChoiceField)
        form_field.choices = list(choices)

    def full_clean(self) -> None:
        super().full_clean()
        self._describe_errors()

    def add_error(self, field: str | None, error: Any) -> None:
        # A view adds a service's refusals after validation: their fields must be marked invalid too.
        super().add_error(field, error)
        self._describe_errors()

    def clean(self) -> dict[str, Any]:
        # Django types Form.clean as possibly None; these forms always return their cleaned data.
        super().clean()
        return self.cleaned_data

    def _describe_errors(self) -> None:
        for name in self.errors:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                attrs["aria-invalid"] = "true"
                described = [f"{self[name].auto_id}_error"]
                if self.fields[name].help_text:
                    described.append(f"{self[name].auto_id}_help")
                attrs["aria-describedby"] = " ".join(described)
