"""Every form of the app, fed garbage by hypothesis: never a 500, and a refused post writes nothing.

The forms are found, not listed: each role opens every page of the URL configuration (object ids filled with a
patient's real records), and every <form method="post"> on a page that answers 200 is fuzzed with the field names
its HTML declares, plus stray ones. "Writes nothing" is read from the audit trail, which the database writes for
every change to patient data."""

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinic.models import AuditEvent
from tests.factories import PatientRecords
from tests.support import app_routes

GARBAGE = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", "yes", "no", "on", "0", "1", "-1", "999999999999", "1e309", "NaN", "2027-02-30", "25:99",
                     "<b>x</b>", "' OR 1=1 --", "a" * 3000, "\x00", "iv", "both", "eligible"]),
    st.integers(min_value=-(10**9), max_value=10**9).map(str),
)  # fmt: skip
SKIP_PAGES = ("/accounts/logout/", "/accounts/sign-out-everywhere/")


def _pages(records: PatientRecords) -> list[str]:
    """Every page, object ids filled with the patient's own records (so staff and the patient see real pages)."""
    found = []
    for route in app_routes():
        patient_page = "patients/" in route and "appointments/" not in route
        kind_id = records.patient_id if patient_page else records.appointment_id
        path = re.sub(r"<int:submission_pk>", str(records.submission_id), route)
        path = re.sub(r"<int:\w+>", str(kind_id), path)
        path = re.sub(r"<slug:step>", "contact", path)
        if "<" not in path:
            found.append(path)
    return found


def _post_fields(html: str) -> list[list[str]]:
    forms = re.findall(r"<form[^>]*method=\"post\"[^>]*>(.*?)</form>", html, flags=re.S | re.I)
    return [sorted(set(re.findall(r'name="([^"]+)"', form)) - {"csrfmiddlewaretoken"}) for form in forms]


def _forms_on_pages(client, records: PatientRecords) -> list[tuple[str, list[str]]]:
    targets = []
    for path in _pages(records):
        if path.startswith(SKIP_PAGES):
            continue
        page = client.get(path)
        if page.status_code == 200 and "text/html" in page.get("Content-Type", ""):
            targets += [(path, fields) for fields in _post_fields(page.content.decode())]
    return targets


@pytest.mark.parametrize("role_fixture", ["patient", "front_desk", "clinician", "clinic_admin"])
def test_garbage_into_every_form_never_500s_and_a_refusal_writes_nothing(
    client, request, patient_records, role_fixture
):
    client.force_login(request.getfixturevalue(role_fixture))
    targets = _forms_on_pages(client, patient_records)
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
