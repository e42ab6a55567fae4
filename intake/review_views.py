"""Clinician review pages (the clinician-review issue fills these in)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from clinic.access import role_required
from clinic.roles import Role


@role_required(Role.CLINICIAN)
def queue(request: HttpRequest) -> HttpResponse:
    """The clinician's home: submitted intakes awaiting a decision."""
    return render(request, "review/queue.html")
