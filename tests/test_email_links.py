"""Every kind of email the app sends, through the real services and tasks to the SMTP server on localhost; every
http(s) link in its text and HTML parts is followed as its recipient would (signed in where the link needs it:
a redirect to sign-in, then the sign-in, then the page) and must answer 200.

The emails: the invitation, "you already have an account", a booking confirmation and a reminder (confirm and
cancel links), a series' one confirmation, the information request, the urgent alert and its escalation, the
break-glass notice, an account change (the person and the admins), a password reset, and front desk's notices
(a late cancellation, a request to move)."""

from __future__ import annotations

import re
import time as clock
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from clinic.accounts import record_account_event
from clinic.models import User
from clinic.tasks import send_password_reset
from intake.invitations import invite_patient, register_patient
from intake.models import UrgentAlert
from review.alerts import notify_on_call, sweep_urgent_alerts
from review.decisions import record_decision
from scheduling import services
from scheduling.access import tell_clinic_admins
from scheduling.models import BreakGlassAccess, Reminder
from scheduling.reminders import sweep_due_reminders
from tests.factories import (
    NOW,
    Clinic,
    build_clinic,
    clear_for_treatment,
    give_cleared_intake,
    local,
    make_intake,
    rescreen,
)
from tests.scheduling.test_series_booking import book as book_series
from tests.scheduling.test_series_booking import propose

pytestmark = pytest.mark.django_db

LINK = re.compile(r"""https?://[^\s"'<>)]+""")


def _parts(message) -> list[str]:
    return [
        part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
        for part in message.walk()
        if part.get_content_type() in ("text/plain", "text/html")
    ]


def links_of(message) -> set[str]:
    return {link.rstrip(".,;") for text in _parts(message) for link in LINK.findall(text)}


