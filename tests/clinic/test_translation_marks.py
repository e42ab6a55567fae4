"""Every template's user-visible text is marked for translation.

Each template under templates/ is split with Django's own template lexer. Text inside `{% translate %}` and
`{% blocktranslate %}` (and inside comments) is marked; every other text token is read as HTML: the text between
tags, and the attributes a person sees or hears (title, alt, placeholder, aria-label, and the value of a button),
must hold no letters. A template tag or variable stands in as a neutral "{}", so `{{ count }} patients` is caught
while `{{ patient.full_name }}` alone is not.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.template.base import Lexer, TokenType

TEMPLATES_DIR = Path(settings.BASE_DIR) / "templates"

# Templates other work is rewriting at the moment (a name ending in "/" is a whole folder); each is marked when that
# work lands. Empty now: keep it so, or short.
NOT_YET_MARKED: frozenset[str] = frozenset()

# Attributes whose text is shown or read aloud; an input button's value is its label (a <button>'s is not shown).
VISIBLE_ATTRIBUTES = frozenset(
    {"title", "alt", "placeholder", "aria-label", "aria-description", "aria-roledescription"}
)
BUTTON_INPUT_TYPES = frozenset({"submit", "button", "reset"})

_PLACEHOLDER = "{}"
_LETTER = re.compile(r"[^\W\d_]")


def marked_out_source(source: str) -> str:
    """The template with marked text, comments and template code each replaced by a neutral placeholder."""
    out: list[str] = []
    skip_until: str | None = None
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            name = token.contents.split(" ", 1)[0]
            if skip_until is not None:
                if name == skip_until:
                    skip_until = None
                continue
            if name in {"blocktranslate", "blocktrans"}:
                skip_until = "end" + name
            elif name == "comment":
                skip_until = "endcomment"
            out.append(_PLACEHOLDER)
        elif skip_until is not None:
            continue
        elif token.token_type == TokenType.TEXT:
            out.append(token.contents)
        elif token.token_type == TokenType.VAR:
            out.append(_PLACEHOLDER)
    return "".join(out)


class _UnmarkedText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._raw_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style"}:
            self._raw_depth += 1
        values = dict(attrs)
        for name, value in attrs:
            visible = name in VISIBLE_ATTRIBUTES or (
                name == "value"
                and tag == "input"
                and (values.get("type") or "").lower() in BUTTON_INPUT_TYPES
            )
            if visible and value and _LETTER.search(value):
                self.found.append(f'<{tag} {name}="{value}">')

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"} and self._raw_depth:
            self._raw_depth -= 1

    def handle_data(self, data: str) -> None:
        if not self._raw_depth and _LETTER.search(data):
            self.found.append(" ".join(data.split()))


def unmarked_text(source: str) -> list[str]:
    """The user-visible text of a template that no translation tag marks."""
    parser = _UnmarkedText()
    parser.feed(marked_out_source(source))
    parser.close()
    return parser.found


def _templates() -> list[str]:
    return sorted(
        path.relative_to(TEMPLATES_DIR).as_posix()
        for path in TEMPLATES_DIR.rglob("*")
        if path.is_file() and path.suffix in {".html", ".txt", ".xml"}
    )


def _not_yet_marked(name: str) -> bool:
    return any(name == entry or (entry.endswith("/") and name.startswith(entry)) for entry in NOT_YET_MARKED)


@pytest.mark.parametrize("name", [name for name in _templates() if not _not_yet_marked(name)])
def test_template_text_is_marked_for_translation(name: str) -> None:
    source = (TEMPLATES_DIR / name).read_text(encoding="utf-8")
    assert unmarked_text(source) == [], (
        f"{name}: wrap this text in {{% translate %}} or {{% blocktranslate %}}"
    )


def test_exempt_templates_exist() -> None:
    """An exemption outlives its template only by mistake: a renamed or marked file leaves the list."""
    names = _templates()
    stale = [
        entry
        for entry in NOT_YET_MARKED
        if not any(name == entry or name.startswith(entry) for name in names)
    ]
    assert stale == []


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("<p>Hello</p>", ["Hello"]),
        ("<p>{{ count }} patients</p>", ["{} patients"]),
        ('<a href="{% url "x" %}" title="Open it">{{ name }}</a>', ['<a title="Open it">']),
        ('<img src="x.svg" alt="Clinic logo">', ['<img alt="Clinic logo">']),
        ('<input type="submit" value="Save">', ['<input value="Save">']),
        ('<nav aria-label="Main"></nav>', ['<nav aria-label="Main">']),
        ("{% if x %}None yet.{% endif %}", ["{}None yet.{}"]),
        ("{# a note #}{% comment %}Some words{% endcomment %}", []),
        ('{% load i18n %}<p>{% translate "Hello" %}</p>', []),
        (
            "{% load i18n %}<p>{% blocktranslate trimmed with n=name %}Hello {{ n }}{% endblocktranslate %}</p>",
            [],
        ),
        ('<div class="card card-calm" id="main" data-bs-toggle="collapse"></div>', []),
        ('<input type="hidden" name="step" value="contact">', []),
        ('<button type="submit" name="action" value="next">{% translate "Next" %}</button>', []),
        ("<p>{{ patient.full_name }} &middot; {{ when }}</p>", []),
    ],
)
def test_the_check_catches_visible_text_only(source: str, found: list[str]) -> None:
    assert unmarked_text(source) == found
