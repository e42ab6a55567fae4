"""Every form of the app, fed garbage by hypothesis: never a 500, and a refused post writes nothing.

The forms are found, not listed: each role opens every page of the URL configuration (object ids filled with a
patient's real records), and every <form method="post"> on a page that answers 200 is fuzzed with the field names
its HTML declares, plus stray ones. "Writes nothing" is read from the audit trail, which the database writes for
every change to patient data."""

import re
from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinic.models import AuditEvent
from tests.review.conftest import rescreen
from tests.scheduling.conftest import (
    A_WEDNESDAY,
    NOW,
    Clinic,
    build_clinic,
    clear_for_treatment,
    give_cleared_intake,
    local,
)

GARBAGE = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", "yes", "no", "on", "0", "1", "-1", "999999999999", "1e309", "NaN", "2027-02-30", "25:99",
                     "<b>x</b>", "' OR 1=1 --", "a" * 3000, "\x00", "iv", "both", "eligible"]),
    st.integers(min_value=-(10**9), max_value=10**9).map(str),
)  # fmt: skip
SKIP_PAGES = ("/accounts/logout/", "/accounts/sign-out-everywhere/")


def _pages(ids: dict[str, int]) -> list[str]:
    found = []

    def walk(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and not route.startswith(("admin/", "^")):
                kind = (
                    "appointment"
                    if "appointments/" in route
                    else "patient"
                    if "patients/" in route
                    else "other"
                )
                path = re.sub(r"<int:submission_pk>", str(ids["submission"]), route)
                path = re.sub(r"<int:\w+>", str(ids.get(kind, ids["appointment"])), path)
                path = re.sub(r"<slug:step>", "contact", path)
                if "<" not in path:
                    found.append("/" + path)

    walk(get_resolver().url_patterns)
    return found


def _post_fields(html: str) -> list[list[str]]:
    forms = re.findall(r"<form[^>]*method=\"post\"[^>]*>(.*?)</form>", html, flags=re.S | re.I)
    return [sorted(set(re.findall(r'name="([^"]+)"', form)) - {"csrfmiddlewaretoken"}) for form in forms]


@pytest.fixture
def world(patient, front_desk):
    from intake.services import current_intake
    from scheduling import services

    record = patient.patient
    clinic = Clinic(*build_clinic())
    give_cleared_intake(record)
    clear_for_treatment(record)
    appointment = services.book_appointment(
        patient=record, treatment_type=clinic.iv, location=clinic.location, start=local(A_WEDNESDAY, 9),
        booked_by=front_desk, now=NOW,
    )  # fmt: skip
    submission = rescreen(record, now=NOW + timedelta(days=3), high=True)
    current_intake(patient=record, now=NOW)
    return {"patient": record.pk, "appointment": appointment.pk, "submission": submission.pk}


def _forms_on_pages(client, ids: dict[str, int]) -> list[tuple[str, list[str]]]:
    targets = []
    for path in _pages(ids):
        if path.startswith(SKIP_PAGES):
            continue
        page = client.get(path)
        if page.status_code == 200 and "text/html" in page.get("Content-Type", ""):
            targets += [(path, fields) for fields in _post_fields(page.content.decode())]
    return targets


@pytest.mark.parametrize("role_fixture", ["patient", "front_desk", "clinician", "clinic_admin"])
def test_garbage_into_every_form_never_500s_and_a_refusal_writes_nothing(
    client, request, world, role_fixture
):
    client.force_login(request.getfixturevalue(role_fixture))
    targets = _forms_on_pages(client, world)
    assert len(targets) >= 3, "expected forms to fuzz"

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data())
    def fuzz(data):
        path, fields = data.draw(st.sampled_from(targets), label="form")
        names = fields + data.draw(st.lists(st.text(min_size=1, max_size=8), max_size=2), label="stray")
        form = {name: data.draw(GARBAGE, label=name) for name in names}
        before = AuditEvent.objects.count()
        response = client.post(path, form)
        assert response.status_code < 500, (path, form)
        if response.status_code >= 400:
            assert AuditEvent.objects.count() == before, f"a refused post to {path} changed patient data"

    fuzz()
