"""The main navigation: each role's links, the current page marked for screen readers, the clinician's counts."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

ROLE_LINKS = {
    "patient": [("portal:home", "My care")],
    "front_desk": [
        ("scheduling:today", "Today"),
        ("scheduling:patient_search", "Find a patient"),
        ("scheduling:waitlist", "Waitlist"),
        ("scheduling:invite_patient", "Invite a patient"),
    ],
    "clinician": [
        ("review:queue", "Review queue"),
        ("review:alerts", "Urgent alerts"),
        ("scheduling:day", "Day schedule"),
        ("scheduling:rems_forms_due", "REMS forms due"),
    ],
    "clinic_admin": [
        ("clinic_settings", "Clinic settings"),
        ("setup:home", "Places, people and treatments"),
        ("intake:consent_documents", "Consent documents"),
        ("review:alerts", "Urgent alerts"),
        ("scheduling:today", "Schedule"),
    ],
}


def nav(html: str) -> list[tuple[str, str, bool]]:
    """(address, words, marked current) of each link in the main navigation, in order."""
    block = html[html.index('<ul class="navbar-nav me-auto">') :]
    block = block[: block.index("</ul>")]
    return [
        (href, re.sub(r"<[^>]+>", "", words).strip(), "aria-current" in attrs)
        for attrs, href, words in re.findall(
            r'<a class="nav-link[^"]*"([^>]*?) href="([^"]+)">(.*?)</a>', block
        )
    ]


@pytest.mark.parametrize("role", list(ROLE_LINKS))
def test_each_role_sees_its_links_and_the_current_page_is_marked(client, db, request, role):
    from scheduling.models import Location

    Location.objects.create(name="Harbor", time_zone="America/New_York")
    user = request.getfixturevalue(role)
    client.force_login(user)
    expected = [(reverse(name), words) for name, words in ROLE_LINKS[role]]
    for name, _words in ROLE_LINKS[role]:
        if name == "admin:index":
            continue  # the admin has a header of its own
        response = client.get(reverse(name))
        assert response.status_code == 200, name
        links = nav(response.content.decode())
        # The words, without the clinician's counts after them.
        assert [
            (href, text[: len(words)]) for (href, text, _), (_, words) in zip(links, expected, strict=True)
        ] == expected
        assert [text for _, text, current in links if current] == [
            text for href, text, _ in links if href == reverse(name)
        ], name


def test_signed_out_pages_have_no_navigation_links(client, db):
    html = client.get(reverse("login")).content.decode()
    assert 'class="nav-link' not in html and "Sign in" in html


def test_the_clinician_sees_the_queue_size_and_open_alerts_in_words(client, clinician):
    from tests.factories import REVIEW_NOW as NOW
    from tests.factories import make_intake, rescreen
    from tests.factories import make_review_patient as make_patient

    make_intake(make_patient(first="Waiting"), at=NOW)
    client.force_login(clinician)
    links = dict(
        (text.split(" ")[0], text) for _, text, _ in nav(client.get(reverse("review:queue")).content.decode())
    )
    assert links["Review"] == "Review queue 1 waiting"
    assert links["Urgent"] == "Urgent alerts none open"
    rescreen(make_patient(first="Alerted"), now=NOW, high=True)
    links = dict(
        (text.split(" ")[0], text) for _, text, _ in nav(client.get(reverse("review:queue")).content.decode())
    )
    assert links["Urgent"] == "Urgent alerts 1 open"


def schedule_nav(html: str) -> list[tuple[str, bool]]:
    """(words, marked current) of each link of the schedule pages' own navigation."""
    block = html[html.index('aria-label="Front desk"') :]
    block = block[: block.index("</nav>")]
    return [
        (words, "aria-current" in attrs)
        for attrs, words in re.findall(r'<a class="nav-link([^>]*)>([^<]+)</a>', block)
    ]


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (
            "front_desk",
            [
                "Today",
                "Day",
                "Week",
                "Tomorrow: unconfirmed",
                "Waitlist",
                "Clinician cover",
                "REMS forms due",
                "Find a patient",
            ],
        ),
        ("clinician", ["Day", "Week"]),
    ],
)
def test_the_schedule_pages_have_their_own_links_by_role(client, db, request, role, expected):
    from scheduling.models import Location

    Location.objects.create(name="Harbor", time_zone="America/New_York")
    client.force_login(request.getfixturevalue(role))
    links = schedule_nav(client.get(reverse("scheduling:week")).content.decode())
    assert [words for words, _ in links] == expected
    assert [words for words, current in links if current] == ["Week"]
