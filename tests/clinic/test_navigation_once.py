"""Links and navigation words made once per process: the same addresses as reverse(), the words in each language."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation

from clinic import navigation
from clinic.navigation import MAIN_NAVIGATION, around_id, nav_items, reverse_once
from clinic.roles import Role


def test_links_made_once_are_the_addresses_reverse_gives():
    assert reverse_once("home") == reverse("home")
    assert reverse_once("clinic_theme", "abc123") == reverse("clinic_theme", args=["abc123"])
    before, after = around_id("scheduling:appointment_detail")
    assert f"{before}123{after}" == reverse("scheduling:appointment_detail", args=[123])


def test_navigation_words_are_kept_per_language(monkeypatch):
    # A catalog stand-in that says which language it answered in: a cache that ignored the language would show
    # the first language's words to everyone.
    monkeypatch.setattr(navigation, "gettext", lambda words: f"[{translation.get_language()}] {words}")
    navigation._items.cache_clear()
    links = MAIN_NAVIGATION[Role.FRONT_DESK]
    try:
        for language in ("en", "es", "en"):
            with translation.override(language):
                items = nav_items(links, here="scheduling:waitlist")
            assert [item.words for item in items][:2] == [
                f"[{language}] Today",
                f"[{language}] Find a patient",
            ]
            assert [item.current for item in items] == [False, False, True, False]
    finally:
        navigation._items.cache_clear()


@pytest.mark.parametrize("current", [True, False])
def test_nav_links_mark_the_page_shown_and_escape_the_words(current):
    item = navigation.NavItem(href="/a?b=1&c=2", words="Fish & <chips>", current=current)
    html = Template("{% load clinic_navigation %}{% nav_links links %}").render(Context({"links": [item]}))
    assert 'href="/a?b=1&amp;c=2"' in html and "Fish &amp; &lt;chips&gt;" in html
    assert ('class="nav-link active" aria-current="page"' in html) is current
