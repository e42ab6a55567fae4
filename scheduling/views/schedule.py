"""The schedules: today, a day, a week, and tomorrow's unconfirmed sessions (front desk's call list)."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from clinic.access import role_required
from scheduling import access, selectors
from scheduling.views import day_live
from scheduling.views.pages import DESK, STAFF, day_asked, location_asked


@role_required(*DESK)
def today(request: HttpRequest) -> HttpResponse:
    """Front desk's home: today's day view at the first location (or the one chosen)."""
    return day_view(request)


@role_required(*STAFF)
def day_view(request: HttpRequest) -> HttpResponse:
    locations = selectors.picker_locations(request.user)
    if not locations:
        return render(
            request,
            "scheduling/no_location.html",
            {"unassigned": not access.sees_every_location(request.user)},
        )
    location = location_asked(request, among=locations)
    day = day_asked(request, location)
    now = timezone.now()
    statement = selectors.day_statement(location, day, now=now)
    today = now.astimezone(location.tz).date()
    by_clinician = day_live.by_clinician_asked(request)
    link = day_live.book_url(request.user, location, day, today)
    context = {
        "location": location,
        "day": day,
        "by_clinician": by_clinician,
        "book_url": link,
        # The day's own part of the page, made once for every reader of the same day (day_live.day_page_markup).
        "day_page": day_live.day_page_markup(
            request, statement, locations=locations, today=today, book_url=link, by_clinician=by_clinician
        ),
    }
    return render(request, "scheduling/day.html", context)


@role_required(*STAFF)
def day_sheet(request: HttpRequest) -> HttpResponse:
    """The day as a sheet to print: every session in time order with its chair, clinician, status and badges."""
    locations = selectors.picker_locations(request.user)
    location = location_asked(request, among=locations)
    day = day_asked(request, location)
    return render(
        request,
        "scheduling/day_sheet.html",
        {"location": location, "day": day, "schedule": selectors.day_schedule(location, day)},
    )


@role_required(*STAFF)
def week_view(request: HttpRequest) -> HttpResponse:
    """The week as a grid: chairs and rooms as rows, days as columns; kept live like the day view."""
    locations = selectors.picker_locations(request.user)
    location = location_asked(request, among=locations)
    day = day_asked(request, location, key="start")
    week_start = day - timedelta(days=day.weekday())
    grid = selectors.week_grid(location, week_start)
    context = {
        "location": location,
        "locations": locations,
        "week_start": week_start,
        "week_end": week_start + timedelta(days=6),
        "grid": grid,
        "today": timezone.now().astimezone(location.tz).date(),
        "previous_week": week_start - timedelta(days=7),
        "next_week": week_start + timedelta(days=7),
        "etag": day_live.etag(grid.version, False),
    }
    return render(request, "scheduling/week.html", context)


@role_required(*STAFF)
@require_GET
def week_live(request: HttpRequest) -> HttpResponse:
    """The week grid for the page to swap in; 304 while nothing changed (the day view's poll, for a week)."""
    location = location_asked(request, among=selectors.picker_locations(request.user))
    week_start = day_asked(request, location, key="start")
    week_start -= timedelta(days=week_start.weekday())
    asked = request.headers.get("If-None-Match", "")
    if asked and asked == day_live.etag(selectors.week_version(location, week_start), False):
        response = HttpResponse(status=304)
        response["ETag"] = asked
    else:
        grid = selectors.week_grid(location, week_start)
        response = render(
            request,
            "scheduling/_week_live.html",
            {"grid": grid, "location": location, "today": timezone.now().astimezone(location.tz).date()},
        )
        response["ETag"] = day_live.etag(grid.version, False)
    response["Cache-Control"] = "private, no-cache"
    return response


@role_required(*DESK)
def unconfirmed(request: HttpRequest) -> HttpResponse:
    """Tomorrow's sessions the patient has not confirmed yet: front desk's call list."""
    locations = selectors.picker_locations(request.user)
    location = location_asked(request, among=locations)
    day = (
        day_asked(request, location)
        if request.GET.get("date")
        else (timezone.now().astimezone(location.tz).date() + timedelta(days=1))
    )
    appointments = list(selectors.unconfirmed_appointments(location, day))
    return render(
        request,
        "scheduling/unconfirmed.html",
        {"location": location, "locations": locations, "day": day, "appointments": appointments},
    )
