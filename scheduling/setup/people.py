"""Set-up pages for people: inviting staff, their role and whether their account is active, a clinician's
locations, working hours and time off."""

from __future__ import annotations

from collections import defaultdict

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from clinic import accounts
from clinic.access import SignedInRequest, role_required
from clinic.local_time import format_local
from clinic.models import User
from clinic.roles import Role
from scheduling import services
from scheduling.models import Clinician, ClinicianTimeOff, Location, WorkingHours
from scheduling.setup.forms import (
    WEEKDAY_NAMES,
    ClinicianForm,
    FrontDeskForm,
    StaffInviteForm,
    StaffRoleForm,
    TimeOffForm,
    WeeklyHoursForm,
)

ADMIN = Role.CLINIC_ADMIN


@role_required(ADMIN)
@require_http_methods(["GET", "POST"])
def staff_invite(request: SignedInRequest) -> HttpResponse:
    form = StaffInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.invite_staff(
                invited_by=request.user,
                email=data["email"],
                full_name=data["full_name"],
                role=Role(data["role"]),
                locations=data["locations"],
                credentials=data["credentials"],
            )
        except services.SchedulingError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(
                request,
                _("Invitation sent to %(email)s: they choose their password from it.")
                % {"email": user.email},
            )
            if hasattr(user, "clinician"):
                return redirect("setup:clinician_hours", pk=user.clinician.pk)
            return redirect("setup:home")
    return render(
        request,
        "scheduling/setup/staff_invite.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )


@role_required(ADMIN)
@require_POST
def staff_resend(request: SignedInRequest, user_pk: int) -> HttpResponse:
    user = _staff_member(user_pk)
    try:
        accounts.resend_staff_invitation(user=user)
    except accounts.AccountChangeRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Invitation sent again to %(email)s.") % {"email": user.email})
    return redirect("setup:home")


def _clinician_zone(clinician: Clinician):
    first = clinician.locations.order_by("name").first()
    return first.tz if first else timezone.get_default_timezone(), first


def _clinician_page(
    request: SignedInRequest, clinician: Clinician, *, form=None, time_off_form=None, refusal=None, status=200
) -> HttpResponse:
    tz, first = _clinician_zone(clinician)
    time_off = ClinicianTimeOff.objects.filter(clinician=clinician, ends_at__gte=timezone.now()).order_by(
        "starts_at"
    )
    zone_of = first or Location(time_zone=str(tz))
    return render(
        request,
        "scheduling/setup/clinician.html",
        {
            "clinician": clinician,
            "form": form
            or ClinicianForm(
                initial={
                    "credentials": clinician.credentials,
                    "is_on_call": clinician.is_on_call,
                    "locations": list(clinician.locations.all()),
                }
            ),
            "time_off_form": time_off_form or TimeOffForm(tz=tz),
            "time_off": [
                (t, format_local(t.starts_at, zone_of), format_local(t.ends_at, zone_of)) for t in time_off
            ],
            "zone_location": first,
            "refusal": refusal,
        },
        status=status,
    )


@role_required(ADMIN)
@require_http_methods(["GET", "POST"])
def clinician_edit(request: SignedInRequest, pk: int) -> HttpResponse:
    clinician = get_object_or_404(Clinician.objects.select_related("user"), pk=pk)
    if request.method != "POST":
        return _clinician_page(request, clinician)
    form = ClinicianForm(request.POST)
    if form.is_valid():
        try:
            services.set_clinician_locations(
                clinician=clinician,
                locations=form.cleaned_data["locations"],
                credentials=form.cleaned_data["credentials"],
                is_on_call=form.cleaned_data["is_on_call"],
                now=timezone.now(),
            )
        except services.SchedulingError as exc:
            return _clinician_page(request, clinician, form=form, refusal=exc, status=400)
        messages.success(request, _("Saved %(name)s.") % {"name": clinician})
        return redirect("setup:clinician", pk=clinician.pk)
    return _clinician_page(request, clinician, form=form, status=400)


@role_required(ADMIN)
@require_http_methods(["GET", "POST"])
def clinician_hours(request: SignedInRequest, pk: int) -> HttpResponse:
    clinician = get_object_or_404(Clinician.objects.select_related("user"), pk=pk)
    locations = list(clinician.locations.order_by("name"))
    spans: dict[str, list] = defaultdict(list)
    for row in WorkingHours.objects.filter(clinician=clinician).order_by("weekday", "starts"):
        spans[f"hours_{row.location_id}_{row.weekday}"].append((row.starts, row.ends))
    rows = [
        (f"hours_{location.pk}_{day}", f"{location.name}: {_(WEEKDAY_NAMES[day])}")
        for location in locations
        for day in range(7)
    ]
    form = WeeklyHoursForm(request.POST or None, rows=rows, initial_spans=spans)
    refusal = None
    if request.method == "POST" and form.is_valid():
        new_rows = [
            WorkingHours(clinician=clinician, location=location, weekday=day, starts=starts, ends=ends)
            for location in locations
            for day in range(7)
            for starts, ends in form.cleaned_data[f"hours_{location.pk}_{day}"]
        ]
        try:
            services.set_working_hours(
                clinician=clinician,
                save=new_rows,
                delete=list(WorkingHours.objects.filter(clinician=clinician)),
                now=timezone.now(),
            )
        except services.SchedulingError as exc:
            refusal = exc
        else:
            messages.success(request, _("Working hours saved."))
            return redirect("setup:clinician", pk=clinician.pk)
    return render(
        request,
        "scheduling/setup/weekly_hours.html",
        {
            "form": form,
            "refusal": refusal,
            "title": _("Working hours of %(name)s") % {"name": clinician},
            "intro": _("Local time at each location.")
            if locations
            else _("Choose where this clinician works first, on their page."),
            "back": ("setup:clinician", clinician.pk),
        },
        status=400 if request.method == "POST" else 200,
    )


@role_required(ADMIN)
@require_POST
def time_off_add(request: SignedInRequest, pk: int) -> HttpResponse:
    clinician = get_object_or_404(Clinician.objects.select_related("user"), pk=pk)
    tz, _first = _clinician_zone(clinician)
    form = TimeOffForm(request.POST, tz=tz)
    if form.is_valid():
        time_off = ClinicianTimeOff(
            clinician=clinician,
            starts_at=form.cleaned_data["starts"],
            ends_at=form.cleaned_data["ends"],
            reason=form.cleaned_data["reason"],
        )
        try:
            services.save_time_off(time_off=time_off)
        except services.SchedulingError as exc:
            return _clinician_page(request, clinician, time_off_form=form, refusal=exc, status=400)
        messages.success(request, _("Time off saved."))
        return redirect("setup:clinician", pk=clinician.pk)
    return _clinician_page(request, clinician, time_off_form=form, status=400)


@role_required(ADMIN)
@require_POST
def time_off_remove(request: SignedInRequest, pk: int, time_off_pk: int) -> HttpResponse:
    time_off = get_object_or_404(ClinicianTimeOff, pk=time_off_pk, clinician_id=pk)
    services.remove_time_off(time_off=time_off)
    messages.success(request, _("Time off removed."))
    return redirect("setup:clinician", pk=pk)


@role_required(ADMIN)
@require_http_methods(["GET", "POST"])
def front_desk_locations(request: SignedInRequest, user_pk: int) -> HttpResponse:
    """Where a front-desk person works: with staff restricted to their locations, the only ones they see."""
    person = get_object_or_404(
        User.objects.filter(groups__name=Role.FRONT_DESK.group_name).distinct(), pk=user_pk
    )
    current = list(Location.objects.filter(front_desk_assignments__user=person))
    form = FrontDeskForm(request.POST or None, initial={"locations": current})
    if request.method == "POST" and form.is_valid():
        services.set_front_desk_locations(user=person, locations=form.cleaned_data["locations"])
        messages.success(request, _("Saved where %(name)s works.") % {"name": person})
        return redirect("setup:home")
    return render(
        request,
        "scheduling/setup/front_desk.html",
        {"form": form, "person": person},
        status=400 if request.method == "POST" else 200,
    )


def _staff_member(user_pk: int) -> User:
    return get_object_or_404(
        User.objects.filter(groups__name__in=[r.group_name for r in Role if r.is_staff_role]).distinct(),
        pk=user_pk,
    )


@role_required(ADMIN)
@require_http_methods(["GET", "POST"])
def staff_member(request: SignedInRequest, user_pk: int) -> HttpResponse:
    """A staff member's role, and deactivating or reactivating their account."""
    person = _staff_member(user_pk)
    form = StaffRoleForm(request.POST or None, initial={"role": person.role.value if person.role else None})
    refusal = None
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.change_staff_role(
                changed_by=request.user, user=person, role=Role(form.cleaned_data["role"]), now=timezone.now()
            )
        except services.SchedulingError as exc:
            refusal = exc
        else:
            if changed:
                messages.success(
                    request,
                    _("%(name)s is now %(role)s, and was signed out everywhere.")
                    % {"name": person, "role": person.role.group_name if person.role else ""},
                )
            if changed and person.role is Role.CLINICIAN:
                return redirect("setup:clinician", pk=person.clinician.pk)
            if changed and person.role is Role.FRONT_DESK:
                return redirect("setup:front_desk_locations", user_pk=person.pk)
            return redirect("setup:staff_member", user_pk=person.pk)
    return render(
        request,
        "scheduling/setup/staff_member.html",
        {"person": person, "form": form, "refusal": refusal},
        status=400 if request.method == "POST" else 200,
    )


@role_required(ADMIN)
@require_POST
def staff_active(request: SignedInRequest, user_pk: int) -> HttpResponse:
    person = _staff_member(user_pk)
    if request.POST.get("is_active") not in ("0", "1"):
        messages.error(request, _("Choose to deactivate or to reactivate the account."))
        return redirect("setup:staff_member", user_pk=person.pk)
    is_active = request.POST["is_active"] == "1"
    try:
        services.set_staff_active(
            changed_by=request.user, user=person, is_active=is_active, now=timezone.now()
        )
    except services.SchedulingError as exc:
        form = StaffRoleForm(initial={"role": person.role.value if person.role else None})
        return render(
            request,
            "scheduling/setup/staff_member.html",
            {"person": person, "form": form, "refusal": exc},
            status=400,
        )
    if is_active:
        messages.success(request, _("%(name)s can sign in again.") % {"name": person})
    else:
        messages.success(request, _("%(name)s was deactivated and signed out everywhere.") % {"name": person})
    return redirect("setup:staff_member", user_pk=person.pk)
