"""The day view kept live: the grid polled for changes (a 304 when nothing changed), and the booking panel an empty
cell opens (a patient found as front desk types, the gates' verdict before Book, the booking itself through
``services.book_appointment``).

The patient search is posted, never put in the address: a patient's name must not land in a URL or an access log.
"""

from __future__ import annotations

import functools
import hashlib
from datetime import date, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from clinic.access import role_required
from scheduling import selectors, services
from scheduling.forms.cell_booking import CellBookingForm
from scheduling.models import Appointment, Location, Resource
from scheduling.services.verdict import booking_verdict
from scheduling.templatetags.day_actions import CSRF_STAND_IN, with_csrf_token
from scheduling.views.pages import DESK, STAFF, day_asked, location_asked

# How many patients the panel offers as front desk types: enough to pick from, few enough to read.
PANEL_RESULTS = 8


def book_url(user, location: Location, day: date, today: date) -> str:
    """Where an empty cell of ``day`` links (front desk books; nobody books a day that is over), else ""."""
    if getattr(user, "role", None) not in DESK or day < today:
        return ""
    return f"{reverse('scheduling:book_cell')}?location={int(location.pk)}"


def by_clinician_asked(request: HttpRequest) -> bool:
    """The day with clinicians as columns (``?by=clinician``) instead of chairs and rooms."""
    return request.GET.get("by") == "clinician"


def desk_actions(schedule, *, bookable: bool, today: date, now) -> dict:
    """What front desk does from the day view besides booking (``_day_actions.html``): today's arrivals to check in
    or mark no-show, and the times cancellations and no-shows freed, still to come, to offer to the waitlist."""
    if not bookable:
        return {"arrivals": [], "freed": []}
    waiting = (Appointment.Status.BOOKED, Appointment.Status.CONFIRMED)
    return {
        "now": now,  # a no-show is offered from the session's start (the service's rule)
        # Where the forms come back to: the day view, also when this part came with a poll (not the poll's address).
        "day_path": f"{reverse('scheduling:day')}?"
        + urlencode({"location": schedule.location.pk, "date": schedule.day.isoformat()}),
        "arrivals": [e for e in schedule.appointments if e.status in waiting]
        if schedule.day == today
        else [],
        "freed": [e for e in schedule.cancelled if e.start_at > now],
    }


def etag(version: str, bookable: bool, *, by_clinician: bool = False) -> str:
    # The links in empty cells are part of the grid: a day that ends (or a reader who may not book) is other markup;
    # so is the clinician view of the same day.
    return f'"{version}{"-b" if bookable else ""}{"-c" if by_clinician else ""}"'


# How long a made day's markup is kept. Its key changes with anything it shows (``day_markup``), so this only bounds
# the memory a busy morning's versions take.
DAY_MARKUP_SECONDS = 120


@functools.cache
def _code_version() -> str:
    """A digest of the code, templates and translations the day's markup is made with, read once per process: markup
    cached by the release before is never served by this one."""
    root = settings.BASE_DIR
    files = [
        path
        for pattern in (
            "clinic/**/*.py",
            "intake/**/*.py",
            "scheduling/**/*.py",
            "templates/scheduling/*.html",
        )
        for path in sorted(root.glob(pattern))
    ]
    files += [path for folder in settings.LOCALE_PATHS for path in sorted(Path(folder).glob("**/*.mo"))]
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _key(kind: str, statement: selectors.DayStatement, facts, *parts) -> str:
    """The cache key of markup made from ``statement`` (and the clinician view's ``facts``) and ``parts``."""
    location = statement.location
    inputs = (_code_version(), get_language(), get_script_prefix(), location.pk, location.name, location.time_zone,
              statement.day, statement.fingerprint, facts.fingerprint if facts else "", *parts)  # fmt: skip
    return f"day-{kind}:{hashlib.sha256(repr(inputs).encode()).hexdigest()}"


def _live_markup(
    statement: selectors.DayStatement, facts, *, today: date, book_url: str, by_clinician: bool
) -> str:
    """``_day_live.html`` for the day, its forms carrying ``CSRF_STAND_IN``: from the cache, or made and kept."""
    key = _key("live", statement, facts, today, book_url, by_clinician)
    markup = cache.get(key)
    if markup is None:
        location = statement.location
        schedule = selectors.day_schedule(location, statement.day, statement=statement)
        markup = render_to_string(
            "scheduling/_day_live.html",
            {
                "schedule": selectors.clinician_day(schedule, facts) if facts else schedule,
                "by_clinician": by_clinician,
                "location": location,
                "day": statement.day,
                "book_url": book_url,
                "csrf_token": CSRF_STAND_IN,
                **desk_actions(schedule, bookable=bool(book_url), today=today, now=statement.now),
            },
        )
        cache.set(key, markup, DAY_MARKUP_SECONDS)
    return markup


