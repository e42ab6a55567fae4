"""Booking one session or a whole series.

A booking conflict is an expected answer: the page is shown again with HTTP 409, what is taken and the nearest
free times (JSON with 409 when the client asks for JSON).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from clinic.access import role_required
from clinic.local_time import local_date
from scheduling import access, selectors, series, services
from scheduling.forms import SeriesForm, SlotChoiceForm, SlotSearchForm
from scheduling.models import Location
from scheduling.views.pages import DESK, wants_json

SERIES_SALT = "scheduling.series-proposal"
SERIES_MAX_AGE = 60 * 60  # a proposal older than an hour is proposed again


def conflict_payload(exc: services.SchedulingError, location: Location) -> dict:
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
    initial = {"date": _tomorrow_for(patient, now), "location": patient.location_id}
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
            resource=slot["resource"],
            clinician=slot["clinician"],
            booked_by=request.user,
            notes=choice_form.cleaned_data["notes"],
            now=now,
        )
    except services.SchedulingError as exc:
        if wants_json(request):
            return JsonResponse(conflict_payload(exc, location), status=exc.status_code)
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
        choice_form = SlotChoiceForm(options=merge_options(alternatives, fresh), location=location)
        return _slot_page(
            request, patient=patient, search=search, options=fresh, choice_form=choice_form, location=location,
            status=exc.status_code, error=exc, extra={"alternatives": alternatives},
        )  # fmt: skip
    if wants_json(request):
        return JsonResponse({"appointment": appointment.pk}, status=201)
    messages.success(
        request,
        _("Booked %(treatment)s on %(when)s in %(resource)s with %(clinician)s.")
        % {
            "treatment": treatment_type.label,
            "when": services.format_local(appointment.start_at, location),
            "resource": appointment.resource.name,
            "clinician": appointment.clinician,
        },
    )
    return redirect("scheduling:appointment_detail", pk=appointment.pk)


def _tomorrow_for(patient, now: datetime) -> date:
    """Tomorrow where the patient is booked (their location's zone, else the clinic's), not in UTC."""
    return local_date(now, ZoneInfo(patient.time_zone)) + timedelta(days=1)


def _start_of(location: Location, day: date) -> datetime:
    return selectors.local_day_bounds(location, day)[0]


def merge_options(first, then):
    seen, merged = set(), []
    for option in [*first, *then]:
        if option.key not in seen:
            seen.add(option.key)
            merged.append(option)
    return merged


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
        "template": series.IV_INDUCTION.code,  # the first-run course; the form offers those in use
        "location": patient.location_id,
        "start_date": _tomorrow_for(patient, now),
        "weekdays": [0, 2, 4],
        "local_time": time(9),
    }
    form = SeriesForm(request.POST or None, initial=initial, locations=access.visible_locations(request.user))
    if request.method == "GET" or not form.is_valid():
        return render(request, "scheduling/series_form.html", {"patient": patient, "form": form},
                      status=200 if request.method == "GET" else 400)  # fmt: skip
    return _propose_series(request, patient, form.cleaned_data, now)


def _propose_series(request, patient, data: dict, now: datetime, *, error=None, status=200) -> HttpResponse:
    template = data["template_obj"]
    location = data["location"]
    try:
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
    except ValueError as exc:
        # The form's own checks say the same; this is the day changing between the form and the proposal.
        messages.error(request, str(exc))
        form = SeriesForm(initial=data, locations=access.visible_locations(request.user))
        return render(request, "scheduling/series_form.html", {"patient": patient, "form": form}, status=400)
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
            "calendar": selectors.series_calendar(
                proposal,
                location=location,
                patient=patient,
                session_length=timedelta(minutes=data["treatment_type"].chair_minutes),
            ),
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
        messages.error(request, _("That proposal has expired or was changed: propose the series again."))
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
        messages.error(
            request, _("That proposal no longer fits the clinic's set-up: propose the series again.")
        )
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
        if wants_json(request):
            return JsonResponse(conflict_payload(exc, data["location"]), status=exc.status_code)
        # Nothing was booked. Propose again from the schedule as it is now.
        return _propose_series(request, patient, data, now, error=exc, status=exc.status_code)
    count = treatment_series.appointments.count()
    messages.success(
        request,
        _("Booked %(count)d sessions: %(series)s.") % {"count": count, "series": treatment_series.label},
    )
    return redirect("scheduling:patient_detail", patient_id=patient.pk)
