"""Front-desk forms. They parse and explain; the services decide (and the database guarantees). The session
day's forms are in ``scheduling.forms.session_day``."""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from django import forms
from django.forms.models import BaseInlineFormSet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic.local_time import format_clock, format_day, format_local
from clinic.parsing import CALENDAR_YEARS, CalendarDayField, far_from_today, object_id, parse_moment
from intake.export import IN_THE_DOWNLOAD
from scheduling import selectors, series, services
from scheduling.forms.base import _helper
from scheduling.models import (
    WEEKDAYS,
    Appointment,
    Clinician,
    ClinicianTimeOff,
    Closure,
    Location,
    Resource,
    TreatmentType,
)


def _offer_locations(form: forms.Form, locations) -> None:
    """Offer only ``locations`` (those the person may see: scheduling.access.visible_locations) that are open: a
    location posted from outside them is refused like any unknown choice. The forms take ``locations`` as a
    required keyword, so that no view can forget to say which."""
    field = form.fields["location"]
    assert isinstance(field, forms.ModelChoiceField)
    field.queryset = locations.filter(is_active=True)


class PatientSearchForm(forms.Form):
    # Searched by POST, so a patient's name never lands in a URL or an access log (engineering guide 5).
    q = forms.CharField(
        label=_("Name, email or phone"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper()


class DayForm(forms.Form):
    location = forms.ModelChoiceField(queryset=Location.objects.filter(is_active=True), empty_label=None)
    date = CalendarDayField(widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper()


class CoverForm(forms.Form):
    """Which clinician is away, and when (local dates, both included): the cover page lists their sessions."""

    clinician = forms.ModelChoiceField(
        label=_("Clinician away"),
        queryset=Clinician.objects.select_related("user").order_by("user__full_name", "pk"),
        empty_label=_("Choose a clinician"),
    )
    date_from = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To (included)"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, clinicians, **kwargs):
        """``clinicians``: those the person arranging cover may see (scheduling.access.visible_clinicians)."""
        super().__init__(*args, **kwargs)
        self.fields["clinician"].queryset = clinicians.select_related("user").order_by(
            "user__full_name", "pk"
        )
        self.helper = _helper()

    def clean(self):
        cleaned = super().clean()
        first, last = cleaned.get("date_from"), cleaned.get("date_to")
        for name, day in (("date_from", first), ("date_to", last)):
            if day and far_from_today(day):
                self.add_error(
                    name,
                    _("Choose a day within %(calendar_years)s years of today.")
                    % {"calendar_years": CALENDAR_YEARS},
                )
                first = last = None
        if first and last:
            if last < first:
                self.add_error("date_to", _("The last day cannot be before the first."))
            elif (last - first).days >= selectors.COVER_MAX_DAYS:
                self.add_error(
                    "date_to",
                    _("Arrange cover for %(cover_max_days)s days at most at a time.")
                    % {"cover_max_days": selectors.COVER_MAX_DAYS},
                )
        return cleaned


class SlotSearchForm(forms.Form):
    """Step 1 of booking: what, where and which day; the page then lists the free times."""

    treatment_type = forms.ModelChoiceField(
        label=_("Treatment"), queryset=TreatmentType.objects.filter(is_active=True), empty_label=None
    )
    location = forms.ModelChoiceField(queryset=Location.objects.filter(is_active=True), empty_label=None)
    date = CalendarDayField(label=_("Day"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, locations, **kwargs):
        super().__init__(*args, **kwargs)
        _offer_locations(self, locations)
        self.helper = _helper()


class SlotChoiceForm(forms.Form):
    """Step 2: one of the offered times (start, chair or room, clinician)."""

    # A plain field shown as radio buttons: a time that was offered but got taken meanwhile must still reach the
    # service, which answers with what is taken and the nearest free times (not "select a valid choice").
    slot = forms.CharField(
        label=_("Free times"),
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose one of the free times listed.")},
    )
    notes = forms.CharField(label=_("Note for the care team (optional)"), required=False, max_length=500,
                            help_text=IN_THE_DOWNLOAD, widget=forms.Textarea(attrs={"rows": 2}))  # fmt: skip

    def __init__(self, *args, options=(), location=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.options = {option.key: option for option in options}
        tz = location.tz if location else UTC
        self.fields["slot"].widget.choices = [
            (
                option.key,
                f"{format_clock(option.start, tz)} to {format_clock(option.end, tz)} {option.end.astimezone(tz):%Z} · "
                f"{option.resource_name} · {option.clinician_name}",
            )
            for option in options
        ]
        self.helper = _helper()

    def clean_slot(self):
        """The time with its chair or room and clinician as records. One that does not exist is refused here:
        left empty, the booking would pick a free one itself, which is not what was chosen."""
        key = self.cleaned_data["slot"]
        start, resource_id, clinician_id = parse_slot_key(key)
        resource = Resource.objects.filter(pk=resource_id).first()
        clinician = Clinician.objects.select_related("user").filter(pk=clinician_id).first()
        if resource is None or clinician is None:
            raise forms.ValidationError(
                _(
                    "That time names a chair, room or clinician the clinic does not have: choose one of the free "
                    "times listed."
                )
            )
        return {"start": start, "resource": resource, "clinician": clinician}


def parse_slot_key(key: str) -> tuple[datetime, int, int]:
    try:
        start_text, resource_text, clinician_text = key.split("|")
        start = parse_moment(start_text, now=timezone.now())
    except ValueError:
        raise forms.ValidationError(_("Choose one of the free times listed.")) from None
    resource_id, clinician_id = object_id(resource_text), object_id(clinician_text)
    if resource_id is None or clinician_id is None:
        raise forms.ValidationError(_("Choose one of the free times listed."))
    return start, resource_id, clinician_id


class SeriesForm(forms.Form):
    template = forms.ChoiceField(label=_("Course"))
    treatment_type = forms.ModelChoiceField(
        label=_("Treatment"), queryset=TreatmentType.objects.filter(is_active=True).exclude(modality="consultation"),
        empty_label=None,
    )  # fmt: skip
    location = forms.ModelChoiceField(queryset=Location.objects.filter(is_active=True), empty_label=None)
    start_date = CalendarDayField(
        label=_("First week starting"), widget=forms.DateInput(attrs={"type": "date"})
    )
    weekdays = forms.TypedMultipleChoiceField(
        label=_("Days of the week"),
        choices=WEEKDAYS,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("IV induction: choose 3 (e.g. Monday, Wednesday, Friday). Spravato induction: choose 2."),
    )
    local_time = forms.TimeField(
        label=_("Start time (clinic's local time)"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )

    def __init__(self, *args, locations, **kwargs):
        super().__init__(*args, **kwargs)
        self.templates = {t.code: t for t in selectors.bookable_course_templates()}
        self.fields["template"].choices = [(code, t.label) for code, t in self.templates.items()]
        _offer_locations(self, locations)
        self.helper = _helper()

    def clean(self):
        cleaned = super().clean()
        template = self.templates.get(cleaned.get("template", ""))
        treatment_type = cleaned.get("treatment_type")
        if (
            template
            and treatment_type
            and selectors.TEMPLATE_MODALITY.get(template.modality) != treatment_type.modality
        ):
            self.add_error(
                "treatment_type",
                _("%(template)s is not a course of %(treatment_type)s.")
                % {"template": template.label, "treatment_type": treatment_type.label},
            )
        location, start_date = cleaned.get("location"), cleaned.get("start_date")
        if location is not None and start_date is not None:
            now = timezone.now()
            today = now.astimezone(location.tz).date()
            last = services.last_bookable_day(location, now)
            if start_date < today:
                self.add_error(
                    "start_date",
                    _(
                        "The first week cannot start in the past: choose %(today)s or later (today at %(location)s)."
                    )
                    % {"today": format_day(today), "location": location.name},
                )
            elif start_date > last:
                self.add_error(
                    "start_date",
                    _("The first week is too far ahead: sessions are booked until %(last)s.")
                    % {"last": format_day(last)},
                )
        weekdays = cleaned.get("weekdays")
        if template and weekdays:
            try:
                series.check_series_weekdays(template, weekdays)
            except ValueError as exc:
                self.add_error("weekdays", str(exc))
        cleaned["template_obj"] = template
        return cleaned


class CancelForm(forms.Form):
    REASONS = [
        ("", "Choose a reason"),
        ("Patient request", "Patient request"),
        ("Patient unwell", "Patient unwell"),
        ("No escort or driver", "No escort or driver"),
        ("Clinical decision", "Clinical decision"),
        ("Clinic closure or staffing", "Clinic closure or staffing"),
        ("Other", "Other (say below)"),
    ]
    reason = forms.ChoiceField(label=_("Reason"), choices=REASONS)
    details = forms.CharField(label=_("Details (optional)"), required=False, max_length=250,
                              help_text=IN_THE_DOWNLOAD, widget=forms.Textarea(attrs={"rows": 2}))  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper()

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("reason") == "Other" and not cleaned.get("details", "").strip():
            self.add_error("details", _("Say why the session is cancelled."))
        return cleaned

    @property
    def reason_text(self) -> str:
        reason, details = self.cleaned_data["reason"], self.cleaned_data.get("details", "").strip()
        return f"{reason}: {details}" if details else reason


class RemsForm(forms.Form):
    enrolled_on = forms.DateField(
        label=_("Date of the Patient Enrollment Form"), widget=forms.DateInput(attrs={"type": "date"})
    )
    rems_patient_id = forms.CharField(label=_("REMS patient ID (optional)"), required=False, max_length=40)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper()


# --- Waitlist ---------------------------------------------------------------------------------------------------


class WaitlistForm(forms.Form):
    treatment_type = forms.ModelChoiceField(
        label=_("Treatment"), queryset=TreatmentType.objects.filter(is_active=True), empty_label=None
    )
    location = forms.ModelChoiceField(queryset=Location.objects.filter(is_active=True), empty_label=None)
    earliest_date = CalendarDayField(label=_("Can come from"), widget=forms.DateInput(attrs={"type": "date"}))
    latest_date = CalendarDayField(label=_("Until"), widget=forms.DateInput(attrs={"type": "date"}))
    current_appointment: forms.ModelChoiceField = forms.ModelChoiceField(
        label=_("Session to bring forward (optional)"),
        queryset=None,
        required=False,
        empty_label=_("None: a new session"),
    )
    notes = forms.CharField(
        label=_("Notes (optional)"), required=False, max_length=300, help_text=IN_THE_DOWNLOAD
    )

    def __init__(self, *args, locations, patient=None, upcoming=(), **kwargs):
        kwargs.setdefault("prefix", "waitlist")
        super().__init__(*args, **kwargs)
        _offer_locations(self, locations)
        self.fields["current_appointment"].queryset = Appointment.objects.filter(
            pk__in=[a.pk for a in upcoming]
        )
        self.fields["current_appointment"].label_from_instance = lambda a: (
            f"{format_local(a.start_at, a.location)} · {a.treatment_type.label}"
        )
        self.helper = _helper()

    def clean(self):
        cleaned = super().clean()
        first, last = cleaned.get("earliest_date"), cleaned.get("latest_date")
        if first and last and last < first:
            self.add_error("latest_date", _("The last day must be on or after the first day."))
        return cleaned


# --- Calendar changes (the admin's time off, closures and weekly hours) ------------------------------------------
#
# The forms check what they were given; whether it may be saved is the calendar services' answer
# (scheduling.services.calendar), asked here too, without its lock, so that the sessions in the way are listed next
# to the form before anything is saved. The admin saves through those services, which ask again under the lock.


class ClinicianTimeOffForm(forms.ModelForm):
    """Time off is refused over booked sessions, which are listed."""

    class Meta:
        model = ClinicianTimeOff
        fields = ["clinician", "starts_at", "ends_at", "reason"]

    def clean(self):
        cleaned = super().clean()
        starts, ends = cleaned.get("starts_at"), cleaned.get("ends_at")
        # In the clinician's page (an inline) the clinician is the page's, not a field.
        clinician = cleaned.get("clinician") or getattr(self.instance, "clinician", None)
        if (
            self.errors
            or clinician is None
            or clinician.pk is None
            or not (starts and ends)
            or ends <= starts
            or (self.instance.pk and not self.has_changed())
            or cleaned.get("DELETE")
        ):
            # Reversed times: the model's constraint says "Time off must end after it starts". An unchanged row
            # (the clinician's page cleans every one on each save) is not saved again, nor a deleted one: neither
            # is checked.
            return cleaned
        if refusal := services.time_off_refusal(clinician=clinician, starts_at=starts, ends_at=ends):
            raise forms.ValidationError(refusal.message)
        return cleaned


class ClosureForm(forms.ModelForm):
    """A closure is refused on a day with booked sessions, which are listed."""

    class Meta:
        model = Closure
        fields = ["location", "date", "reason"]

    def clean(self):
        cleaned = super().clean()
        day = cleaned.get("date")
        location = cleaned.get("location") or getattr(self.instance, "location", None)
        if day is not None and far_from_today(day):
            self.add_error(
                "date",
                _("Choose a day within %(calendar_years)s years of today.")
                % {"calendar_years": CALENDAR_YEARS},
            )
        if (
            self.errors
            or location is None
            or location.pk is None
            or day is None
            or (self.instance.pk and not self.has_changed())  # unchanged: not saved, not checked
            or cleaned.get("DELETE")
        ):
            return cleaned
        if refusal := services.closure_refusal(location=location, day=day):
            raise forms.ValidationError(refusal.message)
        return cleaned


class _WeeklyHoursFormSet(BaseInlineFormSet):
    """A page's weekly hours (a location's opening hours, a clinician's working hours), judged as a whole once
    every row is valid: the new hours must still hold every upcoming session booked in the old ones."""

    start_field = end_field = ""

    def windows(self) -> dict:
        kept: dict = defaultdict(list)
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE") or data.get(self.start_field) is None:
                continue
            kept[self.key(data)].append((data[self.start_field], data[self.end_field]))
        return kept

    def clean(self) -> None:
        super().clean()
        if any(self.errors) or self.instance.pk is None or not self.has_changed():
            return  # nothing new to judge (a save of the page's other fields)
        if refusal := self.refusal(self.windows(), now=timezone.now()):
            raise forms.ValidationError(refusal.message)

    def key(self, data: dict) -> Any:
        """What a row's window belongs to (a weekday, or a location and a weekday)."""
        raise NotImplementedError

    def refuse_if_sessions_outside(self, windows: dict, *, now) -> None:
        raise NotImplementedError


class OpeningHoursFormSet(_WeeklyHoursFormSet):
    start_field, end_field = "opens", "closes"

    def key(self, data: dict) -> int:
        return data["weekday"]

    def refusal(self, windows: dict, *, now) -> services.SchedulingError | None:
        return services.opening_hours_refusal(location=self.instance, windows=windows, now=now)


class WorkingHoursFormSet(_WeeklyHoursFormSet):
    start_field, end_field = "starts", "ends"

    def key(self, data: dict) -> tuple[int, int]:
        return (data["location"].pk, data["weekday"])

    def refusal(self, windows: dict, *, now) -> services.SchedulingError | None:
        return services.working_hours_refusal(clinician=self.instance, windows=windows, now=now)


class LocationForm(forms.ModelForm):
    """A location's page: its time zone must be known to the database as well as to Python (the model's check)."""

    class Meta:
        model = Location
        fields = ["name", "time_zone", "address", "phone", "is_active"]

    def clean_time_zone(self) -> str:
        name = self.cleaned_data["time_zone"]
        # A name Python does not know either gets the model's own message.
        if name in zoneinfo.available_timezones() and not selectors.database_knows_time_zone(name):
            raise forms.ValidationError(
                _(
                    "The database server's time zone data does not know %(name)s yet: use another name for the same zone, or update the server."
                )
                % {"name": f"{name!r}"}
            )
        return name


def _yes_no(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


class RemsMonitoringFormForm(forms.Form):
    """The REMS Patient Monitoring Form's answers, in the form's order, with its own definitions as help. Every
    answer may be left blank while the form is a draft; "mark sent" is refused until the required ones are given
    (services.mark_rems_form_submitted). Times are the clinic's local clock on the session's day."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        from scheduling import rems_form
        from scheduling.models import RemsMonitoringForm

        for section in rems_form.SECTIONS:
            for f in section.fields:
                if f.from_record:
                    continue
                help_text = f.definition
                if f.kind == rems_form.YES_NO:
                    self.fields[f.key] = forms.TypedChoiceField(
                        label=f.label, help_text=help_text, required=False, coerce=_yes_no, empty_value=None,
                        choices=[("yes", _("Yes")), ("no", _("No")), ("", _("Not answered yet"))],
                        widget=forms.RadioSelect,
                    )  # fmt: skip
                elif f.kind == "sex":
                    self.fields[f.key] = forms.ChoiceField(
                        label=f.label,
                        help_text=help_text,
                        required=False,
                        choices=[("", _("Not answered yet")), *RemsMonitoringForm.Sex.choices],
                    )
                elif f.kind == "bp":
                    for part, (low, high) in (("systolic", (40, 300)), ("diastolic", (20, 200))):
                        self.fields[f"{f.key}_{part}"] = forms.IntegerField(
                            label=_("%(f)s: %(part)s") % {"f": f.label, "part": part},
                            required=False,
                            min_value=low,
                            max_value=high,
                        )
                elif f.kind == "clock":
                    self.fields[f.key] = forms.TimeField(
                        label=_("%(f)s (clinic's local time)") % {"f": f.label},
                        help_text=help_text,
                        required=False,
                        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                    )
                elif f.kind in ("dose", "minutes"):
                    self.fields[f.key] = forms.IntegerField(
                        label=f.label,
                        help_text=help_text,
                        required=False,
                        min_value=0 if f.kind == "minutes" else 1,
                        max_value=1440 if f.kind == "minutes" else 200,
                    )
                else:
                    model_field = RemsMonitoringForm._meta.get_field(f.key)
                    self.fields[f.key] = forms.CharField(
                        label=f.label,
                        help_text=help_text,
                        required=False,
                        max_length=getattr(model_field, "max_length", None) or 2000,
                        widget=forms.Textarea(attrs={"rows": 3})
                        if f.key == "adverse_event_description"
                        else forms.TextInput,
                    )
        if "provider_email" in self.fields:
            self.fields["provider_email"] = forms.EmailField(
                label=self.fields["provider_email"].label, required=False, max_length=254
            )
