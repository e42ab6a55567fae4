from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from clinic.access import role_required
from clinic.roles import Role


@role_required(Role.FRONT_DESK)
def today(request: HttpRequest) -> HttpResponse:
    """Front desk's home: today's schedule (the day view comes with the scheduling issue)."""
    return render(request, "scheduling/today.html")