def day_markup(
    request: HttpRequest,
    statement: selectors.DayStatement,
    *,
    today: date,
    book_url: str,
    by_clinician: bool,
) -> SafeString:
    """The day's sessions (``_day_live.html``: arrivals and freed times, the list, the grid, the cancellations) for
    the poll, made once for everyone who reads the same day and kept in the cache.

    The key holds everything the markup is made from: the day statement's row as sent (``statement.fingerprint``:
    sessions, names, chairs, latest risk, clearance facts, closure, and how many sessions have started by now,
    which is all the markup knows of the clock), the clinician holds and working clinicians for the clinician view,
    the location's name and zone, the day and today, the booking link (front desk or not), the language, the
    script prefix and the code. A change to any of them is another key, so a cached answer is never stale. The
    markup holds nobody's identity; its forms carry ``CSRF_STAND_IN``, replaced by this reader's own token."""
    facts = selectors.clinician_day_facts(statement.location, statement.day) if by_clinician else None
    markup = _live_markup(statement, facts, today=today, book_url=book_url, by_clinician=by_clinician)
    return with_csrf_token(markup, request)


def day_page_markup(
    request: HttpRequest,
    statement: selectors.DayStatement,
    *,
    locations: list[Location],
    today: date,
    book_url: str,
    by_clinician: bool,
) -> SafeString:
    """The day view's own part of the page (``_day_page.html``: its heading, the location picker, the help, and the
    sessions), kept in the cache like ``day_markup``'s sessions, under the same inputs and the reader's locations
    (the picker's choices). What is the reader's own (the navigation, the name, the sign-out form, the CSP nonce)
    is drawn around it by ``day.html`` on every request."""
    facts = selectors.clinician_day_facts(statement.location, statement.day) if by_clinician else None
    picker = tuple((location.pk, location.name) for location in locations)
    key = _key("page", statement, facts, today, book_url, by_clinician, picker)
    page = cache.get(key)
    if page is None:
        day = statement.day
        live = _live_markup(statement, facts, today=today, book_url=book_url, by_clinician=by_clinician)
        page = render_to_string(
            "scheduling/_day_page.html",
            {
                "location": statement.location,
                "locations": locations,
                "day": day,
                "closed_reason": statement.closed_reason,
                "by_clinician": by_clinician,
                "previous_day": day - timedelta(days=1),
                "next_day": day + timedelta(days=1),
                "today": today,
                "book_url": book_url,
                "etag": etag(statement.version, bool(book_url), by_clinician=by_clinician),
                "day_live": mark_safe(live),  # noqa: S308 - made by _day_live.html
                "csrf_token": CSRF_STAND_IN,
            },
        )
        cache.set(key, page, DAY_MARKUP_SECONDS)
    return with_csrf_token(page, request)


@role_required(*STAFF)
@require_GET
def day_live(request: HttpRequest) -> HttpResponse:
    """The day view's sessions (grid, list, cancellations) for the page to swap in; 304 while nothing changed.

    Polled every few seconds by every open day view, so the unchanged answer is one small read
    (``selectors.day_version``) and no rendering."""
    location = location_asked(request, among=selectors.picker_locations(request.user))
    day = day_asked(request, location)
    now = timezone.now()
    today = now.astimezone(location.tz).date()
    by_clinician = by_clinician_asked(request)
    link = book_url(request.user, location, day, today)
    asked = request.headers.get("If-None-Match", "")
    if asked and asked == etag(selectors.day_version(location, day), bool(link), by_clinician=by_clinician):
        response = HttpResponse(status=304)
        response["ETag"] = asked
    else:
        statement = selectors.day_statement(location, day, now=now)
        response = HttpResponse(
            day_markup(request, statement, today=today, book_url=link, by_clinician=by_clinician)
        )
        response["ETag"] = etag(statement.version, bool(link), by_clinician=by_clinician)
    # Each answer is this person's (their locations): no shared cache, and ask again every time.
    response["Cache-Control"] = "private, no-cache"
    return response


