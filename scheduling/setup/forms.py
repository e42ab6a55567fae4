"""The set-up pages' forms. They parse and explain; the set-up and calendar services decide (and the database's
constraints are the guarantee: a model form shows a constraint's message next to its fields before anything is
saved)."""

from __future__ import annotations

import re
import zoneinfo
from datetime import datetime, time
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinic.forms import AccessibleForm
from clinic.parsing import CALENDAR_YEARS, CalendarDayField, far_from_today
from clinic.roles import Role
from scheduling import selectors
from scheduling.forms.resource import default_cleaning_minutes, optional_cleaning_minutes
from scheduling.models import WEEKDAYS, CourseTemplate, Location, Resource, TreatmentType

WEEKLY_HOURS_HELP = gettext_lazy(
    "24-hour times, such as 08:00-18:00; several spans with commas (08:00-12:00, 13:00-17:00). Empty: closed."
)
_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_spans(text: str) -> list[tuple[time, time]]:
    """'08:00-12:00, 13:00-17:00' as local windows, in order; ValueError with the person's words if unusable."""
    spans: list[tuple[time, time]] = []
    for part in (p for p in text.split(",") if p.strip()):
        match = _SPAN.match(part)
        if not match:
            raise ValueError(_("Write each span as two 24-hour times, such as 08:00-18:00."))
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            raise ValueError(_("Times run from 00:00 to 23:59."))
        start, end = time(h1, m1), time(h2, m2)
        if end <= start:
            raise ValueError(_("Each span must end after it starts (%(span)s).") % {"span": part.strip()})
        spans.append((start, end))
    spans.sort()
    for (_s1, e1), (s2, _e2) in zip(spans, spans[1:], strict=False):
        if s2 < e1:
            raise ValueError(_("The spans overlap: make them one."))
    return spans


def spans_text(spans: list[tuple[time, time]]) -> str:
    return ", ".join(f"{a:%H:%M}-{b:%H:%M}" for a, b in spans)


class LocationForm(AccessibleForm, forms.ModelForm):
    class Meta:
        model = Location
        fields = ["name", "address", "phone", "time_zone", "is_active"]
        labels = {
            "name": gettext_lazy("Name"),
            "address": gettext_lazy("Address"),
            "phone": gettext_lazy("Phone (optional)"),
            "time_zone": gettext_lazy("Time zone"),
            "is_active": gettext_lazy("In use (offered for booking)"),
        }
        help_texts = {
            "time_zone": gettext_lazy("An IANA time zone, such as America/New_York or America/Chicago.")
        }
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}

    def clean_time_zone(self) -> str:
        name = self.cleaned_data["time_zone"].strip()
        if name not in zoneinfo.available_timezones():
            raise forms.ValidationError(_("Choose an IANA time zone, such as America/New_York."))
        if not selectors.database_knows_time_zone(name):
            raise forms.ValidationError(
                _("The database server does not know %(zone)s yet: use another name for the same zone.")
                % {"zone": name}
            )
        return name


