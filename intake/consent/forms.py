"""The clinic admin's consent forms and the patient's signature and withdrawal forms. Checks that need the
database (a label already used, the name on record) are the services'; these only shape the input."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from clinic.forms import AccessibleForm
from intake.models import ConsentVersion


class DraftForm(AccessibleForm):
    version = forms.CharField(
        label=_("Version label"),
        max_length=40,
        help_text=_(
            "What patients read and signatures name, for example 2027-01. It must be new for this document."
        ),
    )
    title = forms.CharField(label=_("Title"), max_length=200)
    body = forms.CharField(
        label=_("Text"),
        max_length=40000,
        widget=forms.Textarea(attrs={"rows": 18}),
        help_text=_("Plain text: a blank line starts a new paragraph."),
    )


class PublishForm(AccessibleForm):
    change = forms.ChoiceField(
        label=_("What kind of change is this?"),
        choices=ConsentVersion.Change.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Say whether the change is material or minor.")},
        help_text=_(
            "Material: every patient who uses this document signs it again in the portal, and until they do no "
            "session needing it can be booked or checked in. Minor: signatures stand."
        ),
    )


class SignatureForm(AccessibleForm):
    """A typed signature: the patient's full legal name, and a tick box saying what it means."""

    typed_name = forms.CharField(label=_("Type your full legal name to sign"), max_length=200)
    agree = forms.BooleanField(
        label=_("I have read the consent above and I agree to it."),
        error_messages={"required": _("Tick this box to agree, or call the clinic if you have questions.")},
    )
    version_id = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, agree_label: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if agree_label:
            self.fields["agree"].label = agree_label
            self.fields["agree"].error_messages["required"] = _("Tick this box to confirm.")
