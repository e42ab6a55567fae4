"""Clinician-review fixtures: a location, the clinician persona as an on-call Clinician there, and a clock for the
pages. Patients, intakes and re-screens come from tests.factories (``make_review_patient``, ``make_intake``,
``rescreen``, ``submit_full_intake``), dated around ``REVIEW_NOW``."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from clinic.roles import Role
from scheduling.models import Clinician, Location
from tests.factories import REVIEW_NOW


@pytest.fixture
def location(db):
    return Location.objects.create(name="Harbor Review Clinic", time_zone="America/New_York")


@pytest.fixture
def other_location(db):
    return Location.objects.create(name="Bayside Clinic", time_zone="America/Los_Angeles")


@pytest.fixture
def on_call(clinician, location):
    """The clinician persona as an on-call Clinician working at ``location``."""
    row = Clinician.objects.create(user=clinician, credentials="MD", is_on_call=True)
    row.locations.add(location)
    return row


@pytest.fixture
def second_clinician(make_user, location):
    user = make_user(Role.CLINICIAN, email="second.doc@example.org", full_name="Jordan Second")
    Clinician.objects.create(user=user, credentials="NP").locations.add(location)
    return user


@pytest.fixture
def frozen_clock():
    """The web pages use the real clock: start it at REVIEW_NOW (it keeps ticking), so fixed test dates are the
    past."""
    with time_machine.travel(REVIEW_NOW + timedelta(minutes=1), tick=True):
        yield


@pytest.fixture
def stopped_clock():
    """The clock held at REVIEW_NOW for the whole test, however long its set-up takes: a query budget then never
    meets the staff session's last-seen write (once a minute, clinic.security.StaffSessionMiddleware)."""
    with time_machine.travel(REVIEW_NOW + timedelta(minutes=1), tick=False):
        yield
