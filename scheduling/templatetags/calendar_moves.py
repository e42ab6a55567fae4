"""The words of moving a session on the day grid (views.day_move, static/scheduling/move.js), translated once per
language and process: the day view is the busiest page, and ``{% translate %}`` in its template cost about 45 µs a
string on every render (measured in-process; a dozen of them came to a tenth of the page's own rendering)."""

import functools

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import get_language
from django.utils.translation import gettext as _

register = template.Library()


@functools.cache
def _help(language: str) -> SafeString:
    return format_html(
        "{}",
        _(
            "To move a booked session, drag it to an empty cell, or focus it and press M, then choose a cell with "
            "the arrow keys and press Enter (Escape cancels)."
        ),
    )


@functools.cache
def _words(language: str) -> SafeString:
    # Read by move.js (form.dataset): the marks it puts on the grid and what the status line says.
    words = {
        "data-moving-label": _("Moving"),
        "data-clash-label": _("In the way"),
        "data-free-label": _("Free"),
        "data-target-label": _("Asked for"),
        "data-here-label": _("Move here"),
        "data-choose": _(
            "Moving this session: choose an empty cell with the arrow keys and press Enter, or press Escape to "
            "cancel."
        ),
        "data-cancelled": _("Move cancelled."),
        "data-failed": _("The move could not be sent: check the connection and try again."),
    }
    return format_html_join(" ", '{}="{}"', words.items())


@register.simple_tag
def move_help() -> SafeString:
    """How to move a session, for the line above the grid."""
    return _help(get_language() or "")


@register.simple_tag
def move_words() -> SafeString:
    """The move form's ``data-*`` attributes: every word move.js shows, in the page's language."""
    return _words(get_language() or "")
