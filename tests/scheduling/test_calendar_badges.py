"""Each session on the calendar carries its patient's clearance for that treatment (cleared, not cleared, pending)
and, for Spravato, the REMS enrollment: in words, not colour alone."""

from __future__ import annotations

from datetime import UTC, date, datetime

import time_machine
from django.urls import reverse

from clinic.roles import Role
from intake.models import IntakeSubmission, UrgentAlert
from review.decisions import record_decision
from scheduling.models import RemsEnrollment
from tests.factories import A_WEDNESDAY, NOW, give_rescreen, local, make_patient, make_user


def _newer_intake(patient) -> IntakeSubmission:
    return IntakeSubmission.objects.create(
        kind=IntakeSubmission.Kind.INTAKE,
        patient=patient,
        submitted_at=datetime(2027, 2, 1, tzinfo=UTC),
        answers={},
        findings=[],
    )


def _cell(html: str, name: str) -> str:
    """The session's grid block (the small-screen list, before the grid, shows the same)."""
    blocks = [part.partition("</a>")[0] for part in html.split('<a class="appt') if name in part]
    assert len(blocks) == 2 and blocks[0].count("badge") == blocks[1].count("badge")
    return blocks[1]


def test_blocks_say_each_patients_clearance_and_rems(client, front_desk, clinic, book):
    cleared = make_patient(first="Cleo", last="Cleared")
    pending = make_patient(first="Penn", last="Pending")
    refused = make_patient(first="Alex", last="Alerted")
    spravato = make_patient(first="Sam", last="Spray")
    RemsEnrollment.objects.create(patient=spravato, enrolled_on=date(2027, 1, 5))
    book(cleared, local(A_WEDNESDAY, 9), chair=0, clinician=0)
    book(pending, local(A_WEDNESDAY, 9), chair=1, clinician=1)
    book(refused, local(A_WEDNESDAY, 9), chair=2, clinician=2)
    book(spravato, local(A_WEDNESDAY, 12), chair=3, clinician=0, kind=clinic.spravato)
    consult = make_patient(first="Cora", last="Consult", eligible=False)
    book(consult, local(A_WEDNESDAY, 13), chair=None, clinician=1, kind=clinic.consultation)
    # After booking: a newer intake waits for review, an urgent alert is opened.
    _newer_intake(pending)
    UrgentAlert.objects.create(patient=refused, submission=_newer_intake(refused), created_at=NOW)
    client.force_login(front_desk)

    with time_machine.travel(NOW, tick=False):
        page = client.get(reverse("scheduling:day"), {"location": clinic.location.pk, "date": "2027-03-03"})

    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-clearance="cleared">Cleared<' in _cell(html, "Cleo Cleared")
    assert 'data-clearance="pending">Clearance pending<' in _cell(html, "Penn Pending")
    refused_cell = _cell(html, "Alex Alerted")
    assert 'data-clearance="not_cleared">Not cleared<' in refused_cell
    assert "urgent alert open" in refused_cell
    assert "REMS enrolled" in _cell(html, "Sam Spray")
    assert "REMS" not in _cell(html, "Cleo Cleared")  # IV: no REMS
    assert "data-clearance" not in _cell(html, "Cora Consult")  # a consultation needs no clearance


def test_the_badge_says_cleared_exactly_when_the_booking_gate_allows():
    from itertools import product

    from intake.eligibility import (
        CLEARED,
        NOT_CLEARED,
        PENDING,
        DecisionInForce,
        EligibilityFacts,
        LatestIntake,
        clearance,
        decide,
    )
    from intake.models import Patient

    moment = datetime(2027, 1, 2, tzinfo=UTC)
    decisions = [
        None,
        DecisionInForce(2, "eligible", "both", moment),  # on an older intake: stale
        DecisionInForce(1, "eligible", "iv", moment),
        DecisionInForce(1, "eligible", "both", moment),
        DecisionInForce(1, "more_info_needed", "none", moment),
        DecisionInForce(1, "not_eligible", "none", moment),
    ]
    seen = set()
    for alert, latest, decision, modality in product(
        [None, moment], [None, LatestIntake(1, moment, "[]")], decisions, ["iv", "spravato"]
    ):
        facts = EligibilityFacts(open_alert_at=alert, latest=latest, decision=decision)
        word = clearance(facts, modality=modality)
        assert (word == CLEARED) == decide(facts, modality=modality, patient=Patient()).allowed
        seen.add(word)
    assert seen == {CLEARED, NOT_CLEARED, PENDING}


def test_a_re_screen_leaves_the_badge_and_the_decision_recorded_last_is_in_force(
    client, front_desk, clinic, book
):
    # The clearance reads the latest *intake* and the latest decision: a newer re-screen is not an intake waiting
    # for review, and of two decisions made at the same moment the one recorded last stands.
    rescreened = make_patient(first="Rita", last="Rescreened")
    give_rescreen(rescreened, at=datetime(2027, 2, 1, tzinfo=UTC))
    reversed_same_moment = make_patient(first="Tim", last="Twice")
    book(rescreened, local(A_WEDNESDAY, 9), chair=0, clinician=0)
    book(reversed_same_moment, local(A_WEDNESDAY, 9), chair=1, clinician=1)
    # After booking: a second decision, at the very moment of make_patient's clearance.
    record_decision(
        patient=reversed_same_moment,
        decided_by=make_user(Role.CLINICIAN, email="second.look@example.org"),
        outcome="not_eligible",
        reason="Uncontrolled hypertension",
        now=datetime(2027, 1, 2, tzinfo=UTC),
    )
    client.force_login(front_desk)

    with time_machine.travel(NOW, tick=False):
        page = client.get(reverse("scheduling:day"), {"location": clinic.location.pk, "date": "2027-03-03"})

    html = page.content.decode()
    assert 'data-clearance="cleared">Cleared<' in _cell(html, "Rita Rescreened")
    assert 'data-clearance="not_cleared">Not cleared<' in _cell(html, "Tim Twice")
