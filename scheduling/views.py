"""Front-desk pages. Views parse input and render; every change goes through scheduling.services.

A booking conflict is an expected answer: the page is shown again with HTTP 409, what is taken and the nearest
free times (JSON with 409 when the client asks for JSON). Records are fetched through the access gates in
scheduling.selectors, so a page outside someone's reach is a 404. Which locations a person may see (the location
pickers, the booking forms' choices, the lists) is scheduling.access's rule.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.core import signing
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from clinic.access import role_required
from clinic.audit import record_patient_view
from clinic.db import execute_prepared
from clinic.parsing import next_path, requested_day, requested_moment
from clinic.roles import Role
from scheduling import access, selectors, series, services
from scheduling.forms import (
    CancelForm,
    ChecklistForm,
    CoverForm,
    DischargeForm,
    DoseForm,
    OverrideForm,
    PatientSearchForm,
    RemsForm,
    ScoresForm,
    SeriesForm,
    SlotChoiceForm,
    SlotSearchForm,
    VitalsForm,
    WaitlistForm,
)
from scheduling.models import Appointment, Clinician, Location, RemsEnrollment, Resource, WaitlistEntry

# Front desk books and changes; clinic admins may too. Clinicians see schedules and move sessions along.
DESK = (Role.FRONT_DESK, Role.CLINIC_ADMIN)
STAFF = (Role.FRONT_DESK, Role.CLINICIAN, Role.CLINIC_ADMIN)
SERIES_SALT = "scheduling.series-proposal"
SERIES_MAX_AGE = 60 * 60  # a proposal older than an hour is proposed again


# --- Helpers --------------------------------------------------------------------------------------------------


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _location(request: HttpRequest, among: list[Location]) -> Location:
    """The location asked for (404 if unknown or inactive), else the first by name. ``among``: the active
    locations this person may see, read once for the page's picker (``_locations(user)``), so that no second query
    is needed."""
    raw = request.GET.get("location") or request.POST.get("location")
    if not raw:
        if not among:
            raise Http404("No clinic location is set up yet.")
        return among[0]
    try:
        pk = int(raw)
    except ValueError:
        raise Http404("No such location.") from None
    for location in among:
        if location.pk == pk:
            return location
    raise Http404("No such location.")


def _day(request: HttpRequest, location: Location, key: str = "date") -> date:
    today = timezone.now().astimezone(location.tz).date()
    return requested_day(request, key, today=today, fallback=today, instead="today")


def _conflict_payload(exc: services.SchedulingError, location: Location) -> dict:
    payload = {"error": exc.message, "field": exc.field}
    if isinstance(exc, services.BookingConflict):
        payload.update(
            taken=exc.taken,
            taken_kind=exc.taken_kind,
            alternatives=[
                {
                    "start": option.start.isoformat(),
                    "end": option.end.isoformat(),
                    "local": services.format_local(option.start, location),
                    "resource": option.resource_name,
                    "clinician": option.clinician_name,
                }
                for option in exc.alternatives
            ],
        )
    return payload


# The picker on every schedule page lists the active locations the person may see (scheduling.access). Read as SQL
# (the day view is issue 7's busiest page, and the ORM spent longer compiling this than PostgreSQL took to answer);
# the instances carry what the pages use, the rest of a location's fields are deferred as with ``.only()``.
ACTIVE_LOCATIONS_SQL = "SELECT id, name, time_zone FROM scheduling_location WHERE is_active ORDER BY name, id"
THEIR_ACTIVE_LOCATIONS_SQL = (
    "SELECT id, name, time_zone FROM scheduling_location"  # noqa: S608 - constant SQL; the user id is a parameter
    f" WHERE is_active AND id IN ({access.STAFF_LOCATIONS_SQL}) ORDER BY name, id"
)


def _locations(user) -> list[Location]:
    """The active locations ``user`` may see, by name; any other one asked for is a 404 (``_location``)."""
    with connection.cursor() as cursor:
        if access.sees_every_location(user):
            execute_prepared(cursor, "active_locations", ACTIVE_LOCATIONS_SQL)
        else:
            execute_prepared(cursor, "their_active_locations", THEIR_ACTIVE_LOCATIONS_SQL, [user.pk])
        rows = cursor.fetchall()
    return [Location.from_db(connection.alias, ["id", "name", "time_zone"], row) for row in rows]


# --- Schedules --------------------------------------------------------------------------------------------------


@role_required(*DESK)
def today(request: HttpRequest) -> HttpResponse:
    """Front desk's home: today's day view at the first location (or the one chosen)."""
    return day_view(request)


@role_required(*STAFF)
def day_view(request: HttpRequest) -> HttpResponse:
    locations = _locations(request.user)
    if not locations:
        return render(
            request,
            "scheduling/no_location.html",
            {"unassigned": not access.sees_every_location(request.user)},
        )
    location = _location(request, among=locations)
    day = _day(request, location)
    schedule = selectors.day_schedule(location, day)
    context = {
        "location": location,
        "locations": locations,
        "day": day,
        "schedule": schedule,
        "previous_day": day - timedelta(days=1),
        "next_day": day + timedelta(days=1),
        "today": timezone.now().astimezone(location.tz).date(),
    }
    return render(request, "scheduling/day.html", context)


@role_required(*STAFF)
def week_view(request: HttpRequest) -> HttpResponse:
    locations = _locations(request.user)
    location = _location(request, among=locations)
    day = _day(request, location, key="start")
    week_start = day - timedelta(days=day.weekday())
    context = {
        "location": location,
        "locations": locations,
        "week_start": week_start,
        "week_end": week_start + timedelta(days=6),
        "days": selectors.week_schedule(location, week_start),
        "previous_week": week_start - timedelta(days=7),
        "next_week": week_start + timedelta(days=7),
    }
    return render(request, "scheduling/week.html", context)


@role_required(*DESK)
def unconfirmed(request: HttpRequest) -> HttpResponse:
    """Tomorrow's sessions the patient has not confirmed yet: front desk's call list."""
    locations = _locations(request.user)
    location = _location(request, among=locations)
    day = (
        _day(request, location)
        if request.GET.get("date")
        else (timezone.now().astimezone(location.tz).date() + timedelta(days=1))
    )
    appointments = list(selectors.unconfirmed_appointments(location, day))
    return render(
        request,
        "scheduling/unconfirmed.html",
        {"location": location, "locations": locations, "day": day, "appointments": appointments},
    )


# --- Cover for an absent clinician ------------------------------------------------------------------------------


@role_required(*DESK)
@require_http_methods(["GET", "POST"])
def cover(request: HttpRequest) -> HttpResponse:
    """A clinician is away: their sessions in a range of days, each with a colleague free to take it, handed over
    in one go. Sessions nobody can take are left for rescheduling. Then time off can be recorded."""
    now = timezone.now()
    form = CoverForm(
        request.POST if request.method == "POST" else (request.GET or None),
        clinicians=access.visible_clinicians(request.user),
    )
    if form.is_bound and not form.is_valid():
        return render(request, "scheduling/cover.html", {"form": form, "rows": None}, status=400)
    if request.method == "GET":
        rows = None
        if form.is_bound:
            data = form.cleaned_data
            rows = selectors.cover_plan(
                clinician=data["clinician"], date_from=data["date_from"], date_to=data["date_to"], now=now,
                location_ids=access.location_ids(request.user),
            )  # fmt: skip
        return render(request, "scheduling/cover.html", {"form": form, "rows": rows})

    absent = form.cleaned_data["clinician"]
    chosen = request.POST.getlist("session")
    if not chosen:
        messages.error(request, "Tick at least one session to hand over.")
    handed: list[str] = []
    for raw in chosen:
        appointment, colleague = _cover_choice(request, raw, absent=absent)
        if appointment is None:
            continue
        try:
            services.reassign_clinician(appointment=appointment, clinician=colleague, now=now)
        except services.SchedulingError as exc:
            when = services.format_local(appointment.start_at, appointment.location)
            messages.error(request, f"{when} ({appointment.patient.full_name}): {exc.message}")
            continue
        handed.append(f"{services.format_local(appointment.start_at, appointment.location)} to {colleague}")
    if handed:
        messages.success(
            request,
            f"Handed over {len(handed)} session{'s' if len(handed) != 1 else ''}: {'; '.join(handed)}.",
        )
    query = {key: request.POST[key] for key in ("clinician", "date_from", "date_to")}
    return redirect(f"{reverse('scheduling:cover')}?{urlencode(query)}")


def _cover_choice(
    request: HttpRequest, raw: str, *, absent: Clinician
) -> tuple[Appointment | None, Clinician | None]:
    """One ticked row of the cover page: the session (through the access gate) and the colleague chosen for it.
    A row that no longer fits (handed over meanwhile, tampered with) is reported and skipped."""
    try:
        appointment = selectors.appointment_for_user(request.user, int(raw))
        colleague = Clinician.objects.select_related("user").get(pk=int(request.POST.get(f"cover-{raw}", "")))
    except (ValueError, Http404, Clinician.DoesNotExist):
        messages.error(request, "One of the ticked sessions could not be read; it was left as it was.")
        return None, None
    if appointment.clinician_id != absent.pk:
        when = services.format_local(appointment.start_at, appointment.location)
        messages.error(request, f"{when} ({appointment.patient.full_name}) is no longer {absent}'s session.")
        return None, None
    return appointment, colleague


# --- Patients ---------------------------------------------------------------------------------------------------


@role_required(*DESK)
@require_http_methods(["GET", "POST"])
def patient_search(request: HttpRequest) -> HttpResponse:
    form = PatientSearchForm(request.POST or None)
    results = None
    if request.method == "POST" and form.is_valid():
        results = selectors.search_patients(form.cleaned_data["q"], user=request.user)
    return render(request, "scheduling/patient_search.html", {"form": form, "results": results})


@role_required(*DESK)
def patient_detail(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = selectors.patient_for_booking(request.user, patient_id)
    record_patient_view(request, patient_id=patient.pk, what="front-desk patient page")
    appointments = selectors.patient_appointments(patient)
    now = timezone.now()
    rems = RemsEnrollment.objects.filter(patient=patient).first()
    return render(
        request,
        "scheduling/patient_detail.html",
        {
            "patient": patient,
            "upcoming": [a for a in reversed(appointments) if a.end_at > now and a.is_active],
            "past": [a for a in appointments if not (a.end_at > now and a.is_active)],
            "rems": rems,
            "rems_form": RemsForm(initial={"enrolled_on": rems.enrolled_on if rems else None}),
            "waitlist_form": WaitlistForm(
                locations=access.visible_locations(request.user),
                patient=patient,
                upcoming=[a for a in appointments if a.end_at > now and a.is_active],
                initial={
                    "location": patient.location_id,
                    "earliest_date": timezone.now().astimezone(patient.location.tz).date()
                    if patient.location
                    else None,
                },
            ),
            "waitlist_entries": list(
                WaitlistEntry.objects.filter(
                    patient=patient, status__in=["waiting", "offered"]
                ).select_related("treatment_type", "location")
            ),
        },
    )


@role_required(*DESK)
@require_POST
def record_rems(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = selectors.patient_for_booking(request.user, patient_id)
    form = RemsForm(request.POST)
    if form.is_valid():
        services.record_rems_enrollment(
            patient=patient,
            enrolled_on=form.cleaned_data["enrolled_on"],
            rems_patient_id=form.cleaned_data["rems_patient_id"],
            recorded_by=request.user,
        )
        messages.success(request, "REMS enrolment recorded.")
    else:
        messages.error(request, "The REMS enrolment needs the date of the Patient Enrollment Form.")
    return redirect("scheduling:patient_detail", patient_id=patient.pk)


# --- Booking one session ----------------------------------------------------------------------------------------


def _slot_page(
    request, *, patient, search, options, choice_form, location, status=200, error=None, extra=None
):
    context = {
        "patient": patient,
        "search_form": search,
        "options": options,
        "choice_form": choice_form,
        "location": location,
        "error": error,
        **(extra or {}),
    }
    return render(request, "scheduling/book.html", context, status=status)


@role_required(*DESK)
@require_http_methods(["GET", "POST"])
def book(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Book one session: choose treatment, place and day; pick a free time; book (409 and alternatives on a
    conflict)."""
    patient = selectors.patient_for_booking(request.user, patient_id)
    now = timezone.now()
    data = (
        request.POST
        if request.method == "POST"
        else (request.GET if "treatment_type" in request.GET else None)
    )
    initial = {"date": (now + timedelta(days=1)).date(), "location": patient.location_id}
    search = SlotSearchForm(data, initial=initial, locations=access.visible_locations(request.user))
    if not search.is_bound or not search.is_valid():
        return _slot_page(
            request, patient=patient, search=search, options=None, choice_form=None, location=None
        )

    treatment_type = search.cleaned_data["treatment_type"]
    location = search.cleaned_data["location"]
    day = search.cleaned_data["date"]
    options = selectors.available_slots(
        location=location, treatment_type=treatment_type, date_from=day, date_to=day, now=now, patient=patient
    )
    if request.method == "GET":
        choice_form = SlotChoiceForm(options=options, location=location)
        next_option = (
            None
            if options
            else selectors.next_available_slot(
                location=location,
                treatment_type=treatment_type,
                now=max(now, _start_of(location, day)),
                patient=patient,
            )
        )
        return _slot_page(
            request, patient=patient, search=search, options=options, choice_form=choice_form, location=location,
            extra={"next_option": next_option, "treatment_type": treatment_type},
        )  # fmt: skip

    choice_form = SlotChoiceForm(request.POST, options=options, location=location)
    if not choice_form.is_valid():
        return _slot_page(
            request, patient=patient, search=search, options=options, choice_form=choice_form, location=location,
            status=400,
        )  # fmt: skip
    slot = choice_form.cleaned_data["slot"]
    try:
        appointment = services.book_appointment(
            patient=patient,
            treatment_type=treatment_type,
            location=location,
            start=slot["start"],
            resource=Resource.objects.filter(pk=slot["resource_id"]).first(),
            clinician=Clinician.objects.select_related("user").filter(pk=slot["clinician_id"]).first(),
            booked_by=request.user,
            notes=choice_form.cleaned_data["notes"],
            now=now,
        )
    except services.SchedulingError as exc:
        if _wants_json(request):
            return JsonResponse(_conflict_payload(exc, location), status=exc.status_code)
        # Offer the times that are free now (the list changed under us), the nearest ones first.
        fresh = selectors.available_slots(
            location=location,
            treatment_type=treatment_type,
            date_from=day,
            date_to=day,
            now=now,
            patient=patient,
        )
        alternatives = getattr(exc, "alternatives", [])
        choice_form = SlotChoiceForm(options=_merge_options(alternatives, fresh), location=location)
        return _slot_page(
            request, patient=patient, search=search, options=fresh, choice_form=choice_form, location=location,
            status=exc.status_code, error=exc, extra={"alternatives": alternatives},
        )  # fmt: skip
    if _wants_json(request):
        return JsonResponse({"appointment": appointment.pk}, status=201)
    messages.success(
        request,
        f"Booked {treatment_type.label} on {services.format_local(appointment.start_at, location)} "
        f"in {appointment.resource.name} with {appointment.clinician}.",
    )
    return redirect("scheduling:appointment_detail", pk=appointment.pk)