class WeeklyHoursForm(AccessibleForm):
    """One field a weekday (for each ``keys`` entry: a location's week, or a clinician's at each location)."""

    def __init__(
        self, *args: Any, rows: list[tuple[str, str]], initial_spans: dict[str, list], **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        for key, label in rows:
            self.fields[key] = forms.CharField(
                label=label,
                required=False,
                max_length=100,
                help_text=WEEKLY_HOURS_HELP,
                initial=spans_text(initial_spans.get(key, [])),
            )
        self.style_fields()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for key in list(self.fields):
            try:
                cleaned[key] = parse_spans(cleaned.get(key) or "")
            except ValueError as exc:
                self.add_error(key, str(exc))
        return cleaned


class ClosureForm(AccessibleForm):
    date = CalendarDayField(label=gettext_lazy("Closed on"), widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=gettext_lazy("Reason (optional)"), required=False, max_length=200)

    def clean_date(self):
        day = self.cleaned_data["date"]
        if far_from_today(day):
            raise forms.ValidationError(
                _("Choose a day within %(years)s years of today.") % {"years": CALENDAR_YEARS}
            )
        return day


class ResourceForm(AccessibleForm, forms.ModelForm):
    class Meta:
        model = Resource
        fields = ["name", "kind", "is_active", "treatment_types", "cleaning_minutes"]
        labels = {
            "name": gettext_lazy("Name"),
            "kind": gettext_lazy("Kind"),
            "is_active": gettext_lazy("In use"),
            "cleaning_minutes": gettext_lazy("Cleaning after each session (minutes)"),
            "treatment_types": gettext_lazy("Treatments given here"),
        }
        help_texts = {
            "treatment_types": gettext_lazy("Choose at least one, each needing this kind of chair or room.")
        }
        widgets = {"treatment_types": forms.CheckboxSelectMultiple, "kind": forms.RadioSelect}

    def __init__(self, *args: Any, location: Location, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.location = location
        field = self.fields["treatment_types"]
        assert isinstance(field, forms.ModelMultipleChoiceField)
        field.queryset = TreatmentType.objects.filter(is_active=True).order_by("modality", "label")
        field.required = True
        optional_cleaning_minutes(self)
        self.style_fields()

    def clean_name(self) -> str:
        # The location is the page's, not a field, so the model form leaves this constraint to the database.
        name = self.cleaned_data["name"].strip()
        others = Resource.objects.filter(location=self.instance.location, name__iexact=name)
        if others.exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(_("This location already has a chair or room with that name."))
        return name

    def clean(self) -> dict[str, Any]:
        cleaned = default_cleaning_minutes(super().clean())
        kind, chosen = cleaned.get("kind"), cleaned.get("treatment_types")
        if kind and chosen:
            wrong = [t.label for t in chosen if t.resource_kind != kind]
            if wrong:
                self.add_error(
                    "treatment_types",
                    _("%(names)s need another kind of chair or room.") % {"names": ", ".join(wrong)},
                )
        return cleaned


class TreatmentTypeForm(AccessibleForm, forms.ModelForm):
    """The protocol of a treatment: durations and the clinician's hold segments, monitoring minimums and readings,
    the dose rule (Spravato's device dose, the spacing between dosing days) and the preparation instructions
    reminders carry."""

    class Meta:
        model = TreatmentType
        fields = [
            "label", "code", "modality", "resource_kind", "chair_minutes", "clinician_offset_minutes",
            "clinician_minutes", "discharge_minutes", "dose_mg", "min_days_apart", "min_monitoring_minutes",
            "monitoring_from", "vitals_at_40_min_required", "vitals_before_discharge_required",
            "vitals_during_dose_every_minutes", "preparation", "is_active",
        ]  # fmt: skip
        labels = {
            "label": gettext_lazy("Name"),
            "code": gettext_lazy("Short code"),
            "modality": gettext_lazy("Modality"),
            "resource_kind": gettext_lazy("Needs"),
            "chair_minutes": gettext_lazy("Chair or room held (minutes)"),
            "clinician_offset_minutes": gettext_lazy("Clinician needed from (minutes after the start)"),
            "clinician_minutes": gettext_lazy("Clinician held for dosing (minutes)"),
            "discharge_minutes": gettext_lazy("Clinician held again for discharge (last minutes; 0: none)"),
            "dose_mg": gettext_lazy("Spravato dose (mg, optional)"),
            "min_days_apart": gettext_lazy("Fewest days between dosing sessions"),
            "min_monitoring_minutes": gettext_lazy("Minimum monitoring before discharge (minutes)"),
            "monitoring_from": gettext_lazy("Monitoring time counts from"),
            "vitals_at_40_min_required": gettext_lazy("Vital signs about 40 minutes after the dose required"),
            "vitals_before_discharge_required": gettext_lazy("Vital signs before discharge required"),
            "vitals_during_dose_every_minutes": gettext_lazy(
                "Suggest a reading during the dose every (minutes)"
            ),
            "preparation": gettext_lazy("Preparation instructions (sent with reminders)"),
            "is_active": gettext_lazy("In use (offered for booking)"),
        }
        help_texts = {
            "code": gettext_lazy("Letters, digits and hyphens, such as iv-ketamine."),
            "dose_mg": gettext_lazy("56 or 84. Empty for weight-based IV dosing."),
            "preparation": gettext_lazy(
                "For example: nothing to eat for 4 hours before; arrange a ride home."
            ),
        }
        widgets = {"preparation": forms.Textarea(attrs={"rows": 3})}

    def clean_dose_mg(self):
        dose = self.cleaned_data.get("dose_mg")
        if dose is not None and dose not in (56, 84):
            raise forms.ValidationError(_("Spravato is given as 56 or 84 mg."))
        return dose


_SESSION_LINE = re.compile(r"^\s*week\s+(\d{1,3})\s*,\s*day\s+(\d)\s*(?::\s*(.*?))?\s*$", re.IGNORECASE)


def parse_session_lines(text: str) -> list[list]:
    """One session a line, 'Week 1, day 2: note' (day N: the course's Nth chosen weekday), as stored
    ``[week, weekday_slot, note]`` rows; ValueError naming the first unusable line."""
    sessions: list[list] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _SESSION_LINE.match(line)
        if not match or int(match[1]) < 1 or int(match[2]) < 1:
            raise ValueError(
                _("Line %(number)d: write each session as Week 1, day 1: a note (the note is optional).")
                % {"number": number}
            )
        sessions.append([int(match[1]), int(match[2]) - 1, (match[3] or "")[:200]])
    return sessions


def session_lines(sessions: list) -> str:
    """The stored sessions as the lines the form edits."""
    return "\n".join(
        f"Week {week}, day {slot + 1}: {note}" if note else f"Week {week}, day {slot + 1}"
        for week, slot, note in sessions
    )


class CourseTemplateForm(AccessibleForm, forms.ModelForm):
    """A series template: its sessions by week and chosen weekday, the spacing, and whether it is offered."""

    session_lines = forms.CharField(
        label=gettext_lazy("Sessions, one a line"),
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text=gettext_lazy(
            "Week 1, day 1: a note. Weeks count from the first session; day 1 is the first weekday front desk "
            "chooses, day 2 the next, so a course with days 1 to 3 is booked on three weekdays."
        ),
    )

    class Meta:
        model = CourseTemplate
        fields = ["label", "code", "modality", "min_days_between", "source", "is_active"]
        labels = {
            "label": gettext_lazy("Name"),
            "code": gettext_lazy("Short code"),
            "modality": gettext_lazy("Treatment"),
            "min_days_between": gettext_lazy("Fewest days between two sessions"),
            "source": gettext_lazy("Source (protocol or reference)"),
            "is_active": gettext_lazy("In use (front desk can book it)"),
        }
        help_texts = {
            "code": gettext_lazy("Letters, digits and hyphens; it cannot change later."),
            "min_days_between": gettext_lazy("1 to 7. Monday to Wednesday is 2."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            # Booked series name their template by code and were checked for its treatment.
            self.fields["code"].disabled = True
            self.fields["modality"].disabled = True
            self.initial.setdefault("session_lines", session_lines(self.instance.sessions))

    def clean_session_lines(self):
        try:
            sessions = parse_session_lines(self.cleaned_data["session_lines"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        if not sessions:
            raise forms.ValidationError(_("A course needs at least one session."))
        self.instance.sessions = sessions
        return sessions


class StaffInviteForm(AccessibleForm):
    ROLES = [
        (Role.CLINICIAN.value, gettext_lazy("Clinician")),
        (Role.FRONT_DESK.value, gettext_lazy("Front desk")),
        (Role.CLINIC_ADMIN.value, gettext_lazy("Clinic admin")),
    ]
    full_name = forms.CharField(label=gettext_lazy("Full name"), max_length=200)
    email = forms.EmailField(label=gettext_lazy("Email"), max_length=254)
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=ROLES, widget=forms.RadioSelect)
    credentials = forms.CharField(
        label=gettext_lazy("Credentials (clinicians, optional)"),
        required=False,
        max_length=40,
        help_text=gettext_lazy("For example MD, NP, RN."),
    )
    locations = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Works at"),
        queryset=Location.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["locations"]
        assert isinstance(field, forms.ModelMultipleChoiceField)
        field.queryset = Location.objects.filter(is_active=True).order_by("name")


class StaffRoleForm(AccessibleForm):
    role = forms.ChoiceField(
        label=gettext_lazy("Role"), choices=StaffInviteForm.ROLES, widget=forms.RadioSelect
    )


class ClinicianForm(AccessibleForm):
    credentials = forms.CharField(label=gettext_lazy("Credentials (optional)"), required=False, max_length=40)
    is_on_call = forms.BooleanField(
        label=gettext_lazy("On call for urgent suicide-risk alerts"), required=False
    )
    locations = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Works at"),
        queryset=Location.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["locations"]
        assert isinstance(field, forms.ModelMultipleChoiceField)
        field.queryset = Location.objects.order_by("name")


class FrontDeskForm(AccessibleForm):
    locations = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Works at"), queryset=Location.objects.none(), widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["locations"]
        assert isinstance(field, forms.ModelMultipleChoiceField)
        field.queryset = Location.objects.order_by("name")


class TimeOffForm(AccessibleForm):
    """A stretch of time off, in the local time of the clinician's first location (named on the page)."""

    starts_on = CalendarDayField(
        label=gettext_lazy("From (day)"), widget=forms.DateInput(attrs={"type": "date"})
    )
    starts_at = forms.TimeField(
        label=gettext_lazy("From (time)"),
        initial=time(0),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    ends_on = CalendarDayField(
        label=gettext_lazy("Until (day)"), widget=forms.DateInput(attrs={"type": "date"})
    )
    ends_at = forms.TimeField(
        label=gettext_lazy("Until (time)"),
        initial=time(23, 59),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    reason = forms.CharField(label=gettext_lazy("Reason (optional)"), required=False, max_length=200)

    def __init__(self, *args: Any, tz: zoneinfo.ZoneInfo, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tz = tz

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        first_day, first_time = cleaned.get("starts_on"), cleaned.get("starts_at")
        last_day, last_time = cleaned.get("ends_on"), cleaned.get("ends_at")
        if first_day and first_time and last_day and last_time:
            starts = datetime.combine(first_day, first_time, tzinfo=self.tz)
            ends = datetime.combine(last_day, last_time, tzinfo=self.tz)
            if ends <= starts:
                self.add_error("ends_on", _("Time off must end after it starts."))
            cleaned["starts"], cleaned["ends"] = starts, ends
        return cleaned


WEEKDAY_NAMES = dict(WEEKDAYS)
