"""The schedules: today, a day, a week, and tomorrow's unconfirmed sessions (front desk's call list)."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

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
    schedule = selectors.day_schedule(location, day)
    today = timezone.now().astimezone(location.tz).date()
    link = day_live.book_url(request.user, location, day, today)
    context = {
        "location": location,
        "locations": locations,
        "day": day,
        "schedule": schedule,
        "previous_day": day - timedelta(days=1),
        "next_day": day + timedelta(days=1),
        "today": today,
        "book_url": link,
        "etag": day_live.etag(schedule.version, bool(link)),
    }
    return render(request, "scheduling/day.html", context)


@role_required(*STAFF)
def week_view(request: HttpRequest) -> HttpResponse:
    locations = selectors.picker_locations(request.user)
    location = location_asked(request, among=locations)
    day = day_asked(request, location, key="start")
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