def _start_of(location: Location, day: date) -> datetime:
    return selectors.local_day_bounds(location, day)[0]


def _merge_options(first, then):
    seen, merged = set(), []
    for option in [*first, *then]:
        if option.key not in seen:
            seen.add(option.key)
            merged.append(option)
    return merged


# --- Booking a series -------------------------------------------------------------------------------------------


def _proposal_token(*, patient, form_data: dict, proposal) -> str:
    return signing.dumps(
        {
            "patient": patient.pk,
            "template": form_data["template"],
            "treatment_type": form_data["treatment_type"].pk,
            "location": form_data["location"].pk,
            "weekdays": list(form_data["weekdays"]),
            "local_time": form_data["local_time"].strftime("%H:%M"),
            "start_date": form_data["start_date"].isoformat(),
            "sessions": [
                [p.index, p.option.start.isoformat(), p.option.resource_id, p.option.clinician_id, p.note]
                for p in proposal
                if p.option
            ],
        },
        salt=SERIES_SALT,
    )


@role_required(*DESK)
@require_http_methods(["GET", "POST"])
def book_series(request: HttpRequest, patient_id: int) -> HttpResponse:
    """A whole course: propose (each taken session replaced by the nearest free time), then book all or none."""
    patient = selectors.patient_for_booking(request.user, patient_id)
    now = timezone.now()
    if request.method == "POST" and "proposal" in request.POST:
        return _confirm_series(request, patient, now)

    initial = {
        "template": series.IV_INDUCTION.code,
        "location": patient.location_id,
        "start_date": (now + timedelta(days=1)).date(),
        "weekdays": [0, 2, 4],
        "local_time": time(9),
    }
    form = SeriesForm(request.POST or None, initial=initial, locations=access.visible_locations(request.user))
    if request.method == "GET" or not form.is_valid():
        return render(request, "scheduling/series_form.html", {"patient": patient, "form": form},
                      status=200 if request.method == "GET" else 400)  # fmt: skip
    return _propose_series(request, patient, form.cleaned_data, now)


