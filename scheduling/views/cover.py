"""Cover for an absent clinician: their sessions in a range of days, each with a colleague free to take it."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from clinic.access import role_required
from scheduling import access, selectors, services
from scheduling.forms import CoverForm
from scheduling.models import Appointment, Clinician
from scheduling.views.pages import DESK


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
        messages.error(request, _("Tick at least one session to hand over."))
    handed: list[str] = []
    for raw in chosen:
        appointment, colleague = _cover_choice(request, raw, absent=absent)
        if appointment is None:
            continue
        try:
            services.reassign_clinician(appointment=appointment, clinician=colleague, now=now)
        except services.SchedulingError as exc:
            when = services.format_local(appointment.start_at, appointment.location)
            messages.error(
                request,
                _("%(when)s (%(patient)s): %(message)s")
                % {"when": when, "patient": appointment.patient.full_name, "message": exc.message},
            )
            continue
        handed.append(
            _("%(when)s to %(colleague)s")
            % {
                "when": services.format_local(appointment.start_at, appointment.location),
                "colleague": colleague,
            }
        )
    if handed:
        messages.success(
            request,
            ngettext(
                "Handed over %(count)s session: %(sessions)s.",
                "Handed over %(count)s sessions: %(sessions)s.",
                len(handed),
            )
            % {"count": len(handed), "sessions": "; ".join(handed)},
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
        messages.error(request, _("One of the ticked sessions could not be read; it was left as it was."))
        return None, None
    if appointment.clinician_id != absent.pk:
        when = services.format_local(appointment.start_at, appointment.location)
        messages.error(
            request,
            _("%(when)s (%(patient)s) is no longer %(absent)s's session.")
            % {"when": when, "patient": appointment.patient.full_name, "absent": absent},
        )
        return None, None
    return appointment, colleague
