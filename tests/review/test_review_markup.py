"""The review queue's cards and the current-risk line, as the review_markup tags write them."""

from __future__ import annotations

from types import SimpleNamespace

from django.template import Context, Template
from django.urls import reverse

from review.presenters import RiskView


def render(text: str, **context) -> str:
    return Template("{% load review_markup %}" + text).render(Context(context))


def test_a_queue_card_links_the_patient_and_escapes_every_text():
    row = SimpleNamespace(
        patient_id=42, name="Ann <Lee>", about=["41 years", "Harbor & Bay"], badges=[("badge-risk-high", "Hard <stop>")],
        reasons="Depression", phq9="14 of 27, moderate", risk=RiskView("High risk", "badge-risk-high", "C-SSRS at intake"),
    )  # fmt: skip
    html = render("{% queue_rows rows %}", rows=[row])
    assert f'<a href="{reverse("review:patient", args=[42])}">Ann &lt;Lee&gt;</a>' in html
    assert "41 years · Harbor &amp; Bay" in html and "Hard &lt;stop&gt;" in html
    assert (
        'data-current-risk>High risk</span> <span class="small text-body-secondary">from the C-SSRS at intake'
        in html
    )


def test_a_patient_without_a_screen_says_so():
    assert render("{% current_risk risk %}", risk=None) == "No C-SSRS answered yet"