def _propose_series(request, patient, data: dict, now: datetime, *, error=None, status=200) -> HttpResponse:
    template = series.TEMPLATES[data["template"]]
    location = data["location"]
    proposal = selectors.propose_treatment_series(
        patient=patient,
        location=location,
        treatment_type=data["treatment_type"],
        template=template,
        start_date=data["start_date"],
        weekdays=data["weekdays"],
        local_time=data["local_time"],
        now=now,
    )
    complete = all(p.option for p in proposal)
    return render(
        request,
        "scheduling/series_proposal.html",
        {
            "patient": patient,
            "template": template,
            "treatment_type": data["treatment_type"],
            "location": location,
            "proposal": proposal,
            "complete": complete,
            "replaced_count": sum(1 for p in proposal if p.replaced),
            "token": _proposal_token(patient=patient, form_data=data, proposal=proposal) if complete else "",
            "error": error,
        },
        status=status,
    )


def _confirm_series(request, patient, now: datetime) -> HttpResponse:
    try:
        payload = signing.loads(request.POST["proposal"], salt=SERIES_SALT, max_age=SERIES_MAX_AGE)
    except signing.BadSignature:
        messages.error(request, "That proposal has expired or was changed: propose the series again.")
        return redirect("scheduling:book_series", patient_id=patient.pk)
    if payload["patient"] != patient.pk:
        raise Http404("No such proposal.")
    form = SeriesForm(
        {
            "template": payload["template"],
            "treatment_type": payload["treatment_type"],
            "location": payload["location"],
            "weekdays": payload["weekdays"],
            "local_time": payload["local_time"],
            "start_date": payload["start_date"],
        },
        locations=access.visible_locations(request.user),
    )
    if not form.is_valid():
        messages.error(request, "That proposal no longer fits the clinic's set-up: propose the series again.")
        return redirect("scheduling:book_series", patient_id=patient.pk)
    data = form.cleaned_data
    sessions = [
        services.SeriesSessionChoice(
            index=index,
            start=datetime.fromisoformat(start),
            resource_id=resource_id,
            clinician_id=clinician_id,
            note=note,
        )  # fmt: skip
        for index, start, resource_id, clinician_id, note in payload["sessions"]
    ]
    try:
        treatment_series = services.book_series(
            patient=patient,
            treatment_type=data["treatment_type"],
            location=data["location"],
            template_code=data["template"],
            weekdays=data["weekdays"],
            local_time=data["local_time"],
            sessions=sessions,
            booked_by=request.user,
            now=now,
        )
    except services.SchedulingError as exc:
        if _wants_json(request):
            return JsonResponse(_conflict_payload(exc, data["location"]), status=exc.status_code)
        # Nothing was booked. Propose again from the schedule as it is now.
        return _propose_series(request, patient, data, now, error=exc, status=exc.status_code)
    count = treatment_series.appointments.count()
    messages.success(request, f"Booked {count} sessions: {treatment_series.label}.")
    return redirect("scheduling:patient_detail", patient_id=patient.pk)


