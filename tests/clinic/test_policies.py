"""Clinic policy changed in the app: the clinic admin's settings page, its refusals, the audit trail's before and
after, and a change taking effect at once, in this process and in another, with no restart."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from clinic import policies
from clinic.models import AuditEvent, ClinicPolicy
from tests.support import BASE_DIR, policy_form

URL = "/clinic-settings/"


def test_only_the_clinic_admin_reaches_the_page(client, front_desk, clinician, patient, clinic_admin):
    for person in (front_desk, clinician, patient):
        client.force_login(person)
        assert client.get(URL).status_code == 404
    client.force_login(clinic_admin)
    page = client.get(URL)
    assert page.status_code == 200 and "Reminders before each session" in page.content.decode()


@pytest.mark.parametrize(
    ("key", "typed", "message"),
    [
        ("REMINDER_OFFSETS", "tomorrow", "separated by commas"),
        ("REMINDER_OFFSETS", "24h, 24h", "each time once"),
        ("REMINDER_QUIET_HOURS", "9pm-8am", "two 24-hour times"),
        ("REMINDER_QUIET_HOURS", "25:00-08:00", "two 24-hour times"),
        ("SCHEDULING_LATE_CANCEL_HOURS", "-3", "from 0 to 168"),
        ("SCHEDULING_LATE_CANCEL_HOURS", "a day", "whole number"),
        ("REVIEW_ALERT_ESCALATION_MINUTES", "0", "from 1 to 240"),
        ("CLINIC_NAME", "  ", "cannot be empty"),
    ],
)
def test_an_unusable_value_is_explained_and_nothing_is_saved(client, clinic_admin, key, typed, message):
    client.force_login(clinic_admin)
    refused = client.post(
        URL,
        policy_form(
            **{key: typed, "CLINIC_NAME": "Renamed Clinic"} if key != "CLINIC_NAME" else {key: typed}
        ),
    )
    assert refused.status_code == 400 and message in refused.content.decode()
    assert not ClinicPolicy.objects.exists()
    assert policies.value("CLINIC_NAME") != "Renamed Clinic"


def test_every_change_is_in_the_audit_trail_with_before_and_after(client, clinic_admin, settings):
    client.force_login(clinic_admin)
    client.post(URL, policy_form(SCHEDULING_LATE_CANCEL_HOURS="48"))
    client.post(URL, policy_form(SCHEDULING_LATE_CANCEL_HOURS="12"))
    events = list(AuditEvent.objects.filter(table_name="clinic_clinicpolicy").order_by("pk"))
    assert [e.action for e in events] == ["INSERT", "UPDATE"]
    assert all(e.actor_id == clinic_admin.pk for e in events)
    assert events[1].old_data["value"] == 48 and events[1].new_data["value"] == 12
    page = client.get(URL).content.decode()
    assert "Late-cancellation window (hours)</strong>: 48 → 12" in page
    assert (
        f"Late-cancellation window (hours)</strong>: {settings.SCHEDULING_LATE_CANCEL_HOURS} (default) → 48"
        in page
    )
    assert "Ada Admin" in page


def test_saving_the_page_unchanged_writes_nothing(client, clinic_admin):
    client.force_login(clinic_admin)
    assert client.post(URL, policy_form()).status_code == 302
    assert not ClinicPolicy.objects.exists() and not AuditEvent.objects.filter(
        table_name="clinic_clinicpolicy"
    )


READER = """
import os, sys, time
import django
django.setup()
from clinic import policies
print(policies.value("CLINIC_NAME"), flush=True)
sys.stdin.readline()
print(policies.value("CLINIC_NAME"), flush=True)
"""


@pytest.mark.django_db(transaction=True)
def test_a_change_reaches_a_process_already_running(settings, clinic_admin):
    """Another process (a worker, another web process) that has read the policy sees the change at its next read."""
    from django.db import connection

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "clinic.settings",
        "DATABASE_URL": os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + connection.settings_dict["NAME"],
        "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
    }
    reader = subprocess.Popen(
        [sys.executable, "-c", READER], cwd=BASE_DIR, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert reader.stdout is not None and reader.stdin is not None
        assert reader.stdout.readline().strip() == settings.CLINIC_NAME
        policies.change_policies(
            changes={"CLINIC_NAME": "Harbor Ketamine & Spravato"}, by=clinic_admin, now=_now()
        )
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "Harbor Ketamine & Spravato"
    finally:
        reader.kill()
        reader.wait()


def _now():
    from django.utils import timezone

    return timezone.now()


def test_a_change_shows_on_the_signed_in_desks_next_page(client, front_desk, clinic_admin):
    """The policy is read with the session (clinic.sessions), one round trip for both: still the one in force."""
    client.force_login(front_desk)
    client.get("/front-desk/")  # the session and the policy now cached as they are
    policies.change_policies(changes={"CLINIC_NAME": "Harbor Spravato Centre"}, by=clinic_admin, now=_now())
    assert "<span>Harbor Spravato Centre</span>" in client.get("/front-desk/").content.decode()
    page = client.get("/front-desk/")  # the changed policy cached again by the page before
    assert page.status_code == 200
    assert "<span>Harbor Spravato Centre</span>" in page.content.decode()
    # The name came from the read made with the session, not from a read of its own.
    assert page.wsgi_request.session.policies_read == {"CLINIC_NAME": "Harbor Spravato Centre"}
    policies.change_policies(changes={"CLINIC_NAME": "Harbor Clinic Two"}, by=clinic_admin, now=_now())
    assert "<span>Harbor Clinic Two</span>" in client.get("/front-desk/").content.decode()
