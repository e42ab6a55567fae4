"""Front desk's arrivals and freed times on the day view, as the day_actions tags write them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from django.template import Context, Template
from django.urls import reverse

NOW = datetime(2027, 3, 3, 15, 0, tzinfo=UTC)


def entry(pk: int, start_at: datetime, name: str = "Ann Lee", status: str = "booked") -> SimpleNamespace:
    return SimpleNamespace(
        pk=pk, start_at=start_at, start_label="9:00 AM", times="9:00 AM–11:00 AM", resource_name="Chair <1>",
        patient_name=name, status=status, treatment_label="IV ketamine",
    )  # fmt: skip


def render(text: str, **context) -> str:
    return Template("{% load day_actions %}" + text).render(Context(context))


def test_each_arrival_can_be_checked_in_and_a_started_one_marked_no_show():
    html = render(
        "{% arrival_items arrivals day_path now %}",
        arrivals=[
            entry(7, NOW - timedelta(minutes=5), name="<b>Ann</b>"),
            entry(8, NOW + timedelta(hours=1)),
        ],
        day_path="/front-desk/day/?location=1&date=2027-03-03",
        now=NOW,
        csrf_token="tok",
    )
    assert html.count('name="to" value="checked_in"') == 2
    assert f'action="{reverse("scheduling:transition", args=[7])}"' in html
    assert f'action="{reverse("scheduling:transition", args=[8])}"' in html
    # No-show is offered once the session has started (the service's rule): the first only.
    assert f'action="{reverse("scheduling:no_show", args=[7])}"' in html
    assert reverse("scheduling:no_show", args=[8]) not in html
    assert html.count('name="csrfmiddlewaretoken" value="tok"') == 3
    assert 'value="/front-desk/day/?location=1&amp;date=2027-03-03"' in html
    assert "&lt;b&gt;Ann&lt;/b&gt;" in html and "<b>Ann" not in html
    assert (
        "Chair &lt;1&gt;" in html and f'href="{reverse("scheduling:appointment_detail", args=[7])}"' in html
    )


def test_freed_times_are_offered_to_the_waitlist():
    html = render("{% freed_items freed %}", freed=[entry(9, NOW, status="cancelled")])
    assert f'href="{reverse("scheduling:waitlist_gap", args=[9])}"' in html
    assert "9:00 AM–11:00 AM" in html and "(cancelled)" in html and "Chair &lt;1&gt;" in html