# --- One appointment --------------------------------------------------------------------------------------------


@role_required(*STAFF)
def appointment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = selectors.appointment_for_user(request.user, pk)
    record_patient_view(request, patient_id=appointment.patient_id, what="appointment")
    siblings = (
        list(appointment.series.appointments.select_related("resource").order_by("series_index"))
        if appointment.series_id
        else []
    )
    return render(
        request,
        "scheduling/appointment_detail.html",
        {
            "appointment": appointment,
            "location": appointment.location,
            "next_steps": [
                (step, Appointment.Status(step).label)
                for step in services.next_steps(appointment)
                if step in services.TRANSITIONS
            ],
            "can_cancel": Appointment.Status.CANCELLED in services.next_steps(appointment),
            "can_no_show": Appointment.Status.NO_SHOW in services.next_steps(appointment),
            "can_move": appointment.status in (Appointment.Status.BOOKED, Appointment.Status.CONFIRMED),
            "siblings": siblings,
            "is_desk": request.user.role in DESK,
        },
    )


TRANSITION_SERVICES = {
    Appointment.Status.CONFIRMED: lambda a, u, now: services.confirm_appointment(
        appointment=a, confirmed_by=u, now=now
    ),
    Appointment.Status.CHECKED_IN: lambda a, u, now: services.check_in(
        appointment=a, checked_in_by=u, now=now
    ),
    Appointment.Status.IN_SESSION: lambda a, u, now: services.start_session(
        appointment=a, started_by=u, now=now
    ),
    Appointment.Status.RECOVERING: lambda a, u, now: services.start_recovery(appointment=a, by=u, now=now),
    Appointment.Status.DISCHARGED: lambda a, u, now: services.discharge(
        appointment=a, discharged_by=u, now=now
    ),
}


