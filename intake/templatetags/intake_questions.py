"""A questionnaire's questions as markup, built as strings: the same fieldsets as ``intake/_field.html``.

A questionnaire step is nine to twenty radio groups of two to five answers; through the template and Django's widget
templates (one render of ``input.html`` per answer) they were most of the page's cost (bench/README.md has the
figures). Each answer's attributes are still Django's own (``BoundField.subwidgets``: id, checked, required, the
error and description links the form sets), only the writing out is done here, every text escaped as the template
would (``conditional_escape``). Nothing is kept between renders: each page shows its own patient's answers and
errors.
"""

from __future__ import annotations

from typing import cast

from django import forms, template
from django.template.loader import render_to_string
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

register = template.Library()


def _attrs(attrs: dict) -> str:
    # As django/forms/widgets/attrs.html: False leaves the attribute out, True writes its bare name.
    return "".join(
        f" {name}" if value is True else f' {name}="{conditional_escape(str(value))}"'
        for name, value in attrs.items()
        if value is not False
    )


def _choice(data: dict) -> str:
    value = "" if data["value"] is None else f' value="{conditional_escape(str(data["value"]))}"'
    input_tag = f'<input type="{data["type"]}" name="{conditional_escape(data["name"])}"{value}{_attrs(data["attrs"])}>'
    label_for = conditional_escape(str(data["attrs"].get("id") or ""))
    return (
        '    <div class="form-check choice">\n'
        f"      {input_tag}\n"
        f'      <label class="form-check-label" for="{label_for}">{conditional_escape(data["label"])}</label>\n'
        "    </div>\n"
    )


def _group(field: forms.BoundField, choices: int, optional: str) -> str:
    auto_id = conditional_escape(field.auto_id)
    errors = field.errors
    described = []
    if field.help_text:
        described.append(f"{auto_id}_help ")
    if errors:
        described.append(f"{auto_id}_error")
    parts = [
        f'<fieldset class="question mb-4{" has-error" if errors else ""}" id="{auto_id}_group"'
        + (f' aria-describedby="{"".join(described)}"' if described else "")
        + ">\n",
        f'  <legend class="question-legend">{conditional_escape(field.label)}'
        + ("" if field.field.required else f' <span class="text-body-secondary fw-normal">{optional}</span>')
        + "</legend>\n",
    ]
    if field.help_text:
        parts.append(
            f'  <p class="form-text" id="{auto_id}_help">{conditional_escape(field.help_text)}</p>\n'
        )
    if errors:
        words = " ".join(conditional_escape(str(error)) for error in errors)
        parts.append(f'  <p class="field-error" id="{auto_id}_error">{words}</p>\n')
    inline = " choices-inline" if choices <= 3 else ""
    parts.append(f'  <div class="choices{inline}">\n')
    parts += [_choice(choice.data) for choice in field.subwidgets]
    parts.append("  </div>\n</fieldset>\n")
    return "".join(parts)


@register.simple_tag
def question_groups(form: forms.BaseForm) -> SafeString:
    """Every field of ``form``, as ``intake/_form_fields.html`` renders it: a radio group as its fieldset, built
    here; any other field through ``intake/_field.html``."""
    optional = conditional_escape(gettext("(optional)"))
    parts = []
    for field in form.visible_fields():
        if isinstance(field.field, forms.ChoiceField) and isinstance(field.field.widget, forms.RadioSelect):
            parts.append(_group(field, len(cast(list, field.field.choices)), optional))
        else:
            parts.append(render_to_string("intake/_field.html", {"field": field}))
    parts += [str(field) for field in form.hidden_fields()]
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped
