"""The clinician review forms. They check types and shapes; the services (``review.decisions``,
``review.alerts``) decide what is allowed and say why."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from clinic.forms import AccessibleForm
from intake import rules
from intake.export import IN_THE_DOWNLOAD
from intake.forms import REASONS_FOR_CARE
from intake.models import EligibilityDecision, IntakeSubmission
from intake.steps import ALL_STEPS
from scheduling.models import BREAK_GLASS_MIN_REASON


def reasons_for_care() -> list[tuple[str, str]]:
    # In the page's language, as plain strings (the queue joins them).
    return [(code, str(words)) for code, words in REASONS_FOR_CARE]


# --- Forms ------------------------------------------------------------------------------------------------------


QUEUE_FILTER_NAMES = ("reason", "modality", "finding")


class QueueFilterForm(AccessibleForm):
    reason = forms.ChoiceField(label=_("Reason for care"), required=False, widget=forms.Select)
    modality = forms.ChoiceField(
        label=_("Findings that concern"),
        required=False,
        choices=[("", _("Any treatment")), ("iv", _("IV ketamine")), ("spravato", _("Spravato"))],
        widget=forms.Select,
    )
    finding = forms.ChoiceField(label=_("Finding"), required=False, widget=forms.Select)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.set_choices("reason", [("", "Any reason"), *reasons_for_care()])
        self.set_choices(
            "finding",
            [("", "Any finding")]
            + [(rule.code, rule.label) for rule in sorted(rules.DEFAULT_RULES, key=lambda rule: rule.label)],
        )


class AcknowledgeForm(AccessibleForm):
    note = forms.CharField(
        label=_("What was done"),
        help_text=format_lazy(
            "{} {}",
            _(
                "For example: called the patient, reviewed the safety plan, arranged an urgent assessment, referred "
                "to emergency care. Your name and the time are recorded with it."
            ),
            IN_THE_DOWNLOAD,
        ),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=4000,
        error_messages={"required": _("Write what was done before acknowledging the alert.")},
    )

    def clean_note(self) -> str:
        note = self.cleaned_data["note"].strip()
        if not note:
            raise forms.ValidationError(_("Write what was done before acknowledging the alert."))
        return note


class BreakGlassForm(AccessibleForm):
    patient_number = forms.IntegerField(
        label=_("Patient number"),
        min_value=1,
        help_text=_("Shown on the patient's record pages: ask the clinic that looks after them."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
        error_messages={
            "required": _("Enter the patient's number."),
            "invalid": _("A patient number is digits only."),
            "min_value": _("A patient number is 1 or more."),
        },
    )
    reason = forms.CharField(
        label=_("Why you need this patient's record now"),
        help_text=format_lazy(
            _(
                "At least {minimum} characters, for example: came to this clinic in crisis, their own clinic is "
                "closed. The clinic admins are told, with your name."
            ),
            minimum=BREAK_GLASS_MIN_REASON,
        ),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        error_messages={"required": _("Say why you need this patient's record now.")},
    )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if len(reason) < BREAK_GLASS_MIN_REASON:
            raise forms.ValidationError(
                _(
                    "Say why you need this patient's record now, in at least %(break_glass_min_reason)s characters."
                )
                % {"break_glass_min_reason": BREAK_GLASS_MIN_REASON}
            )
        return reason


class DecisionForm(AccessibleForm):
    outcome = forms.ChoiceField(
        label=_("Decision"),
        choices=EligibilityDecision.Outcome.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose a decision.")},
    )
    modality = forms.ChoiceField(
        label=_("Eligible for"),
        required=False,
        choices=[(value, label) for value, label in EligibilityDecision.Modality.choices if value != "none"],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        help_text=format_lazy(
            "{} {}",
            _("Required when the patient is not eligible. The front desk does not see it."),
            IN_THE_DOWNLOAD,
        ),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
    )
    message_to_patient = forms.CharField(
        label=_("Message to the patient"),
        required=False,
        help_text=_(
            "Required when more information is needed. The patient reads it in their portal and in the "
            "download of their data; write it in plain words."
        ),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )
    reopened_steps = forms.MultipleChoiceField(
        label=_("Intake steps the patient should answer again"),
        required=False,
        choices=[(step.key, _(step.words)) for step in ALL_STEPS],
        widget=forms.CheckboxSelectMultiple,
    )
    override_justification = forms.CharField(
        label=_("Justification for overriding a hard-stop finding"),
        required=False,
        help_text=format_lazy(
            "{} {}",
            _(
                "Required when the patient is eligible despite a hard-stop finding that concerns that treatment."
            ),
            IN_THE_DOWNLOAD,
        ),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
    )
    sign = forms.BooleanField(
        label=_("Sign"),
        error_messages={"required": _("Tick this box to sign the decision.")},
    )
    submission_id = forms.IntegerField(widget=forms.HiddenInput)
    current_decision_id = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, submission: IntakeSubmission, signer: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.submission = submission
        self.fields["sign"].label = f"Sign this decision as {signer}"
        self.fields[
            "sign"
        ].help_text = "It is recorded with your name and the time and cannot be changed; a later decision can replace it."
        self.fields["sign"].widget.attrs["aria-describedby"] = f"{self['sign'].auto_id}_help"

    def clean(self) -> dict[str, Any]:
        # Types only: which fields an outcome needs is review.decisions' rule, and its refusal is shown here.
        cleaned = super().clean()
        for name in ("reason", "message_to_patient", "override_justification"):
            cleaned[name] = (cleaned.get(name) or "").strip()
        return cleaned


class RatingForm(AccessibleForm):
    scale = forms.ChoiceField(
        label=_("Scale"),
        choices=[("madrs", _("MADRS (0 to 60)")), ("ybocs", _("Y-BOCS (0 to 40)"))],
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose the scale you rated.")},
    )
    total = forms.IntegerField(
        label=_("Total score"),
        min_value=0,
        max_value=60,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        error_messages={
            "required": _("Enter the total score."),
            "invalid": _("Enter the total as a whole number."),
            "min_value": _("A total cannot be below 0."),
            "max_value": _("The highest MADRS total is 60 and the highest Y-BOCS total is 40."),
        },
    )
    rated_on = forms.DateField(
        label=_("Date rated"),
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={
            "required": _("Enter the date of the rating."),
            "invalid": _("Enter a date such as 2027-03-03."),
        },
    )
    appointment = forms.TypedChoiceField(
        label=_("Session (optional)"), required=False, coerce=int, empty_value=None
    )
    note = forms.CharField(
        label=_("Note (optional)"),
        required=False,
        help_text=IN_THE_DOWNLOAD,
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
    )

    def __init__(self, *args: Any, appointments: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.set_choices("appointment", [("", "Not linked to a session"), *appointments])


# --- Presenting a submission ------------------------------------------------------------------------------------
