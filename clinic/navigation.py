"""The main navigation's links for each role, made in Python once per process (and per URL prefix) and marked for
the page being shown on each request: it heads every signed-in page, and through the template engine (a dozen
``{% url %}`` tags and as many comparisons) it cost more than some whole pages' own content.

``base.html`` places ``nav_items`` (from ``clinic.context_processors.clinic``), which renders only when the page
shows it.
"""

from __future__ import annotations

from functools import lru_cache

from django.urls import get_script_prefix, reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from clinic.roles import Role

# (URL name, words, marks itself as the current page, badge) for each role, in order.
LINKS: dict[Role, tuple[tuple[str, str, bool, str], ...]] = {
    Role.PATIENT: (("intake:portal", "My care", True, ""),),
    Role.FRONT_DESK: (
        ("scheduling:today", "Today", True, ""),
        ("scheduling:patient_search", "Find a patient", True, ""),
        ("scheduling:waitlist", "Waitlist", True, ""),
        ("intake:invite", "Invite a patient", True, ""),
    ),
    Role.CLINICIAN: (
        ("review:queue", "Review queue", True, "queue"),
        ("review:alerts", "Urgent alerts", True, "alerts"),
        ("scheduling:day", "Day schedule", True, ""),
        ("scheduling:rems_forms_due", "REMS forms due", True, ""),
    ),
    Role.CLINIC_ADMIN: (
        ("admin:index", "Clinic settings", False, ""),
        ("review:alerts", "Urgent alerts", True, ""),
        ("scheduling:today", "Schedule", True, ""),
    ),
}


@lru_cache(maxsize=64)
def _links(script_prefix: str, role: Role) -> tuple[tuple[str, str, bool, str, str], ...]:
    """Each link with its address (reverse() depends on the script prefix, hence the key) and words escaped."""
    return tuple(
        (name, escape(reverse(name)), marks, badge, escape(words))
        for name, words, marks, badge in LINKS[role]
    )


def _badge(kind: str, navigation) -> str:
    if kind == "queue":
        waiting = navigation.queue_count
        return (
            f' <span class="badge rounded-pill text-bg-light border">{waiting}'
            '<span class="visually-hidden"> waiting</span></span>'
        )
    if kind == "alerts":
        total = navigation.alerts.total
        if total:
            return f' <span class="badge rounded-pill badge-risk-high">{total} open</span>'
        return ' <span class="badge rounded-pill text-bg-light border">none open</span>'
    return ""


def nav_item(href: str, words: str, *, current: bool, after: str = "") -> str:
    """A navigation link as an ``<li>`` (``href`` and ``words`` already escaped), marked for screen readers when it
    is the page shown. The main navigation and the schedule pages' own use it."""
    mark = ' active" aria-current="page' if current else ""
    return f'<li class="nav-item"><a class="nav-link{mark}" href="{href}">{words}{after}</a></li>'


class NavItems:
    """The ``<li>`` items of the main navigation for ``request``'s user, made when the template prints them."""

    def __init__(self, request, role: Role | None) -> None:
        self.request = request
        self.role = role

    def __html__(self) -> SafeString:
        if self.role is None:
            return SafeString()
        match = getattr(self.request, "resolver_match", None)
        here = match.view_name if match is not None else ""
        navigation = None
        if self.role is Role.CLINICIAN:
            from intake.review_selectors import review_navigation

            navigation = review_navigation(self.request)
        items = []
        for name, href, marks, badge, words in _links(get_script_prefix(), self.role):
            after = _badge(badge, navigation) if badge else ""
            items.append(nav_item(href, words, current=marks and name == here, after=after))
        return mark_safe("\n".join(items))  # noqa: S308 - addresses and words escaped in _links, badges are numbers

    __str__ = __html__
