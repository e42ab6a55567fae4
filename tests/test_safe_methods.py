"""Walk the whole URL configuration: opening a page (GET or HEAD) changes nothing. Mail scanners, link previews and
browsers prefetch links, and a GET is not protected against cross-site requests as a POST is, so every change of
state is a POST. The only writes a GET may make are the session and the read-access log (who opened which record).
A URL added later is covered automatically."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import PatientRecords
from tests.support import app_routes, fill_route

# Written on reads by design: the session (sign-in state, the idle timer) and the log of who viewed what.
READ_WRITES = {"django_session", "clinic_recordview"}
WRITE = re.compile(r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+)\"?", re.I)


def _writes(queries) -> list[str]:
    found = []
    for query in queries:
        sql = re.sub(r"\bFOR\s+(?:NO\s+KEY\s+)?UPDATE\b", "", query["sql"], flags=re.I)
        found += [
            sql[m.start() : m.start() + 160] for m in WRITE.finditer(sql) if m.group(1) not in READ_WRITES
        ]
    return found


def _pages(records: PatientRecords) -> list[str]:
    return [path for path in (fill_route(route, records) for route in app_routes()) if "<" not in path]


@pytest.mark.parametrize(
    "role_fixture", ["patient", "second_patient", "front_desk", "clinician", "clinic_admin"]
)
def test_no_get_changes_anything(client, request, patient_records, role_fixture):
    client.force_login(request.getfixturevalue(role_fixture))
    opened, writes = 0, {}
    for path in _pages(patient_records):
        for method in (client.get, client.head):
            with CaptureQueriesContext(connection) as queries:
                response = method(path)
            if found := _writes(queries.captured_queries):
                writes[f"{method.__name__.upper()} {path}"] = found
            opened += response.status_code == 200
    assert opened > 5
    assert not writes, writes


def test_a_new_patient_opening_the_intake_writes_nothing_until_they_save(client, patient):
    """The patient's first visit, from the invitation: the first step is shown, no draft is made."""
    from intake.models import Intake

    client.force_login(patient)
    for path in ("/patient/", "/patient/intake/"):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path, follow=True).status_code == 200
        assert not _writes(queries.captured_queries), path
    assert not Intake.objects.exists()


def test_public_pages_and_emailed_links_opened_change_nothing(client, patient_records, front_desk):
    """Signed links in emails and texts are opened by scanners before the person sees them."""
    from intake.invitations import invitation_token, invite_patient
    from scheduling.models import Reminder
    from scheduling.reminders import link_token

    invitation = invite_patient(
        created_by=front_desk, legal_first_name="Nora", legal_last_name="New", email="nora@example.org",
        now=timezone.now(),
    )  # fmt: skip
    reminder = Reminder.objects.filter(appointment_id=patient_records.appointment_id).first()
    links = [f"/invite/{invitation_token(invitation)}/", f"/r/{link_token(reminder, 'manage')}/"]
    opened, writes = 0, {}
    for path in [*links, *_pages(patient_records)]:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        if found := _writes(queries.captured_queries):
            writes[path] = found
        opened += response.status_code == 200
    assert opened >= 3 and not writes, writes
