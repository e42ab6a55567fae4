"""The one error summary: at the top of a form page, every problem listed and each linked to its field
(engineering guide 8), whichever forms, row lists and service refusal the page has."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms, template
from django.utils.translation import gettext, gettext_noop

register = template.Library()

STALE_PAGE = gettext_noop("The page is out of date: please reload it and try again.")


@dataclass(frozen=True)
class Problem:
    text: str
    label: str = ""
    anchor: str = ""  # the id of the field to jump to, if any


def _anchor(field: forms.BoundField) -> str:
    if isinstance(field.field.widget, forms.RadioSelect | forms.CheckboxSelectMultiple):
        return f"{field.auto_id}_0"  # the first choice: the group has no element of its own to focus
    return field.id_for_label or field.auto_id


def _problems(form: forms.BaseForm, row: int | None = None) -> list[Problem]:
    problems = [Problem(str(error)) for error in form.non_field_errors()]
    for field in form:
        for error in field.errors:
            if field.is_hidden:
                problems.append(Problem(gettext(STALE_PAGE)))
                continue
            label = str(field.label or field.name)
            if row is not None:
                label = gettext("Row %(row)s, %(label)s") % {"row": row, "label": label}
            problems.append(Problem(str(error), label=label, anchor=_anchor(field)))
    return problems


@register.inclusion_tag("_error_summary.html")
def error_summary(*forms_on_page: Any, error: Any = None, formset: Any = None) -> dict[str, Any]:
    """``error``: a service's refusal (anything with ``message`` and ``status_code``); ``formset``: row forms."""
    problems = [Problem(str(error.message))] if error else []
    for form in forms_on_page:  # a form the page does not have arrives as "" (the template's missing value)
        if isinstance(form, forms.BaseForm) and form.is_bound:
            problems += _problems(form)
    if isinstance(formset, forms.BaseFormSet) and formset.is_bound:
        problems += [Problem(str(e)) for e in formset.non_form_errors()]
        for number, row in enumerate(formset, start=1):
            problems += _problems(row, row=number)
    unique = list(dict.fromkeys(problems))  # a stale page says so once
    return {
        "problems": unique,
        "conflict": getattr(error, "status_code", None) == 409,
    }
