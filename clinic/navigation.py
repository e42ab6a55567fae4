"""The main navigation as data: each role's links, in order, rendered by the ``main_navigation`` tag
(clinic/templatetags/clinic_navigation.py) and its ``nav_links`` tag.

A link names its page by URL name and, where it shows a figure (the clinician's queue size, the open alerts), the
template that shows it. That template reads what its own app's context processor put in the page's context, so this
module needs no app above clinic.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from django.urls import get_script_prefix, reverse
from django.utils.translation import get_language, gettext, gettext_noop

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


@functools.lru_cache(maxsize=512)
def _reversed(name: str, args: tuple, script_prefix: str) -> str:
    return reverse(name, args=args)


def reverse_once(name: str, *args: object) -> str:
    """``reverse(name, args=args)``, once per process and script prefix: the same on every request, and a reverse()
    costs about as much as a dozen lines of a page's markup. For names every page links to (the navigation, the
    account menu), not for ids from the data."""
    return _reversed(name, args, get_script_prefix())


def around_id(name: str) -> tuple[str, str]:
    """The URL ``name`` of an object as (before, after) its id, for markup that links many objects: one reverse()
    (of a placeholder id) for every link on a page."""
    before, _, after = reverse_once(name, 0).rpartition("/0/")
    return f"{before}/", f"/{after}"


@functools.lru_cache(maxsize=1024)
def _items(links: tuple[NavLink, ...], here: str, language: str, script_prefix: str) -> tuple[NavItem, ...]:
    return tuple(
        NavItem(
            href=reverse(link.url_name),
            words=gettext(link.words),
            current=link.marks_current and link.url_name == here,
            badge=link.badge,
        )
        for link in links
    )


def nav_items(links: Iterable[NavLink], *, here: str) -> list[NavItem]:
    """``links`` as shown on the page whose view name is ``here``: the same for every request of that page in one
    language, so made once per process (each link's reverse() and gettext() were a tenth of a short page)."""
    return list(_items(tuple(links), here, get_language() or "", get_script_prefix()))
