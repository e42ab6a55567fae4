"""Front desk's arrivals and freed times on the day view (``_day_actions.html``), their list items built here.

Today's arrivals are most of the day's sessions in the morning (two dozen on the benchmark's busy day), each with two
forms: in template language, their ``{% url %}``, ``{% csrf_token %}`` and ``{% translate %}`` tags cost more than
the rest of the day view together (bench/README.md has the figures). Each URL is reversed once per process around a
placeholder id, each word translated once per render, and every text escaped (``html.escape``, as Django's escape).
"""

from __future__ import annotations

from html import escape

from django import template
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from clinic.context_processors import page_csrf_token
from clinic.navigation import around_id
from scheduling.selectors.schedule import status_words

register = template.Library()


def _csrf_input(context) -> str:
    """What ``{% csrf_token %}`` writes; the token is the request's, read once for every form."""
    token = context.get("csrf_token")
    if not token or token == "NOTPROVIDED":  # noqa: S105 - Django's marker, not a secret
        return ""
    return f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(str(token))}">'


# What the forms carry instead of the request's CSRF token when their markup is made to be shared (the day view's
# cached sessions, views.day_live): ``with_csrf_token`` puts each reader's own token in its place.
CSRF_STAND_IN = "csrf-stand-in"


def with_csrf_token(markup: str, request) -> SafeString:
    """``markup`` made with ``CSRF_STAND_IN`` as its token, with ``request``'s token instead. The stand-in is
    replaced as the whole hidden input, which begins with "<": no escaped text (a patient's name) can hold it."""
    stand_in = _csrf_input({"csrf_token": CSRF_STAND_IN})
    if stand_in not in markup:
        return mark_safe(markup)  # noqa: S308 - markup made by our templates
    return mark_safe(markup.replace(stand_in, _csrf_input({"csrf_token": page_csrf_token(request)})))  # noqa: S308


@register.simple_tag(takes_context=True)
def arrival_items(context, arrivals, day_path: str, now) -> SafeString:
    """Today's arrivals as list items, each with Check in and (once the session has started, the service's rule)
    No-show."""
    detail_before, detail_after = around_id("scheduling:appointment_detail")
    move_before, move_after = around_id("scheduling:transition")
    no_show_before, no_show_after = around_id("scheduling:no_show")
    csrf = _csrf_input(context)
    back = f'<input type="hidden" name="next" value="{escape(day_path)}">'
    statuses = status_words()
    check_in = escape(gettext("Check in"))
    no_show = escape(gettext("No-show"))
    out = []
    for entry in arrivals:
        pk = int(entry.pk)
        name = escape(entry.patient_name)
        no_show_form = (
            f'<form method="post" action="{no_show_before}{pk}{no_show_after}">{csrf}\n'
            f"            {back}\n"
            f'            <button type="submit" class="btn btn-sm btn-outline-danger">{no_show}'
            f'<span class="visually-hidden"> {name}</span></button>\n'
            "          </form>"
            if entry.start_at <= now
            else ""
        )
        out.append(
            '      <li class="list-group-item d-flex flex-wrap align-items-center justify-content-between gap-2" '
            f'data-arrival="{pk}">\n'
            f"        <span><strong>{escape(entry.start_label)}</strong> · {escape(entry.resource_name)} · "
            f'<a href="{detail_before}{pk}{detail_after}">{name}</a> · {escape(statuses.get(entry.status, entry.status))}</span>\n'
            '        <span class="d-flex gap-2">\n'
            f'          <form method="post" action="{move_before}{pk}{move_after}">{csrf}\n'
            f'            <input type="hidden" name="to" value="checked_in">{back}\n'
            f'            <button type="submit" class="btn btn-sm btn-primary">{check_in}'
            f'<span class="visually-hidden"> {name}</span></button>\n'
            "          </form>\n"
            f"          {no_show_form}\n"
            "        </span>\n"
            "      </li>\n"
        )
    return mark_safe("".join(out))  # noqa: S308 - every interpolated text is escaped or our own


@register.simple_tag
def freed_items(freed) -> SafeString:
    """The day's freed times still to come as list items, each offered to the waitlist."""
    gap_before, gap_after = around_id("scheduling:waitlist_gap")
    statuses = status_words()
    offer = escape(gettext("Offer to the waitlist"))
    out = []
    for entry in freed:
        times, chair = escape(entry.times), escape(entry.resource_name)
        out.append(
            '      <li class="list-group-item d-flex flex-wrap align-items-center justify-content-between gap-2">\n'
            f"        <span><strong>{times}</strong> · {chair} · {escape(entry.treatment_label)} "
            f"({escape(statuses.get(entry.status, entry.status).lower())})</span>\n"
            f'        <a class="btn btn-sm btn-outline-primary" href="{gap_before}{int(entry.pk)}{gap_after}">{offer}'
            f'<span class="visually-hidden">: {times}, {chair}</span></a>\n'
            "      </li>\n"
        )
    return mark_safe("".join(out))  # noqa: S308 - every interpolated text is escaped or our own
