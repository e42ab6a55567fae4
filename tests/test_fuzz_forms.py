"""Every form of the app, fed garbage by hypothesis: never a 500, and a refused post writes nothing.

The forms are found, not listed: each role opens every page of the URL configuration (object ids filled with a
patient's real records), and every <form method="post"> on a page that answers 200 is fuzzed with the field names
its HTML declares, plus stray ones. "Writes nothing" is read from the audit trail, which the database writes for
every change to patient data."""

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinic.models import AuditEvent
from tests.factories import PatientRecords
from tests.support import app_routes, fill_route

GARBAGE = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", "yes", "no", "on", "0", "1", "-1", "999999999999", "1e309", "NaN", "2027-02-30", "25:99",
                     "<b>x</b>", "' OR 1=1 --", "a" * 3000, "\x00", "iv", "both", "eligible"]),
    st.integers(min_value=-(10**9), max_value=10**9).map(str),
)  # fmt: skip
SKIP_PAGES = ("/accounts/logout/", "/accounts/sign-out-everywhere/")


def _pages(records: PatientRecords) -> list[str]:
    """Every page, object ids filled with the patient's own records (so staff and the patient see real pages)."""
    return [fill_route(route, records) for route in app_routes()]


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


# --- Crafted dates, times and numbers in query strings and forms ---------------------------------------------------

# Out of range for the calendar (years 1 and 9999 overflow once a time zone or a day is added), for Python (year
# 10000), for PostgreSQL's bigint; a time without its zone; words; a digit int() refuses.
DAYS = ["0001-01-01", "9999-12-31", "10000-01-01", "garbage"]
MOMENTS = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "2027-03-03T09:00:00", "garbage"]
NUMBERS = ["9223372036854775808", "99999999999999999999", "-1", "\u00b2"]
CRAFTED = ["0001-01-01", "9999-12-31", "10000-01-01", MOMENTS[0], NUMBERS[1], NUMBERS[3], "garbage"]
NOT_SENT = {"csrfmiddlewaretoken", "_probe"}


class ReadNames:
    """Records the names a view reads from request.GET and request.POST, to learn a page's parameters without
    listing them: a parameter added later is covered automatically."""

    def __init__(self, monkeypatch):
        from django.http import QueryDict

        self.names: set[str] = set()
        for method in ("get", "getlist", "__getitem__", "__contains__"):
            original = getattr(QueryDict, method)

            def spy(querydict, key, *args, _original=original, **kwargs):
                self.names.add(key)
                return _original(querydict, key, *args, **kwargs)

            monkeypatch.setattr(QueryDict, method, spy)


def _typed_inputs(records: PatientRecords) -> dict[str, tuple[str, list[str]]]:
    """For the parameters that carry a day, a time or an id: a valid value, so that a crafted one in another
    parameter reaches the code behind the form, and the crafted values to try in this one."""
    from django.utils import timezone

    from scheduling.models import Appointment

    appointment = Appointment.objects.get(pk=records.appointment_id)
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    start = appointment.start_at.isoformat()

    def slot(moment: str) -> str:  # a free time as the booking pages send it: start, chair or room, clinician
        return f"{moment}|{appointment.resource_id}|{appointment.clinician_id}"

    ids = {
        "location": appointment.location_id,
        "treatment_type": appointment.treatment_type_id,
        "clinician": appointment.clinician_id,
        "current_appointment": appointment.pk,
        "page": 1,
        "rows": 1,
    }
    days = [
        "date",
        "date_from",
        "date_to",
        "earliest_date",
        "latest_date",
        "start_date",
        "rated_on",
        "enrolled_on",
    ]
    return {
        **{name: (str(value), NUMBERS) for name, value in ids.items()},
        **{name: (tomorrow, DAYS) for name in days},
        "start": (start, DAYS[:3] + MOMENTS),  # a day (the week view) or a time (a free time)
        "slot": (slot(start), [slot(moment) for moment in MOMENTS]),
    }  # fmt: skip


def _send(client, method: str, path: str, data: dict[str, str]):
    try:
        response = getattr(client, method)(path, data)
    except Exception as exc:
        raise AssertionError(f"{method.upper()} {path} {data}") from exc
    assert response.status_code != 500, (method, path, data)  # /healthz answers 503 without its worker
    return response


def _names_read(client, method: str, path: str, valid: Callable[[str], str], spy: ReadNames) -> set[str]:
    """The parameters the page reads, asked until no new one is read (a form read only once another is valid, as
    the booking page's free times once a treatment, a place and a day are given)."""
    names: set[str] = set()
    for _ in range(4):
        spy.names = set()
        _send(client, method, path, {"_probe": "1", **{name: valid(name) for name in names}})
        new = {name for name in spy.names - NOT_SENT - names if "password" not in name}
        if not new:
            break
        names |= new
    return names


@pytest.mark.walk
@pytest.mark.parametrize("role_fixture", ["patient", "front_desk", "clinician", "clinic_admin"])
def test_crafted_dates_and_numbers_in_every_query_and_form_never_500(
    client, request, monkeypatch, settings, patient_records, role_fixture
):
    """Every parameter each page reads (GET and POST) gets each crafted value, all at once, and each one that carries
    a day, a time or an id gets its crafted values one at a time, the others valid: a clear answer, never a 500."""
    import time_machine

    from intake.models import UrgentAlert
    from review.alerts import acknowledge_alert
    from tests.factories import NOW

    # The patient's own booking page too: offered by the clinic, and open to them once their urgent alert is
    # acknowledged, on a day after their records were made.
    settings.SCHEDULING_PATIENT_SELF_BOOKING = True
    traveller = time_machine.travel(NOW + timedelta(days=4), tick=False)
    traveller.start()
    request.addfinalizer(traveller.stop)
    alert = UrgentAlert.objects.get(patient_id=patient_records.patient_id)
    clinician = request.getfixturevalue("clinician")
    acknowledge_alert(
        alert_id=alert.pk, acknowledged_by=clinician, note="Called.", now=NOW + timedelta(days=4)
    )
    client.force_login(request.getfixturevalue(role_fixture))
    typed = _typed_inputs(patient_records)
    spy = ReadNames(monkeypatch)

    def kind(name: str) -> tuple[str, list[str]]:
        return typed.get(name.rsplit("-", 1)[-1], ("1", []))  # a form's prefix: "waitlist-earliest_date"

    tried = 0
    for path in _pages(patient_records):
        if path.startswith(SKIP_PAGES):
            continue
        for method in ("get", "post"):
            names = _names_read(client, method, path, lambda name: kind(name)[0], spy)
            valid = {name: kind(name)[0] for name in names}
            batches = [dict.fromkeys(names, value) for value in CRAFTED] if names else []
            batches += [{**valid, name: value} for name in sorted(names) for value in kind(name)[1]]
            for data in batches:
                _send(client, method, path, data)
            tried += len(batches)
    assert tried > 50
