"""The front-desk day view shows each patient's current suicide risk from any source: a newer high-risk intake
step or open alert, never the older "no risk" of an earlier screen; nothing for a patient with no risk."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from intake import services
from tests.factories import A_WEDNESDAY, NOW, give_rescreen, local, make_patient


def test_the_day_view_shows_the_latest_risk_not_an_older_no_risk(client, front_desk, clinic, book):
    at_risk = make_patient(first="Robin", last="Vale")
    give_rescreen(at_risk, at=NOW, cssrs_risk="none")  # older: no risk
    calm = make_patient(first="Casey", last="Calm")
    give_rescreen(calm, at=NOW, cssrs_risk="none")
    book(at_risk, local(A_WEDNESDAY, 9), chair=0, clinician=0)
    book(calm, local(A_WEDNESDAY, 9), chair=1, clinician=1)
    # Booked first: an open alert (raised below) blocks any new booking until a clinician acknowledges it.
    intake = services.current_intake(patient=at_risk, now=timezone.now())
    services.save_intake_step(
        intake=intake,
        step_key="cssrs",
        answers={
            "q1": True,
            "q2": True,
            "q3": True,
            "q4": False,
            "q5": True,
            "q6": False,
            "q6_past_3_months": None,
        },
        now=timezone.now(),
    )
    client.force_login(front_desk)

    page = client.get(reverse("scheduling:day") + f"?location={clinic.location.pk}&date=2027-03-03")
    assert page.status_code == 200
    html = page.content.decode()
    # Both the grid and the small-screen list name the risk next to the session.
    cells = [part for part in html.split('<a class="appt') if "Robin Vale" in part]
    assert len(cells) == 2
    for cell in cells:
        assert "Suicide risk: High risk, urgent alert open" in cell
    assert all("Suicide risk" not in part for part in html.split('<a class="appt') if "Casey Calm" in part)
    assert "No risk identified" not in html