def follow(url: str, recipient=None) -> int:
    """GET the link as its recipient: anonymously first; a redirect to sign-in is followed by signing in as the
    recipient and opening the link again, which must then reach the page itself (a second trip to sign-in is a
    failure, reported as 403). Returns the final status."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    client = Client()
    sign_in = (reverse("login"), reverse("admin:login"))

    def to_sign_in(response) -> bool:
        return any(urlsplit(hop).path in sign_in for hop, _ in response.redirect_chain)

    response = client.get(path, follow=True)
    if to_sign_in(response):
        if recipient is None:
            return 401
        client.force_login(recipient)
        response = client.get(path, follow=True)
        if to_sign_in(response):
            return 403
    return response.status_code


class Inbox:
    """The emails the SMTP server received; ``open_new`` follows every link of those not yet opened, at the moment
    (the test's clock) they arrive, as the person they were sent to."""

    def __init__(self, server, people) -> None:
        self.server = server
        self.people = {person.email: person for person in people}
        self.opened = 0
        self.subjects: list[str] = []
        self.followed = 0
        self.broken: list[tuple[str, str, int]] = []

    def open_new(self, at_least: int = 1) -> None:
        self.server.wait_for(self.opened + at_least)
        clock.sleep(0.2)  # the rest of a burst (a sweep sends every reminder due)
        with self.server.lock:
            messages = list(self.server.messages[self.opened :])
        self.opened += len(messages)
        for message in messages:
            subject = " ".join(str(message["Subject"]).split())
            self.subjects.append(subject)
            readers = [
                self.people.get(address.strip()) or User.objects.filter(email=address.strip()).first()
                for address in str(message["To"]).split(",")
            ]
            for url in sorted(links_of(message)):
                for reader in readers:
                    self.followed += 1
                    status = follow(url, reader)
                    if status != 200:
                        self.broken.append((subject, url, status))


@pytest.fixture
def clinic(db):
    return Clinic(*build_clinic())


def test_every_link_in_every_email_opens_for_its_recipient(
    patient, second_patient, front_desk, clinician, clinic_admin, clinic, smtp_server, eager_celery,
    django_capture_on_commit_callbacks, settings,
):  # fmt: skip
    inbox = Inbox(smtp_server, [patient, second_patient, front_desk, clinician, clinic_admin])
    run = django_capture_on_commit_callbacks

    with time_machine.travel(NOW, tick=False):
        # A new patient's invitation; a known patient registering again is told they have an account.
        with run(execute=True):
            invite_patient(created_by=front_desk, legal_first_name="Nia", legal_last_name="New",
                           email="nia.new@example.org", now=NOW)  # fmt: skip
        inbox.open_new(1)
        settings.INTAKE_SELF_REGISTRATION = True
        with run(execute=True):
            register_patient(legal_first_name="Pat", legal_last_name="One", email=patient.email,
                             date_of_birth=date(1985, 4, 12), now=NOW)  # fmt: skip
        inbox.open_new(1)

        # Pat books a session; Sam books a series: one confirmation each, the series' as one email.
        pat, sam = patient.patient, second_patient.patient
        for person in (pat, sam):
            person.location = clinic.location
            person.save(update_fields=["location"])
            give_cleared_intake(person)
            clear_for_treatment(person)
        session = services.book_appointment(
            patient=pat, treatment_type=clinic.iv, location=clinic.location, start=local(date(2027, 3, 10), 10),
            resource=clinic.chairs[0], clinician=clinic.clinicians[0], booked_by=front_desk, now=NOW,
        )  # fmt: skip
        book_series(clinic, sam, propose(clinic, sam), front_desk)
        with run(execute=True):
            sweep_due_reminders(now=NOW)
        inbox.open_new(2)

    # The reminder the day before, then front desk's notices of a move request and of a late cancellation.
    day_before = Reminder.objects.get(appointment=session, channel="email", kind="24h").due_at
    with time_machine.travel(day_before, tick=False):
        with run(execute=True):
            sweep_due_reminders(now=day_before)
        inbox.open_new(1)
        with run(execute=True):
            services.ask_to_reschedule(appointment=session, user=patient, now=day_before)
        inbox.open_new(1)
    inside_the_notice = day_before + timedelta(hours=4)
    with time_machine.travel(inside_the_notice, tick=False):
        with run(execute=True):
            services.cancel_by_patient(
                appointment=session, user=patient, reason_code="unwell", now=inside_the_notice
            )
        inbox.open_new(1)
        # The cancellation's calendar update goes to the patient.
        with run(execute=True):
            sweep_due_reminders(now=inside_the_notice + timedelta(minutes=1))
        inbox.open_new(1)

    # A clinician asks Pat for more information.
    asked_at = datetime(2027, 3, 20, 15, 0, tzinfo=UTC)
    with time_machine.travel(asked_at, tick=False):
        make_intake(pat, at=asked_at - timedelta(hours=1))
        with run(execute=True):
            record_decision(patient=pat, decided_by=clinician, outcome="more_info_needed",
                            message_to_patient="Which sleep medicines do you take?", now=asked_at)  # fmt: skip
        inbox.open_new(1)

        # A high-risk check-in: the clinicians are alerted, then the clinic admins when nobody acknowledges.
        rescreen(sam, now=asked_at, high=True)
        notify_on_call(alert_id=UrgentAlert.objects.get(patient=sam).pk, now=asked_at)
        inbox.open_new(1)
    with time_machine.travel(asked_at + timedelta(hours=2), tick=False):
        assert sweep_urgent_alerts(now=asked_at + timedelta(hours=2))["escalated"] == 1
        inbox.open_new(1)

        # A clinician opens a patient of another location in an emergency: the clinic admins are told.
        access = BreakGlassAccess.objects.create(
            user=clinician, patient=sam, reason="Patient called in crisis, record needed", created_at=asked_at,
            expires_at=asked_at + timedelta(hours=12),
        )  # fmt: skip
        tell_clinic_admins(access_id=access.pk)
        inbox.open_new(1)

        # An account change: the person is told, and the clinic admins.
        with run(execute=True):
            record_account_event(account=front_desk, actor=clinic_admin, change="role_changed",
                                 detail="Front desk -> Clinician")  # fmt: skip
        inbox.open_new(2)

        # A password reset.
        send_password_reset.run(patient.email)
        inbox.open_new(1)

    subjects = "\n".join(inbox.subjects)
    for expected in ("Your invitation", "You already have an account", "Booked: your appointment",
                     "Booked: your 6 sessions", "Reminder: your appointment", "A patient asked to move",
                     "Late cancellation", "Cancelled: your appointment", "has a question about your intake",
                     "Urgent: a patient screening", "Escalation", "Emergency access", "Security notice",
                     "Account change at", "Choose a new password"):  # fmt: skip
        assert expected.lower() in subjects.lower(), (expected, subjects)
    assert not inbox.broken, "\n".join(map(str, inbox.broken))
    assert inbox.followed >= 30


def test_the_link_checker_reports_what_the_recipient_cannot_open(patient, clinic_admin):
    site = "http://127.0.0.1:8000"
    assert follow(f"{site}/no-such-page/", patient) == 404
    assert follow(site + reverse("portal:home")) == 401  # needs a sign-in, and nobody to sign in as
    assert follow(site + reverse("portal:home"), patient) == 200
    assert follow(site + reverse("admin:clinic_accountevent_changelist"), patient) != 200
    assert follow(site + reverse("admin:clinic_accountevent_changelist"), clinic_admin) == 200
