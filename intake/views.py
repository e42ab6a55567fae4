from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from clinic.access import role_required
from clinic.roles import Role


@role_required(Role.PATIENT)
def portal(request: HttpRequest) -> HttpResponse:
    """The patient's home: their intake and their appointments (filled in by the intake and scheduling issues)."""
    return render(request, "intake/portal.html")


@role_required(Role.CLINICIAN)
def review_queue(request: HttpRequest) -> HttpResponse:
    """The clinician's home: submitted intakes awaiting a decision (filled in by the clinician-review issue)."""
    return render(request, "intake/review_queue.html")
