"""A small clinic for the booking tests (tests.factories.build_clinic): one location in New York, six chairs and a
room, three clinicians. Every service call passes ``now`` (tests.factories.NOW), so no test depends on today's date.
"""

from __future__ import annotations

import pytest

from scheduling import services
from tests.factories import NOW, Clinic, build_clinic


@pytest.fixture
def clinic(db):
    return Clinic(*build_clinic())


@pytest.fixture
def desk_user(front_desk):
    return front_desk


@pytest.fixture
def book(clinic, front_desk):
    """book(patient, start, chair=0, clinician=0, type=iv) through the real service, with NOW as the clock."""

    def _book(
        patient, start, *, chair: int | None = 0, clinician: int | None = 0, kind=None, now=NOW, **extra
    ):
        return services.book_appointment(
            patient=patient,
            treatment_type=kind or clinic.iv,
            location=clinic.location,
            start=start,
            resource=None if chair is None else clinic.chairs[chair],
            clinician=None if clinician is None else clinic.clinicians[clinician],
            booked_by=front_desk,
            now=now,
            **extra,
        )

    return _book


@pytest.fixture
def book_one(book):
    """The `book` fixture under a name that leaves `book` free for a test module's own helper."""
    return book
