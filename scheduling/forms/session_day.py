"""The session day's forms: checklist, vitals, the blood-pressure override, the dose checked before dosing and its
co-signature, the dose given, scores and discharge. They parse and explain; scheduling.services decides."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from clinic.phones import normalise_phone
from intake.export import IN_THE_DOWNLOAD
from scheduling.forms.base import _helper
from scheduling.models import VitalSigns


class _PrefixedForm(forms.Form):
    """Several forms share the session page, so each has a prefix (and so unique element ids)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", self.prefix_name)
        super().__init__(*args, **kwargs)
        self.helper = _helper()


class ChecklistForm(_PrefixedForm):
    prefix_name = "checklist"
    escort_name = forms.CharField(label=_("Escort or driver's name"), max_length=120, required=False)
    escort_phone = forms.CharField(label=_("Escort or driver's phone"), max_length=32, required=False)
    escort_confirmed = forms.BooleanField(
        label=_("Escort or driver confirmed: they will take the patient home"), required=False
    )
    fasting_confirmed = forms.BooleanField(
        label=_(
            "Fasting confirmed (Spravato: no food for 2 h, no drinks for 30 min; IV: the clinic's NPO rules)"
        ),
        required=False,
    )

    def clean_escort_phone(self) -> str:
        phone = self.cleaned_data["escort_phone"].strip()
        return normalise_phone(phone, field_label=str(_("the escort's or driver's phone"))) if phone else ""


class VitalsForm(_PrefixedForm):
    prefix_name = "vitals"
    phase = forms.ChoiceField(label=_("When"), choices=VitalSigns.Phase.choices)
    systolic = forms.IntegerField(label=_("Systolic BP (mmHg)"), min_value=40, max_value=300)
    diastolic = forms.IntegerField(label=_("Diastolic BP (mmHg)"), min_value=20, max_value=200)
    heart_rate = forms.IntegerField(label=_("Heart rate (beats per minute)"), min_value=20, max_value=250)
    spo2 = forms.IntegerField(label=_("SpO2 (%)"), min_value=50, max_value=100)

    def clean(self):
        cleaned = super().clean()
        systolic, diastolic = cleaned.get("systolic"), cleaned.get("diastolic")
        if systolic is not None and diastolic is not None and systolic <= diastolic:
            self.add_error("systolic", _("Systolic BP must be higher than diastolic BP."))
        return cleaned


class OverrideForm(_PrefixedForm):
    prefix_name = "override"
    reason = forms.CharField(
        label=_("Why it is safe to proceed (clinician)"),
        help_text=IN_THE_DOWNLOAD,
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=1000,
    )


def _number_messages(what: str, example: str) -> dict[str, str]:
    return {
        "invalid": f"Give {what} as a number, such as {example}.",
        "min_value": f"Give {what} above 0.",
        "max_digits": f"{what[0].upper()}{what[1:]} is too large: check the units.",
        "max_whole_digits": f"{what[0].upper()}{what[1:]} is too large: check the units.",
        "max_decimal_places": f"Give {what} with at most %(max)s decimal places.",
    }


def _weight_field(label: str, *, required: bool) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=required,
        min_value=Decimal("0.1"),
        max_digits=5,
        decimal_places=1,
        error_messages={
            **_number_messages("the weight in kg", "72.5"),
            "required": _("Give the patient's weight today, in kg."),
        },
    )


class IvDosePlanForm(_PrefixedForm):
    """The IV dose checked before it is given: mg/kg from the day's weight (the service does the checks)."""

    prefix_name = "plan"
    weight_kg = _weight_field("The patient's weight today (kg)", required=True)
    mg_per_kg = forms.DecimalField(
        label=_("Dose (mg/kg)"),
        min_value=Decimal("0.001"),
        max_digits=5,
        decimal_places=3,
        help_text=_("The standard dose is 0.5 mg/kg over 40 minutes."),
        error_messages={
            **_number_messages("the dose in mg/kg", "0.5"),
            "required": _("Give the dose in mg/kg."),
        },
    )


class SpravatoDosePlanForm(_PrefixedForm):
    prefix_name = "plan"
    dose_mg = forms.TypedChoiceField(
        label=_("Dose"),
        coerce=int,
        choices=[(56, _("56 mg (2 devices)")), (84, _("84 mg (3 devices)"))],
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose 56 or 84 mg."),
            "invalid_choice": _("A Spravato dose is 56 mg (2 devices) or 84 mg (3 devices)."),
        },
    )
    weight_kg = _weight_field("The patient's weight today (kg, optional)", required=False)


class CosignForm(_PrefixedForm):
    prefix_name = "cosign"
    confirmed = forms.BooleanField(
        label=_("I am a second clinician and I have checked this planned dose"),
        error_messages={"required": _("Confirm you have checked the planned dose.")},
    )
    # Which plan the page showed: a plan changed since is not the one co-signed (services.cosign_dose_plan).
    plan_seen_at = forms.DateTimeField(required=False, widget=forms.HiddenInput)


class DoseForm(_PrefixedForm):
    """The dose as given. The correction form is filled with what was recorded, so nothing has to be typed
    again."""

    prefix_name = "dose"
    drug = forms.CharField(label=_("Drug (leave empty for the usual one)"), required=False, max_length=80)
    dose_mg = forms.DecimalField(
        label=_("Dose given (mg)"),
        min_value=Decimal("0.1"),
        max_digits=6,
        decimal_places=1,
        error_messages={
            **_number_messages("the dose in mg", "35 or 35.5"),
            "required": _("Give the dose given, in mg."),
        },
    )
    weight_kg = _weight_field(
        "Weight (kg), needed for IV: the day's weight in the plan if empty", required=False
    )
    lot_number = forms.CharField(label=_("Lot number"), max_length=40)
    started_at = forms.TimeField(
        label=_("Started at (clinic's local time)"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    ended_at = forms.TimeField(
        label=_("Ended at (optional)"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )


class ScoresForm(_PrefixedForm):
    prefix_name = "scores"
    dissociation_score = forms.IntegerField(
        label=_("Dissociation (CADSS total, 0-92)"), required=False, min_value=0, max_value=92
    )
    sedation_score = forms.IntegerField(
        label=_("Sedation (MOAA/S, 0-5, 5 = awake)"), required=False, min_value=0, max_value=5
    )


class DischargeForm(_PrefixedForm):
    prefix_name = "discharge"
    escort_present = forms.BooleanField(
        label=_("The escort or driver is here to take the patient home"),
        error_messages={"required": _("Confirm the escort or driver is here before discharge.")},
    )
    override_reason = forms.CharField(
        label=_(
            "Clinician's override: why the patient may leave before the minimum time or without the missing "
            "reading"
        ),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "Only when the protocol's minimum time or a required reading is not met. Kept, audited and shown "
            "on the session summary."
        ),
    )

    def __init__(self, *args, may_override: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not may_override:
            del self.fields["override_reason"]
