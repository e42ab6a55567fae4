"""The intake's step forms. Each turns its cleaned data into JSON-safe answers (`answers()`) for the draft, and is
rebuilt from those answers when the patient comes back (`initial`). Rules live in rules.py and scoring.py."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic.forms import AccessibleForm
from clinic.phones import normalise_phone
from intake import addresses, rules
from intake.instruments import InstrumentDefinition, Item

YES_NO_UNSURE = [("yes", _("Yes")), ("no", _("No")), ("unsure", _("Not sure"))]
YES_NO = [("yes", _("Yes")), ("no", _("No"))]


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


class StepForm(AccessibleForm):
    """A step of the intake; its fields render through one template."""

    template_name = "intake/_form_fields.html"

    def answers(self) -> dict[str, Any]:
        return {name: _json_safe(value) for name, value in self.cleaned_data.items()}


def _json_safe(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return value


def _reminder_channel_field() -> forms.ChoiceField:
    return forms.ChoiceField(
        label=_("How should we remind you of appointments?"),
        choices=[
            ("email", _("Email")),
            ("sms", _("Text message (SMS)")),
            ("both", _("Email and text message")),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose how we should remind you.")},
    )


def _sms_consent_field() -> forms.BooleanField:
    return forms.BooleanField(
        label=_(
            "I agree to receive appointment text messages from the clinic at this number. "
            "They never contain medical details. Message and data rates may apply; reply STOP to end them."
        ),
        required=False,
    )


def _texts_need_consent(form: forms.Form, cleaned: dict[str, Any]) -> None:
    if cleaned.get("reminder_channel") in {"sms", "both"} and not cleaned.get("sms_consent"):
        form.add_error("sms_consent", _("To get text reminders, tick this box; or choose email reminders."))


class ContactForm(StepForm):
    legal_first_name = forms.CharField(label=_("Legal first name"), max_length=100)
    legal_last_name = forms.CharField(label=_("Legal last name"), max_length=100)
    preferred_name = forms.CharField(
        label=_("Name you like to be called (optional)"), max_length=100, required=False
    )
    date_of_birth = forms.DateField(
        label=_("Date of birth"), widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"})
    )
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=32,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    email = forms.EmailField(
        label=_("Email address"), widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    address_line1 = forms.CharField(label=_("Street address"), max_length=200)
    address_line2 = forms.CharField(
        label=_("Apartment, suite, etc. (optional)"), max_length=200, required=False
    )
    city = forms.CharField(label=_("City"), max_length=100)
    state = forms.ChoiceField(
        label=_("State"),
        choices=[("", _("Choose your state")), *addresses.STATES],
        widget=forms.Select(attrs={"autocomplete": "address-level1"}),
        error_messages={
            "required": _("Choose your state."),
            "invalid_choice": _("Choose your state from the list."),
        },
    )
    postal_code = forms.CharField(
        label=_("ZIP code"),
        max_length=10,
        help_text=_("5 digits, or ZIP+4 such as 02139-4307."),
        widget=forms.TextInput(attrs={"autocomplete": "postal-code", "inputmode": "numeric"}),
        error_messages={"required": _("Enter your ZIP code.")},
    )
    emergency_contact_name = forms.CharField(label=_("Emergency contact: name"), max_length=200)
    emergency_contact_relationship = forms.CharField(
        label=_("Emergency contact: relationship to you"), max_length=100
    )
    emergency_contact_phone = forms.CharField(
        label=_("Emergency contact: phone"), max_length=32, widget=forms.TextInput(attrs={"type": "tel"})
    )
    reminder_channel = _reminder_channel_field()
    sms_consent = _sms_consent_field()

    def __init__(self, *args: Any, today: date | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today or timezone.localdate()

    def clean_date_of_birth(self) -> date:
        born = self.cleaned_data["date_of_birth"]
        if born > self.today:
            raise ValidationError(_("Your date of birth cannot be in the future."))
        if born.year < 1900:
            raise ValidationError(_("Please check the year of your date of birth."))
        if age_on(born, self.today) < rules.MIN_AGE_YEARS:
            # A hard stop: ketamine and esketamine treatment here is for adults (SPRAVATO is not approved under 18).
            raise ValidationError(
                _(
                    "We can only treat adults aged 18 or over, so we cannot continue your intake online. "
                    "Please call the clinic and we will help you find the right care."
                )
            )
        return born

    def clean_phone(self) -> str:
        return normalise_phone(self.cleaned_data["phone"], field_label="your phone number")

    def clean_emergency_contact_phone(self) -> str:
        return normalise_phone(
            self.cleaned_data["emergency_contact_phone"], field_label="your emergency contact's number"
        )

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    def clean_postal_code(self) -> str:
        zip_code = addresses.zip_code(self.cleaned_data["postal_code"])
        if zip_code is None:
            raise ValidationError(_("Enter a ZIP code of 5 digits, or ZIP+4 such as 02139-4307."))
        return zip_code

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        _texts_need_consent(self, cleaned)
        return cleaned


class ReminderChoiceForm(StepForm):
    """The reminder channel and text-message consent, changed from the portal."""

    reminder_channel = _reminder_channel_field()
    sms_consent = _sms_consent_field()

    def __init__(self, *args: Any, has_phone: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.has_phone = has_phone

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        _texts_need_consent(self, cleaned)
        if cleaned.get("reminder_channel") in {"sms", "both"} and not self.has_phone:
            self.add_error(
                "reminder_channel", _("We have no mobile number for you: choose email, or call the clinic.")
            )
        return cleaned


REASONS_FOR_CARE = [
    ("depression", _("Depression")),
    ("ptsd", _("PTSD or trauma")),
    ("ocd", _("Obsessive-compulsive disorder (OCD)")),
    ("anxiety", _("Anxiety")),
    ("suicidal_thoughts", _("Thoughts of suicide or of not wanting to be alive")),
    ("other", _("Something else")),
]


class ReasonsForm(StepForm):
    reasons = forms.MultipleChoiceField(
        label=_("What would you like help with? Choose all that apply."),
        choices=REASONS_FOR_CARE,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _("Choose at least one reason, or 'Something else' and tell us about it.")
        },
    )
    other_reason = forms.CharField(
        label=_("If something else, tell us briefly"), max_length=500, required=False
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if "other" in cleaned.get("reasons", []) and not cleaned.get("other_reason", "").strip():
            self.add_error("other_reason", _("Tell us briefly what else you would like help with."))
        return cleaned


class MedicalHistoryForm(StepForm):
    """Each condition of the rule table, answered yes / no / not sure (clinical reference 2.5 and 4.2)."""

    LIVER_SEVERITY = [
        ("", _("Choose one")),
        ("A", _("Mild (Child-Pugh A)")),
        ("B", _("Moderate (Child-Pugh B)")),
        ("C", _("Severe (Child-Pugh C)")),
        ("unknown", _("I don't know")),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for condition in rules.MEDICAL_HISTORY_CONDITIONS:
            self.fields[condition.code] = forms.ChoiceField(
                label=condition.label, choices=YES_NO_UNSURE, widget=forms.RadioSelect
            )
        self.fields["liver_severity"] = forms.ChoiceField(
            label=_("If you have liver disease: how severe has a doctor said it is?"),
            choices=self.LIVER_SEVERITY,
            required=False,
        )
        self.fields["pregnant"] = forms.ChoiceField(
            label=_("Are you pregnant, or could you be?"),
            choices=[*YES_NO_UNSURE, ("not_applicable", _("Does not apply to me"))],
            widget=forms.RadioSelect,
        )
        self.fields["breastfeeding"] = forms.ChoiceField(
            label=_("Are you breastfeeding?"), choices=[*YES_NO, ("not_applicable", _("Does not apply to me"))],
            widget=forms.RadioSelect,
        )  # fmt: skip
        self.fields["other_conditions"] = forms.CharField(
            label=_(
                "Any other medical conditions, surgeries or hospital stays we should know about? (optional)"
            ),
            widget=forms.Textarea(attrs={"rows": 3}),
            max_length=2000,
            required=False,
        )
        self.style_fields()


MEDICATION_CLASS_CHOICES = [("", _("Not sure / none of these"))] + [
    (medication.code, f"{medication.label} (e.g. {medication.examples})")
    for medication in rules.MEDICATION_CLASSES
]


class MedicationForm(StepForm):
    """One row of the medication list."""

    name = forms.CharField(label=_("Medicine"), max_length=120, required=False)
    dose_mg = forms.DecimalField(
        label=_("Dose (mg)"),
        min_value=Decimal("0"),
        max_value=Decimal("10000"),
        decimal_places=2,
        required=False,
    )
    times_per_day = forms.DecimalField(
        label=_("Times a day"),
        min_value=Decimal("0"),
        max_value=Decimal("24"),
        decimal_places=1,
        required=False,
    )
    medication_class = forms.ChoiceField(
        label=_("Kind of medicine"), choices=MEDICATION_CLASS_CHOICES, required=False
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not cleaned.get("name") and (
            cleaned.get("dose_mg") is not None or cleaned.get("medication_class")
        ):
            self.add_error("name", _("Enter the medicine's name, or clear this row."))
        if cleaned.get("medication_class") == "benzodiazepine" and cleaned.get("dose_mg") is None:
            self.add_error("dose_mg", _("Enter the dose of this medicine in mg: the clinician needs it."))
        return cleaned


class MedicationsForm(StepForm):
    allergies = forms.CharField(
        label=_("Allergies to medicines, foods or anything else (write 'none' if none)"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    allergy_ketamine = forms.ChoiceField(
        label=_("Have you ever had an allergic reaction to ketamine or esketamine (Spravato)?"),
        choices=YES_NO_UNSURE,
        widget=forms.RadioSelect,
    )


MedicationFormSet = forms.formset_factory(
    MedicationForm, extra=0, max_num=40, absolute_max=40, validate_max=True
)


IMPROVEMENT_CHOICES = [
    # The TRD rule counts a trial as failed below 25 % improvement (EU-PEARL consensus, clinical reference 4.1).
    # Patients cannot be expected to give a percentage, so each answer stands for a representative value.
    ("none", _("No better at all"), 0),
    ("little", _("A little better (less than a quarter)"), 15),
    ("some", _("Somewhat better (a quarter to a half)"), 35),
    ("much", _("Much better (half or more)"), 60),
    ("unsure", _("Not sure"), None),
]
IMPROVEMENT_PERCENT = {code: pct for code, _label, pct in IMPROVEMENT_CHOICES}


class AntidepressantTrialForm(StepForm):
    drug = forms.CharField(label=_("Antidepressant"), max_length=120, required=False)
    highest_dose_mg = forms.DecimalField(
        label=_("Highest daily dose (mg)"),
        min_value=Decimal("0"),
        max_value=Decimal("10000"),
        decimal_places=2,
        required=False,
    )
    weeks = forms.IntegerField(label=_("Weeks taken"), min_value=0, max_value=1000, required=False)
    adherent = forms.ChoiceField(
        label=_("Taken as prescribed?"), choices=[("", _("Choose")), *YES_NO], required=False
    )
    improvement = forms.ChoiceField(
        label=_("How much better did you feel?"),
        choices=[("", _("Choose"))] + [(code, label) for code, label, _pct in IMPROVEMENT_CHOICES],
        required=False,
    )
    current_episode = forms.BooleanField(label=_("During this current episode"), required=False, initial=True)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("drug"):
            for name in ("weeks", "adherent", "improvement"):
                if cleaned.get(name) in (None, ""):
                    self.add_error(name, _("Please answer this for each antidepressant you list."))
        elif any(
            cleaned.get(name) not in (None, "", False)
            for name in ("highest_dose_mg", "weeks", "adherent", "improvement")
        ):
            self.add_error("drug", _("Enter the antidepressant's name, or clear this row."))
        return cleaned


AntidepressantTrialFormSet = forms.formset_factory(
    AntidepressantTrialForm, extra=0, max_num=30, absolute_max=30, validate_max=True
)


class TreatmentHistoryForm(StepForm):
    ect = forms.ChoiceField(
        label=_("Have you had ECT (electroconvulsive therapy)?"), choices=YES_NO, widget=forms.RadioSelect
    )
    ect_sessions = forms.IntegerField(
        label=_("If yes, about how many sessions?"), min_value=0, max_value=500, required=False
    )
    tms = forms.ChoiceField(
        label=_("Have you had TMS (transcranial magnetic stimulation)?"),
        choices=YES_NO,
        widget=forms.RadioSelect,
    )
    prior_ketamine = forms.ChoiceField(
        label=_("Have you had ketamine treatment before (infusion, injection or tablets)?"), choices=YES_NO,
        widget=forms.RadioSelect,
    )  # fmt: skip
    prior_esketamine = forms.ChoiceField(
        label=_("Have you had esketamine (Spravato) nasal spray before?"),
        choices=YES_NO,
        widget=forms.RadioSelect,
    )
    prior_ketamine_details = forms.CharField(
        label=_("If yes: how many sessions, did it help, and were there side effects? (optional)"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        required=False,
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("ect") == "no" and cleaned.get("ect_sessions"):
            self.add_error("ect_sessions", _("Leave this blank if you have not had ECT."))
        return cleaned


class BodyForm(StepForm):
    """Height and weight: the IV dose is weight-based, and BMI is shown to the clinician."""

    units = forms.ChoiceField(
        label=_("Units"), choices=[("us", _("Feet, inches and pounds")), ("metric", _("Centimeters and kilograms"))],
        widget=forms.RadioSelect, initial="us",
    )  # fmt: skip
    height_ft = forms.IntegerField(label=_("Height: feet"), min_value=3, max_value=8, required=False)
    height_in = forms.DecimalField(
        label=_("Height: inches"), min_value=0, max_value=Decimal("11.9"), decimal_places=1, required=False
    )
    weight_lb = forms.DecimalField(
        label=_("Weight: pounds"), min_value=60, max_value=800, decimal_places=1, required=False
    )
    height_cm = forms.DecimalField(
        label=_("Height: centimeters"), min_value=100, max_value=250, decimal_places=1, required=False
    )
    weight_kg = forms.DecimalField(
        label=_("Weight: kilograms"), min_value=30, max_value=350, decimal_places=1, required=False
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("units") == "us":
            for name in ("height_ft", "weight_lb"):
                if cleaned.get(name) is None and name not in self.errors:
                    self.add_error(name, _("Please fill this in."))
            if self.errors:
                return cleaned
            inches = Decimal(cleaned["height_ft"]) * 12 + (cleaned.get("height_in") or Decimal(0))
            cleaned["height_cm"] = (inches * Decimal("2.54")).quantize(Decimal("0.1"))
            cleaned["weight_kg"] = (cleaned["weight_lb"] * Decimal("0.45359237")).quantize(Decimal("0.1"))
        else:
            for name in ("height_cm", "weight_kg"):
                if cleaned.get(name) is None and name not in self.errors:
                    self.add_error(name, _("Please fill this in."))
        if not self.errors and not (100 <= cleaned["height_cm"] <= 250 and 30 <= cleaned["weight_kg"] <= 350):
            raise ValidationError(
                _("Please check your height and weight: they are outside the range we can accept.")
            )
        return cleaned


class InstrumentForm(StepForm):
    """A questionnaire built from its definition file: one labelled radio group per question.

    Branching (C-SSRS: questions 3 to 5 only after a yes to question 2) is applied on the server: an item is shown
    and required only when the answer it depends on has been given, so the page works without JavaScript.
    """

    def __init__(self, *args: Any, definition: InstrumentDefinition, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.definition = definition
        self.hidden_items: list[str] = []
        questions = _question_fields(definition)
        for item in definition.items:
            if item.shown_if is not None:
                parent = _encode(item.shown_if.equals)
                if self.is_bound:
                    given = self.data.get(self.add_prefix(item.shown_if.item), "")
                else:
                    given = _encode(self.initial.get(item.shown_if.item, ""))
                if str(given) != parent:
                    self.hidden_items.append(item.key)
                    continue
            self.fields[item.key] = copy.deepcopy(questions[item.key])
        self.initial = {key: _encode(value) for key, value in self.initial.items() if value is not None}
        self.style_fields()

    @property
    def newly_shown(self) -> bool:
        """True when this answer revealed follow-up questions the patient has not seen yet."""
        return any(
            item.shown_if is not None and item.key in self.fields and not self.data.get(item.key)
            for item in self.definition.items
        )

    def answers(self) -> dict[str, Any]:
        decoded: dict[str, Any] = {}
        for item in self.definition.items:
            raw = self.cleaned_data.get(item.key)
            decoded[item.key] = None if raw in (None, "") else _decode(raw, item.values)
        return decoded


class QuestionField(forms.ChoiceField):
    """One question, made once per instrument (``_question_fields``) and copied for each form. The copies share the
    choices, which never change (Django's deepcopy of them was most of a form's cost, bench/README.md), but not the
    widget attributes, which each form marks with its errors and descriptions."""

    def __deepcopy__(self, memo: dict[int, Any]) -> QuestionField:
        result = copy.copy(self)
        memo[id(self)] = result
        result.widget = copy.copy(self.widget)
        result.widget.attrs = self.widget.attrs.copy()
        result.error_messages = self.error_messages.copy()
        result.validators = self.validators[:]
        return result


# One entry per loaded definition, by identity: two may share a code and version, and hashing one walks every item.
_QUESTIONS: dict[int, tuple[InstrumentDefinition, dict[str, QuestionField]]] = {}


def _question_fields(definition: InstrumentDefinition) -> dict[str, QuestionField]:
    entry = _QUESTIONS.get(id(definition))
    if entry is None or entry[0] is not definition:
        entry = (definition, {item.key: _question_field(item) for item in definition.items})
        _QUESTIONS[id(definition)] = entry
    return entry[1]


def _question_field(item: Item) -> QuestionField:
    return QuestionField(
        label=f"{item.number}. {item.text}" if item.number else item.text,
        choices=[(_encode(option.value), option.label) for option in item.options],
        widget=forms.RadioSelect,
        required=item.required,
        help_text=item.help_text,
        error_messages={"required": _("Please choose an answer to this question.")},
    )


def _encode(value: Any) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value)


def _decode(raw: str, values: tuple[Any, ...]) -> Any:
    for value in values:
        if _encode(value) == raw:
            return value
    raise ValidationError(_("That is not one of the answers."))


class ConsentForm(StepForm):
    typed_name = forms.CharField(label=_("Type your full legal name to sign"), max_length=200)
    agree = forms.BooleanField(
        label=_("I have read the consent above and I agree to it."),
        error_messages={"required": _("Tick this box to agree, or call the clinic if you have questions.")},
    )

    def __init__(self, *args: Any, legal_name: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.legal_name = legal_name

    def clean_typed_name(self) -> str:
        typed = " ".join(self.cleaned_data["typed_name"].split())
        if self.legal_name and typed.casefold() != " ".join(self.legal_name.split()).casefold():
            raise ValidationError(
                _("Type your name exactly as on the contact step: %(legal_name)s.")
                % {"legal_name": self.legal_name}
            )
        return typed


class InvitePatientForm(forms.Form):
    legal_first_name = forms.CharField(label=_("Legal first name"), max_length=100)
    legal_last_name = forms.CharField(label=_("Legal last name"), max_length=100)
    email = forms.EmailField(label=_("Email address"))
    date_of_birth = forms.DateField(
        label=_("Date of birth (optional)"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()


class SetPasswordForInvitationForm(forms.Form):
    password1 = forms.CharField(
        label=_("Choose a password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label=_("Type it again"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if cleaned.get("password1") and cleaned.get("password1") != cleaned.get("password2"):
            self.add_error("password2", _("The two passwords are not the same."))
        return cleaned


class SelfRegistrationForm(InvitePatientForm):
    date_of_birth = forms.DateField(label=_("Date of birth"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean_date_of_birth(self) -> date:
        born = self.cleaned_data["date_of_birth"]
        if age_on(born, timezone.localdate()) < rules.MIN_AGE_YEARS:
            raise ValidationError(
                _(
                    "We can only treat adults aged 18 or over. Please call the clinic and we will help you find care."
                )
            )
        return born