@role_required(*DESK)
@require_http_methods(["GET", "POST"])
def book_cell(request: HttpRequest) -> HttpResponse:
    """The booking panel for one empty cell. GET opens it; POST with ``action``: ``search`` (patients matching
    ``q``), ``check`` (the gates' verdict), ``book``. Asked by scheduling.js it answers the panel alone, else a
    page with it (the same form works without JavaScript)."""
    location = location_asked(request, among=selectors.picker_locations(request.user))
    now = timezone.now()
    if request.method == "GET":
        # Only the cell comes from the address; anything about a patient is posted.
        data = {key: request.GET.get(key, "") for key in ("resource", "start", "clinician", "by")}
        action = ""
    else:
        data, action = request.POST, request.POST.get("action", "")
    # A cell of the clinician view names the clinician; the chair is the first free one, or chosen in the panel.
    clinician_cell = data.get("by") == "clinician"
    form = CellBookingForm(data, location=location, now=now)
    form.is_valid()
    cleaned = form.cleaned_data
    cell_ok = (
        "start" in cleaned
        and not form.has_error("resource")
        and (cleaned.get("resource") is not None or cleaned.get("clinician") is not None)
    )
    patient = None
    if cleaned.get("patient"):
        patient = selectors.patient_for_booking(request.user, cleaned["patient"])  # 404 if out of reach
    results = None
    if cleaned.get("q"):
        results = selectors.search_patients(cleaned["q"], user=request.user, limit=PANEL_RESULTS)
    verdict, error, status, booked = None, "", 200, None
    treatment_type, clinician = cleaned.get("treatment_type"), cleaned.get("clinician")
    if patient is not None and treatment_type is None and cell_ok and action != "book":
        # A returning patient is usually booked for the same treatment again: chosen first, one click fewer.
        kind = cleaned["resource"].kind if cleaned.get("resource") else Resource.Kind.CHAIR
        usual = selectors.usual_treatment_type(patient.pk, kind)
        treatment_type = next((t for t in form.treatment_choices() if t.pk == usual), None)
    if not cell_ok:
        status = 400
    elif action == "book" and (patient is None or treatment_type is None):
        error, status = _("Choose a patient and a treatment before booking."), 400
    elif patient is not None and treatment_type is not None and not form.errors:
        if action == "book":
            try:
                booked = services.book_appointment(
                    patient=patient,
                    treatment_type=treatment_type,
                    location=location,
                    start=cleaned["start"],
                    resource=cleaned["resource"],
                    clinician=clinician,
                    booked_by=request.user,
                    notes=cleaned.get("notes", ""),
                    now=now,
                )
            except services.SchedulingError as exc:
                error, status = exc.message, exc.status_code
        if booked is None:
            verdict = booking_verdict(
                patient=patient,
                treatment_type=treatment_type,
                location=location,
                resource=cleaned["resource"],
                clinician=clinician,
                start=cleaned["start"],
                now=now,
            )
    elif action == "book":
        status = 400
    if booked is not None:
        summary = _(
            "Booked %(treatment)s for %(patient)s on %(when)s in %(resource)s with %(clinician)s."
        ) % {
            "treatment": booked.treatment_type.label,
            "patient": booked.patient.full_name,
            "when": services.format_local(booked.start_at, location),
            "resource": booked.resource.name,
            "clinician": booked.clinician,
        }
        if not request.htmx:
            messages.success(request, summary)
            day = booked.start_at.astimezone(location.tz).date()
            return redirect(
                f"{reverse('scheduling:day')}?{urlencode({'location': location.pk, 'date': day.isoformat()})}"
            )
        status = 201
    else:
        summary = ""
    context = {
        "form": form,
        "location": location,
        "cell_ok": cell_ok,
        "clinician_cell": clinician_cell,
        "resource": cleaned.get("resource"),
        "clinician": clinician,
        "start": cleaned.get("start"),
        "patient": patient,
        "results": results,
        "treatments": form.treatment_choices(),
        "treatment_type": treatment_type,
        "verdict": verdict,
        "error": error,
        "booked": booked,
        "summary": summary,
        "day": cleaned["start"].astimezone(location.tz).date() if cell_ok else None,
    }
    template = "scheduling/_book_panel.html" if request.htmx else "scheduling/book_cell.html"
    return render(request, template, context, status=status)
