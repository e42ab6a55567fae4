"""Set-up pages for places: the overview, a location with its opening hours and closures, its chairs and rooms."""

from __future__ import annotations

from collections import defaultdict

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from clinic.access import SignedInRequest, role_required
from clinic.local_time import format_day
from clinic.models import User
from clinic.roles import Role
from scheduling import services
from scheduling.models import (
    Clinician,
    Closure,
    CourseTemplate,
    Location,
    OpeningHours,
    Resource,
    TreatmentType,
)
from scheduling.setup.forms import WEEKDAY_NAMES, ClosureForm, LocationForm, ResourceForm, WeeklyHoursForm

ADMIN = Role.CLINIC_ADMIN


@role_required(ADMIN)
def home(request: SignedInRequest) -> HttpResponse:
    """Everything set up, with a way into each: locations, treatments and their courses, staff."""
    locations = Location.objects.order_by("-is_active", "name").prefetch_related("resources")
    staff = (
        User.objects.filter(groups__name__in=[Role.CLINICIAN.group_name, Role.FRONT_DESK.group_name,
                                              Role.CLINIC_ADMIN.group_name])
        .select_related("clinician")
        .prefetch_related("groups")
        .order_by("full_name", "email")
        .distinct()
    )  # fmt: skip
    return render(
        request,
        "scheduling/setup/home.html",
        {
            "locations": locations,
            "treatment_types": TreatmentType.objects.order_by("-is_active", "modality", "label"),
            "courses": CourseTemplate.objects.order_by("-is_active", "modality", "label"),
            "staff": staff,
            "front_desk_ids": set(
                User.objects.filter(groups__name=Role.FRONT_DESK.group_name).values_list("pk", flat=True)
            ),
        },
    )


@role_required(ADMIN)
@require_http_methods(["GET", "POST"])
def location_edit(request: SignedInRequest, pk: int | None = None) -> HttpResponse:
    location = get_object_or_404(Location, pk=pk) if pk is not None else Location()
    form = LocationForm(request.POST or None, instance=location)
    refusal = None
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.save_location(location=form.instance, now=timezone.now())
        except services.SchedulingError as exc:
            refusal = exc
        else:
            messages.success(request, _("Saved %(name)s.") % {"name": saved.name})
            return redirect("setup:location", pk=saved.pk)
    return render(
        request,
        "scheduling/setup/location_form.html",
        {"form": form, "location": location if pk else None, "refusal": refusal},
        status=400 if request.method == "POST" else 200,
    )


def _hours_by_day(location: Location) -> dict[str, list]:
    spans: dict[str, list] = defaultdict(list)
    for row in OpeningHours.objects.filter(location=location).order_by("weekday", "opens"):
        spans[f"day_{row.weekday}"].append((row.opens, row.closes))
    return spans


@role_required(ADMIN)
def location_detail(request: SignedInRequest, pk: int) -> HttpResponse:
    location = get_object_or_404(Location, pk=pk)
    return _location_page(request, location)


def _location_page(
    request: SignedInRequest, location: Location, *, closure_form=None, refusal=None, status: int = 200
) -> HttpResponse:
    today = timezone.now().astimezone(location.tz).date()
    hours = _hours_by_day(location)
    return render(
        request,
        "scheduling/setup/location.html",
        {
            "location": location,
            "week": [(WEEKDAY_NAMES[day], hours.get(f"day_{day}", [])) for day in range(7)],
            "closures": [
                (closure, format_day(closure.date))
                for closure in Closure.objects.filter(location=location, date__gte=today).order_by("date")
            ],
            "resources": Resource.objects.filter(location=location).prefetch_related("treatment_types"),
            "clinicians": Clinician.objects.filter(locations=location).select_related("user"),
            "closure_form": closure_form or ClosureForm(),
            "refusal": refusal,
        },
        status=status,
    )


@role_required(ADMIN)
@require_http_methods(["GET", "POST"])
def location_hours(request: SignedInRequest, pk: int) -> HttpResponse:
    location = get_object_or_404(Location, pk=pk)
    rows = [(f"day_{day}", _(WEEKDAY_NAMES[day])) for day in range(7)]
    form = WeeklyHoursForm(request.POST or None, rows=rows, initial_spans=_hours_by_day(location))
    refusal = None
    if request.method == "POST" and form.is_valid():
        new_rows = [
            OpeningHours(location=location, weekday=day, opens=opens, closes=closes)
            for day in range(7)
            for opens, closes in form.cleaned_data[f"day_{day}"]
        ]
        try:
            services.set_opening_hours(
                location=location,
                save=new_rows,
                delete=list(OpeningHours.objects.filter(location=location)),
                now=timezone.now(),
            )
        except services.SchedulingError as exc:
            refusal = exc
        else:
            messages.success(request, _("Opening hours saved."))
            return redirect("setup:location", pk=location.pk)
    return render(
        request,
        "scheduling/setup/weekly_hours.html",
        {
            "form": form,
            "refusal": refusal,
            "title": _("Opening hours of %(name)s") % {"name": location.name},
            "intro": _("Local time at %(name)s (%(zone)s).")
            % {"name": location.name, "zone": location.time_zone},
            "back": ("setup:location", location.pk),
        },
        status=400 if request.method == "POST" else 200,
    )


@role_required(ADMIN)
@require_POST
def closure_add(request: SignedInRequest, pk: int) -> HttpResponse:
    location = get_object_or_404(Location, pk=pk)
    form = ClosureForm(request.POST)
    if form.is_valid():
        closure = Closure(
            location=location, date=form.cleaned_data["date"], reason=form.cleaned_data["reason"]
        )
        try:
            services.save_closure(closure=closure)
        except services.SchedulingError as exc:
            if exc.field != "date":
                return _location_page(request, location, closure_form=form, refusal=exc, status=400)
            form.add_error("date", str(exc))
        else:
            messages.success(request, _("Closed on %(day)s.") % {"day": format_day(closure.date)})
            return redirect("setup:location", pk=location.pk)
    return _location_page(request, location, closure_form=form, status=400)


@role_required(ADMIN)
@require_POST
def closure_remove(request: SignedInRequest, pk: int, closure_pk: int) -> HttpResponse:
    closure = get_object_or_404(Closure, pk=closure_pk, location_id=pk)
    services.remove_closure(closure=closure)
    messages.success(request, _("Open again on %(day)s.") % {"day": format_day(closure.date)})
    return redirect("setup:location", pk=pk)


@role_required(ADMIN)
@require_http_methods(["GET", "POST"])
def resource_edit(request: SignedInRequest, location_pk: int, pk: int | None = None) -> HttpResponse:
    location = get_object_or_404(Location, pk=location_pk)
    resource = get_object_or_404(Resource, pk=pk, location=location) if pk is not None else Resource()
    form = ResourceForm(request.POST or None, instance=resource, location=location)
    refusal = None
    if request.method == "POST" and form.is_valid():
        chosen = form.cleaned_data["treatment_types"]
        try:
            saved = services.save_resource(
                resource=form.save(commit=False), treatment_types=chosen, now=timezone.now()
            )
        except services.SchedulingError as exc:
            refusal = exc
            if pk is not None:  # what was posted is shown again, but the record stays as it was
                form.instance = Resource.objects.get(pk=pk)
        else:
            messages.success(request, _("Saved %(name)s.") % {"name": saved.name})
            return redirect("setup:location", pk=location.pk)
    return render(
        request,
        "scheduling/setup/resource_form.html",
        {"form": form, "location": location, "resource": resource if pk else None, "refusal": refusal},
        status=400 if request.method == "POST" else 200,
    )