@role_required(*STAFF)
@require_POST
def transition(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = selectors.appointment_for_user(request.user, pk)
    action = TRANSITION_SERVICES.get(request.POST.get("to", ""))
    if action is None:
        messages.error(request, "Unknown step.")
        return redirect("scheduling:appointment_detail", pk=pk)
    try:
        appointment = action(appointment, request.user, timezone.now())
    except services.SchedulingError as exc:
        if _wants_json(request):
            return JsonResponse({"error": exc.message}, status=exc.status_code)
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Marked {appointment.get_status_display().lower()}.")
    return redirect(next_path(request, reverse("scheduling:appointment_detail", args=[pk])))


@role_required(*DESK)
@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = selectors.appointment_for_user(request.user, pk)
    form = CancelForm(request.POST or None)
    now = timezone.now()
    hours = services.late_cancel_hours()
    would_be_late = appointment.start_at - now < timedelta(hours=hours)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                appointment = services.cancel_appointment(
                    appointment=appointment, reason=form.reason_text, cancelled_by=request.user, now=now
                )
            except services.SchedulingError as exc:
                form.add_error(None, exc.message)
                status = exc.status_code
            else:
                late = " It was marked as a late cancellation." if appointment.late_cancellation else ""
                messages.success(request, f"Cancelled.{late} The chair and clinician are free again.")
                return redirect("scheduling:appointment_detail", pk=pk)
        else:
            status = 400
    return render(
        request,
        "scheduling/cancel.html",
        {"appointment": appointment, "location": appointment.location, "form": form, "would_be_late": would_be_late,
         "late_hours": hours},
        status=status,
    )  # fmt: skip


@role_required(*DESK)
@require_POST
def no_show(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = selectors.appointment_for_user(request.user, pk)
    try:
        services.mark_no_show(appointment=appointment, marked_by=request.user, now=timezone.now())
    except services.SchedulingError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Marked as a no-show. The chair is free for the rest of the session.")
    return redirect("scheduling:appointment_detail", pk=pk)


@role_required(*DESK)
@require_http_methods(["GET", "POST"])
def reschedule(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = selectors.appointment_for_user(request.user, pk)
    location = appointment.location
    now = timezone.now()
    day = requested_day(
        request,
        "date",
        today=now.astimezone(location.tz).date(),
        fallback=appointment.start_at.astimezone(location.tz).date(),
        instead="the session's day",
    )
    options = selectors.available_slots(
        location=location,
        treatment_type=appointment.treatment_type,
        date_from=day,
        date_to=day,
        now=now,
        patient=appointment.patient,
        ignore_appointment=appointment,
    )
    context = {
        "appointment": appointment,
        "location": location,
        "day": day,
        "options": options,
        "error": None,
    }
    if request.method == "GET":
        context["choice_form"] = SlotChoiceForm(options=options, location=location)
        return render(request, "scheduling/reschedule.html", context)
    choice_form = SlotChoiceForm(request.POST, options=options, location=location)
    context["choice_form"] = choice_form
    if not choice_form.is_valid():
        return render(request, "scheduling/reschedule.html", context, status=400)
    slot = choice_form.cleaned_data["slot"]
    try:
        moved = services.reschedule_appointment(
            appointment=appointment,
            start=slot["start"],
            resource=Resource.objects.filter(pk=slot["resource_id"]).first(),
            clinician=Clinician.objects.select_related("user").filter(pk=slot["clinician_id"]).first(),
            rescheduled_by=request.user,
            now=now,
        )
    except services.SchedulingError as exc:
        if _wants_json(request):
            return JsonResponse(_conflict_payload(exc, location), status=exc.status_code)
        alternatives = getattr(exc, "alternatives", [])
        context.update(
            error=exc,
            alternatives=alternatives,
            choice_form=SlotChoiceForm(options=_merge_options(alternatives, options), location=location),
        )
        return render(request, "scheduling/reschedule.html", context, status=exc.status_code)
    messages.success(
        request,
        f"Moved to {services.format_local(moved.start_at, location)}. The patient must confirm again.",
    )
    return redirect("scheduling:appointment_detail", pk=pk)


# --- Calendar file ----------------------------------------------------------------------------------------------


@role_required(Role.PATIENT, *STAFF)
def appointment_ics(request: HttpRequest, pk: int) -> HttpResponse:
    """An .ics for one appointment. It names no treatment or diagnosis: calendars are synced to other services."""
    from icalendar import Calendar, Event

    appointment = selectors.appointment_for_user(request.user, pk)
    calendar = Calendar()
    calendar.add("prodid", "-//Clinic scheduling//EN")
    calendar.add("version", "2.0")
    event = Event()
    host = request.get_host().split(":")[0]
    event.add("uid", f"appointment-{appointment.pk}@{host}")
    event.add("dtstamp", timezone.now())
    event.add("dtstart", appointment.start_at)
    event.add("dtend", appointment.end_at)
    event.add("summary", f"Appointment at {appointment.location.name}")
    if appointment.location.address:
        event.add("location", appointment.location.address)
    event.add(
        "description",
        "Your preparation instructions are in the patient portal. Call the clinic to change this appointment.",
    )
    event.add("status", "CANCELLED" if appointment.status == Appointment.Status.CANCELLED else "CONFIRMED")
    calendar.add_component(event)
    response = HttpResponse(calendar.to_ical(), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="appointment-{appointment.pk}.ics"'
    return response


# --- The day of the session -------------------------------------------------------------------------------------


def _render_session(request: HttpRequest, appointment: Appointment, *, bound=None, error=None, status=200):
    """The session page; ``bound`` replaces one of its forms with a submitted one that has errors."""
    now = timezone.now()
    day = selectors.session_day(appointment, user=request.user, now=now)
    record = day.record
    forms_ = {
        "checklist_form": ChecklistForm(
            initial={
                "escort_name": record.escort_name if record else "",
                "escort_phone": record.escort_phone if record else "",
                "escort_confirmed": bool(record and record.escort_confirmed_at),
                "fasting_confirmed": bool(record and record.fasting_confirmed_at),
            }
        ),
        "vitals_form": VitalsForm(initial={"phase": _next_vitals_phase(appointment, day)}),
        "override_form": OverrideForm(),
        "dose_form": DoseForm(
            initial={
                "dose_mg": appointment.treatment_type.dose_mg or (record.dose_mg if record else None),
                "started_at": (appointment.session_started_at or now)
                .astimezone(appointment.location.tz)
                .time()
                .replace(second=0, microsecond=0),
            }
        ),
        "scores_form": ScoresForm(
            initial={
                "dissociation_score": record.dissociation_score if record else None,
                "sedation_score": record.sedation_score if record else None,
            }
        ),
        "discharge_form": DischargeForm(),
    }
    if bound is not None:
        forms_[bound[0]] = bound[1]
    context = {
        "appointment": appointment,
        "location": appointment.location,
        "day": day,
        "record": record,
        "is_clinician": request.user.role is Role.CLINICIAN,
        "error": error,
        "bound_form": bound[1] if bound else None,
        **forms_,
    }
    return render(request, "scheduling/session_day.html", context, status=status)


def _next_vitals_phase(appointment: Appointment, day) -> str:
    if appointment.status == Appointment.Status.CHECKED_IN:
        return "pre_dose"
    if appointment.status == Appointment.Status.RECOVERING:
        return "pre_discharge"
    return "at_40_min"


@role_required(*STAFF)
def session_day(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = selectors.appointment_for_user(request.user, pk)
    record_patient_view(request, patient_id=appointment.patient_id, what="session day")
    return _render_session(request, appointment)


def _session_post(request, pk, form_class, key, action):
    """Shared handling of the session page's forms: valid -> service -> redirect; else the page with errors."""
    appointment = selectors.appointment_for_user(request.user, pk)
    form = form_class(request.POST)
    if not form.is_valid():
        return _render_session(request, appointment, bound=(key, form), status=400)
    try:
        message = action(appointment, form.cleaned_data)
    except services.SchedulingError as exc:
        if exc.field and exc.field in form.fields:
            form.add_error(exc.field, exc.message)
        else:
            form.add_error(None, exc.message)
        return _render_session(request, appointment, bound=(key, form), status=exc.status_code)
    messages.success(request, message)
    return redirect(reverse("scheduling:session_day", args=[pk]) + f"#{key.removesuffix('_form')}")


@role_required(*STAFF)
@require_POST
def session_checklist(request: HttpRequest, pk: int) -> HttpResponse:
    def action(appointment, data):
        services.record_check_in_checklist(
            appointment=appointment, escort_name=data["escort_name"], escort_phone=data["escort_phone"],
            escort_confirmed=data["escort_confirmed"], fasting_confirmed=data["fasting_confirmed"],
            recorded_by=request.user,
        )  # fmt: skip
        return "Checklist saved."

    return _session_post(request, pk, ChecklistForm, "checklist_form", action)


@role_required(*STAFF)
@require_POST
def session_vitals(request: HttpRequest, pk: int) -> HttpResponse:
    from scheduling import session_rules

    def action(appointment, data):
        vitals = services.record_vitals(appointment=appointment, recorded_by=request.user, **data)
        flag = session_rules.bp_flag(vitals.systolic, vitals.diastolic)
        return f"Vitals saved: BP {vitals.systolic}/{vitals.diastolic} ({flag.label.lower()})."

    return _session_post(request, pk, VitalsForm, "vitals_form", action)


@role_required(Role.CLINICIAN)
@require_POST
def session_override(request: HttpRequest, pk: int) -> HttpResponse:
    def action(appointment, data):
        services.override_bp_hard_stop(
            appointment=appointment, reason=data["reason"], clinician_user=request.user
        )
        return "Override recorded: the session may start."

    return _session_post(request, pk, OverrideForm, "override_form", action)


def _local_moment(appointment: Appointment, clock: time | None) -> datetime | None:
    if clock is None:
        return None
    local_day = appointment.start_at.astimezone(appointment.location.tz).date()
    return datetime.combine(local_day, clock, tzinfo=appointment.location.tz)


@role_required(Role.CLINICIAN)
@require_POST
def session_dose(request: HttpRequest, pk: int) -> HttpResponse:
    def action(appointment, data):
        record = services.record_dose(
            appointment=appointment, dose_mg=data["dose_mg"], weight_kg=data["weight_kg"],
            lot_number=data["lot_number"], drug=data["drug"],
            started_at=_local_moment(appointment, data["started_at"]),
            ended_at=_local_moment(appointment, data["ended_at"]), recorded_by=request.user,
        )  # fmt: skip
        per_kg = f" ({record.dose_mg_per_kg} mg/kg)" if record.dose_mg_per_kg else ""
        return f"Dose recorded: {record.dose_mg} mg{per_kg}."

    return _session_post(request, pk, DoseForm, "dose_form", action)


@role_required(Role.CLINICIAN)
@require_POST
def session_scores(request: HttpRequest, pk: int) -> HttpResponse:
    def action(appointment, data):
        services.record_observation_scores(appointment=appointment, recorded_by=request.user, **data)
        return "Scores saved."

    return _session_post(request, pk, ScoresForm, "scores_form", action)


@role_required(*STAFF)
@require_POST
def session_discharge(request: HttpRequest, pk: int) -> HttpResponse:
    def action(appointment, data):
        services.discharge(
            appointment=appointment, discharged_by=request.user, escort_present=data["escort_present"]
        )
        return "Discharged."

    return _session_post(request, pk, DischargeForm, "discharge_form", action)


@role_required(*STAFF)
@require_POST
def rems_form_submitted(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = selectors.appointment_for_user(request.user, pk)
    try:
        services.mark_rems_form_submitted(appointment=appointment, submitted_by=request.user)
    except services.SchedulingError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "REMS monitoring form marked as sent.")
    return redirect(next_path(request, reverse("scheduling:rems_forms_due")))


@role_required(*STAFF)
def rems_forms_due(request: HttpRequest) -> HttpResponse:
    locations = _locations(request.user)
    location = _location(request, among=locations)
    now = timezone.now()
    rows = [
        {"appointment": a, "due": due, "overdue": due < now, "days_left": (due - now).days}
        for a, due in selectors.rems_forms_due(location, now=now)
    ]
    return render(
        request,
        "scheduling/rems_forms_due.html",
        {"location": location, "locations": locations, "rows": rows, "date_value": None},
    )


@role_required(*STAFF)
def session_summary(request: HttpRequest, pk: int) -> HttpResponse:
    """A printable summary of one session: what the REMS Patient Monitoring Form asks for."""
    appointment = selectors.appointment_for_user(request.user, pk)
    record_patient_view(request, patient_id=appointment.patient_id, what="session summary")
    day = selectors.session_day(appointment, user=request.user, now=timezone.now())
    from intake.medications import rems_concomitant
    from intake.models import IntakeSubmission

    # The REMS form asks for concomitant medicines: those on the patient's latest intake before the session.
    latest = (
        IntakeSubmission.objects.filter(
            patient_id=appointment.patient_id,
            kind=IntakeSubmission.Kind.INTAKE,
            submitted_at__lte=appointment.start_at,
        )
        .order_by("-submitted_at")
        .only("answers")
        .first()
    )
    started, ended = appointment.checked_in_at, appointment.discharged_at
    context = {
        "appointment": appointment,
        "location": appointment.location,
        "day": day,
        "record": day.record,
        "concomitant": rems_concomitant(latest.answers) if latest else None,
        "duration_minutes": int((ended - started).total_seconds() // 60) if started and ended else None,
    }
    return render(request, "scheduling/session_summary.html", context)


# --- Waitlist ---------------------------------------------------------------------------------------------------


@role_required(*DESK)
@require_POST
def waitlist_add(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = selectors.patient_for_booking(request.user, patient_id)
    now = timezone.now()
    upcoming = [a for a in selectors.patient_appointments(patient) if a.end_at > now and a.is_active]
    form = WaitlistForm(
        request.POST, locations=access.visible_locations(request.user), patient=patient, upcoming=upcoming
    )
    if form.is_valid():
        try:
            services.add_to_waitlist(
                patient=patient,
                location=form.cleaned_data["location"],
                treatment_type=form.cleaned_data["treatment_type"],
                earliest_date=form.cleaned_data["earliest_date"],
                latest_date=form.cleaned_data["latest_date"],
                current_appointment=form.cleaned_data["current_appointment"],
                notes=form.cleaned_data["notes"],
                added_by=request.user,
            )
        except services.SchedulingError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Added to the waitlist.")
    else:
        problems = "; ".join(
            f"{form.fields[f].label if f in form.fields else ''}: {' '.join(e)}"
            for f, e in form.errors.items()
        )
        messages.error(request, f"Not added to the waitlist: {problems}")
    return redirect("scheduling:patient_detail", patient_id=patient.pk)


@role_required(*DESK)
def waitlist(request: HttpRequest) -> HttpResponse:
    locations = _locations(request.user)
    location = _location(request, among=locations)
    matches = selectors.waitlist_matches(location, now=timezone.now())
    return render(
        request,
        "scheduling/waitlist.html",
        {"location": location, "locations": locations, "matches": matches},
    )


def _waitlist_entry(request: HttpRequest, pk: int) -> WaitlistEntry:
    """A waitlist entry at a location this person may see, else 404."""
    try:
        return (
            WaitlistEntry.objects.select_related("location")
            .filter(access.location_filter(request.user))
            .get(pk=pk)
        )
    except WaitlistEntry.DoesNotExist:
        raise Http404("No such waitlist entry.") from None


def _posted_start(request: HttpRequest) -> datetime | None:
    return requested_moment(request, "start", now=timezone.now())


@role_required(*DESK)
@require_POST
def waitlist_action(request: HttpRequest, pk: int) -> HttpResponse:
    """Offer (email), book, or withdraw one waitlist entry."""
    entry = _waitlist_entry(request, pk)
    action = request.POST.get("action")
    back = reverse("scheduling:waitlist") + f"?location={entry.location_id}"
    start = _posted_start(request)
    try:
        if action == "withdraw":
            services.withdraw_from_waitlist(entry=entry, withdrawn_by=request.user)
            messages.success(request, "Removed from the waitlist.")
        elif action in {"offer", "book"} and start is not None:
            if action == "offer":
                services.send_waitlist_offer(entry=entry, start=start, offered_by=request.user)
                messages.success(
                    request,
                    f"Offer of {services.format_local(start, entry.location)} emailed to the patient.",
                )
            else:
                appointment = services.book_from_waitlist(entry=entry, start=start, booked_by=request.user)
                messages.success(
                    request, f"Booked {services.format_local(appointment.start_at, entry.location)}."
                )
                return redirect("scheduling:appointment_detail", pk=appointment.pk)
        else:
            messages.error(request, "Unknown waitlist action.")
    except services.SchedulingError as exc:
        messages.error(request, exc.message)
    return redirect(back)
