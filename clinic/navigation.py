"""The main navigation as data: each role's links, in order, rendered by the ``main_navigation`` tag
(clinic/templatetags/clinic_navigation.py) through templates/clinic/_nav_links.html.

A link names its page by URL name and, where it shows a figure (the clinician's queue size, the open alerts), the
template that shows it. That template reads what its own app's context processor put in the page's context, so this
module needs no app above clinic.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext, gettext_noop

from clinic.roles import Role


@dataclass(frozen=True)
class NavLink:
    url_name: str
    # Marked with gettext_noop where written, translated when shown (the page's language).
    words: str
    # Off for a page that has a header of its own and never shows this navigation (the admin).
    marks_current: bool = True
    # A template shown after the words, with the page's context.
    badge: str = ""


@dataclass(frozen=True)
class NavItem:
    """A link as the page shows it: its address, and whether it is the page shown (marked for screen readers)."""

    href: str
    words: str
    current: bool
    badge: str = ""


MAIN_NAVIGATION: dict[Role, tuple[NavLink, ...]] = {
    Role.PATIENT: (NavLink("portal:home", gettext_noop("My care")),),
    Role.FRONT_DESK: (
        NavLink("scheduling:today", gettext_noop("Today")),
        NavLink("scheduling:patient_search", gettext_noop("Find a patient")),
        NavLink("scheduling:waitlist", gettext_noop("Waitlist")),
        NavLink("scheduling:invite_patient", gettext_noop("Invite a patient")),
    ),
    Role.CLINICIAN: (
        NavLink("review:queue", gettext_noop("Review queue"), badge="review/_nav_queue_badge.html"),
        NavLink("review:alerts", gettext_noop("Urgent alerts"), badge="review/_nav_alerts_badge.html"),
        NavLink("scheduling:day", gettext_noop("Day schedule")),
        NavLink("scheduling:rems_forms_due", gettext_noop("REMS forms due")),
    ),
    Role.CLINIC_ADMIN: (
        NavLink("clinic_settings", gettext_noop("Clinic settings")),
        NavLink("setup:home", gettext_noop("Places, people and treatments")),
        NavLink("intake:consent_documents", gettext_noop("Consent documents")),
        NavLink("review:alerts", gettext_noop("Urgent alerts")),
        NavLink("scheduling:today", gettext_noop("Schedule")),
    ),
}


def nav_items(links: Iterable[NavLink], *, here: str) -> list[NavItem]:
    """``links`` as shown on the page whose view name is ``here``."""
    return [
        NavItem(
            href=reverse(link.url_name),
            words=gettext(link.words),
            current=link.marks_current and link.url_name == here,
            badge=link.badge,
        )
        for link in links
    ]
