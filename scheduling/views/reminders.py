"""The patient's reminder links (no sign-in: the signed link is the key) and front desk's failed reminders."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from clinic.access import role_required
from clinic.parsing import object_id
from scheduling import access, reminders, selectors, services
from scheduling.models import Reminder
from scheduling.views.pages import DESK

ACTIONS = {"confirm", "cancel", "reschedule"}


@never_cache
@require_http_methods(["GET", "POST"])
def reminder_link(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows the choice (mail scanners follow links: a GET never changes anything); POST acts."""
    now = timezone.now()
    try:
        reminder, link_action = selectors.reminder_for_link(token, now=now)
    except services.LinkRefused as exc:
        return render(request, "scheduling/reminders/link_refused.html", {"message": exc.message}, status=410)
    appointment = reminder.appointment
    context = {
        "appointment": appointment,
        "location": appointment.location,
        "when": services.format_local(appointment.start_at, appointment.location),
        "link_action": link_action,
        "offers_confirm": link_action in ("confirm", "manage"),
        "offers_cancel": link_action in ("cancel", "manage"),
        "reasons": [(code, _(words)) for code, words in services.CANCEL_REASONS.items()],
    }
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in ACTIONS:
            context["error"] = _("Choose what you would like to do.")
            return render(request, "scheduling/reminders/link.html", context, status=400)
        if action == "cancel" and request.POST.get("reason") not in services.CANCEL_REASONS:
            context["error"] = _("Choose a reason for cancelling.")
            return render(request, "scheduling/reminders/link.html", context, status=400)
        try:
            appointment = services.use_reminder_link(
                token=token, action=action, now=now, reason_code=request.POST.get("reason", "")
            )
        except services.LinkRefused as exc:
            return render(
                request, "scheduling/reminders/link_refused.html", {"message": exc.message}, status=410
            )
        except services.SchedulingError as exc:  # e.g. a change saved at the same moment: nothing was changed
            context["error"] = exc.message
            return render(request, "scheduling/reminders/link.html", context, status=exc.status_code)
        return render(
            request,
            "scheduling/reminders/link_done.html",
            {**context, "appointment": appointment, "action": action},
        )
    return render(request, "scheduling/reminders/link.html", context)


@role_required(*DESK)
def failed_reminders(request: HttpRequest) -> HttpResponse:
    """Failed reminders of the sessions at the locations this person may see (scheduling.access)."""
    theirs = access.visible_locations(request.user)
    location = None
    if location_id := object_id(request.GET.get("location")):
        location = theirs.filter(pk=location_id).first()
    rows = list(
        selectors.failed_reminders(location).filter(
            access.location_filter(request.user, "appointment__location")
        )[:200]
    )
    return render(
        request,
        "scheduling/reminders/failed.html",
        {
            "reminders": rows,
            "location": location,
            "locations": theirs.filter(is_active=True),
            "max_attempts": reminders.max_attempts(),
        },
    )


@role_required(*DESK)
@require_POST
def resend_reminder(request: HttpRequest, pk: int) -> HttpResponse:
    reminder = get_object_or_404(
        Reminder.objects.filter(access.location_filter(request.user, "appointment__location")), pk=pk
    )
    try:
        services.resend_reminder(reminder=reminder, resent_by=request.user, now=timezone.now())
    except services.SchedulingError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The reminder will be sent again within a minute."))
    return redirect("scheduling:failed_reminders")
