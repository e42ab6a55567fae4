"""The review queue is a table the database keeps (migration 0005): each transition that changes who waits, through
the real services, and a random run of all of them checked against the queue's definition after every step."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Subquery
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from intake.models import EligibilityDecision, IntakeSubmission, UrgentAlert
from intake.selectors import latest_risks
from intake.services import save_intake_step, submit_intake
from review.alerts import acknowledge_alert
from review.decisions import record_decision
from review.models import ReviewQueueCount, ReviewQueueEntry
from review.selectors import (
    QueueFilters,
    first_queue_page,
    navigation_counts,
    queue_count,
    queue_page,
    queue_size,
    rebuild_review_queue,
    review_queue,
)
from tests.factories import HARD_STOP, REVIEW_FLAG, make_intake, phq9, rescreen, submit_full_intake
from tests.factories import REVIEW_NOW as NOW
from tests.factories import make_review_patient as make_patient


def waiting(patient) -> list[int]:
    """The patient's submissions in the queue."""
    return list(
        ReviewQueueEntry.objects.filter(patient=patient)
        .order_by("submitted_at")
        .values_list("submission", flat=True)
    )


def names(queryset) -> list[str]:
    return [entry.patient.legal_first_name for entry in queryset]


def defined_queue() -> list[tuple]:
    """The queue by its definition, read from the source tables (the query the table replaced): each patient's latest
    intake with no decision on it, with the patient's oldest open alert, in the queue's order."""
    newer = IntakeSubmission.objects.filter(
        kind="intake", patient=OuterRef("patient"), submitted_at__gt=OuterRef("submitted_at")
    )
    oldest_open_alert = (
        UrgentAlert.objects.filter(patient=OuterRef("patient"), acknowledged_at__isnull=True)
        .order_by("created_at")
        .values("created_at")[:1]
    )
    return list(
        IntakeSubmission.objects.filter(kind="intake")
        .filter(~Exists(newer), ~Exists(EligibilityDecision.objects.filter(submission=OuterRef("pk"))))
        .annotate(open_alert_at=Subquery(oldest_open_alert))
        .order_by(F("open_alert_at").asc(nulls_last=True), F("has_hard_stop").desc(), "submitted_at", "pk")
        .values_list(
            "pk", "patient_id", "patient__location_id", "open_alert_at", "has_hard_stop", "submitted_at"
        )
    )


def kept_counts() -> dict[int, int]:
    """The navigation's per-location queue sizes as the triggers keep them (location 0: none yet), zeros left out."""
    return {key: n for key, n in ReviewQueueCount.objects.values_list("location_key", "waiting") if n}


def counted_entries() -> dict[int, int]:
    """The same, counted from the entries."""
    return dict(
        Counter(where or 0 for where in ReviewQueueEntry.objects.values_list("location_id", flat=True))
    )


def kept_queue() -> list[tuple]:
    return list(
        ReviewQueueEntry.objects.order_by(
            F("open_alert_at").asc(nulls_last=True),
            F("has_hard_stop").desc(),
            "submitted_at",
            "submission_id",
        ).values_list(
            "submission_id", "patient_id", "location_id", "open_alert_at", "has_hard_stop", "submitted_at"
        )
    )


# --- Each transition ----------------------------------------------------------------------------------------------


def test_a_newer_intake_replaces_the_patients_older_one(clinician):
    patient = make_patient()
    first = make_intake(patient, at=NOW - timedelta(days=3))
    assert waiting(patient) == [first.pk]
    second = make_intake(patient, at=NOW - timedelta(days=1), findings=[HARD_STOP])
    assert waiting(patient) == [second.pk]
    entry = ReviewQueueEntry.objects.get(patient=patient)
    assert (entry.submitted_at, entry.has_hard_stop) == (second.submitted_at, True)
    # An intake recorded late with an earlier time does not push the newer one out, nor enter itself.
    make_intake(patient, at=NOW - timedelta(days=2))
    assert waiting(patient) == [second.pk]
    # A re-screen is not an intake: the queue is unchanged.
    rescreen(patient, now=NOW)
    assert waiting(patient) == [second.pk]


def test_a_decision_takes_the_intake_it_answers_out_of_the_queue(clinician, second_clinician):
    patient, other = make_patient(), make_patient()
    make_intake(patient, at=NOW - timedelta(days=2))
    still = make_intake(other, at=NOW - timedelta(days=2))
    record_decision(patient=patient, decided_by=clinician, outcome="eligible", modality="iv", now=NOW)
    assert waiting(patient) == [] and waiting(other) == [still.pk]
    # A later decision on the same intake changes nothing; a newer intake returns the patient to the queue.
    record_decision(
        patient=patient, decided_by=second_clinician, outcome="not_eligible", reason="Uncontrolled hypertension.",
        now=NOW + timedelta(minutes=5),
    )  # fmt: skip
    assert waiting(patient) == []
    newer = make_intake(patient, at=NOW + timedelta(hours=1))
    assert waiting(patient) == [newer.pk]
    assert queue_count(clinician) == 2


def test_more_information_then_the_resubmitted_intake_comes_back(clinician, location):
    patient = make_patient(first="Alex", last="Morgan", location=location)
    first = submit_full_intake(patient, now=NOW - timedelta(days=1))
    assert waiting(patient) == [first.pk]

    record_decision(
        patient=patient, decided_by=clinician, outcome="more_info_needed", now=NOW,
        message_to_patient="Please answer the mood questions again.", reopened_steps=["phq9"],
    )  # fmt: skip
    assert waiting(patient) == []
    assert not review_queue(clinician).filter(patient=patient).exists()

    draft = patient.intakes.get(status="in_progress")
    draft = save_intake_step(intake=draft, step_key="phq9", answers=phq9((1,) * 8 + (0,)), now=NOW)
    resubmitted = submit_intake(intake=draft, now=NOW + timedelta(hours=2), ip_address=None)
    assert waiting(patient) == [resubmitted.pk]
    [entry] = review_queue(clinician).filter(patient=patient)
    assert entry.submission == resubmitted and entry.location == location


def test_an_open_alert_puts_the_patient_first_until_it_is_acknowledged(clinician):
    early, late = make_patient(first="Early"), make_patient(first="Late")
    make_intake(early, at=NOW - timedelta(days=5))
    make_intake(late, at=NOW - timedelta(days=1))
    assert names(review_queue(clinician)) == ["Early", "Late"]

    rescreen(late, now=NOW - timedelta(hours=2), high=True)
    rescreen(late, now=NOW - timedelta(hours=1), items=(1,) * 9)  # item 9: a second alert
    first_alert, second_alert = UrgentAlert.objects.filter(patient=late).order_by("created_at")
    assert names(review_queue(clinician)) == ["Late", "Early"]
    assert ReviewQueueEntry.objects.get(patient=late).open_alert_at == first_alert.created_at

    # The oldest open alert sorts: acknowledging the older leaves the newer in force.
    acknowledge_alert(alert_id=first_alert.pk, acknowledged_by=clinician, note="Called; safe.", now=NOW)
    assert ReviewQueueEntry.objects.get(patient=late).open_alert_at == second_alert.created_at
    assert names(review_queue(clinician)) == ["Late", "Early"]
    acknowledge_alert(alert_id=second_alert.pk, acknowledged_by=clinician, note="Seen in clinic.", now=NOW)
    assert ReviewQueueEntry.objects.get(patient=late).open_alert_at is None
    assert names(review_queue(clinician)) == ["Early", "Late"]


def test_an_alert_raised_before_the_intake_is_on_the_entry_from_the_start(clinician):
    patient = make_patient(first="Rescreened")
    make_intake(make_patient(first="Waiting"), at=NOW - timedelta(days=9))
    rescreen(patient, now=NOW - timedelta(days=2), high=True)
    make_intake(patient, at=NOW - timedelta(days=1))
    alert = UrgentAlert.objects.get(patient=patient)
    assert ReviewQueueEntry.objects.get(patient=patient).open_alert_at == alert.created_at
    assert names(review_queue(clinician)) == ["Rescreened", "Waiting"]


def test_an_intake_that_raises_an_alert_enters_the_queue_with_it(clinician):

    from intake.models import ConsentRecord, Intake
    from tests.factories import GENERAL_CONSENT_VERSION, full_intake_answers

    waiting_longer = make_patient(first="Waiting")
    make_intake(waiting_longer, at=NOW - timedelta(days=9))
    patient = make_patient(first="Alex", last="Morgan")
    consent = ConsentRecord.objects.create(
        patient=patient, version=GENERAL_CONSENT_VERSION, text_sha256="0" * 64,
        typed_name="Alex Morgan", agreed_at=NOW - timedelta(minutes=5),
    )  # fmt: skip
    answers = full_intake_answers(consent_id=consent.pk, version=consent.version)
    answers["phq9"] = phq9((1, 1, 1, 1, 1, 1, 1, 1, 2))  # item 9: the intake raises an alert itself
    intake = Intake.objects.create(patient=patient, answers=answers, started_at=NOW - timedelta(hours=1))
    submission = submit_intake(intake=intake, now=NOW, ip_address=None)
    entry = ReviewQueueEntry.objects.get(patient=patient)
    assert (entry.submission_id, entry.open_alert_at) == (submission.pk, NOW)
    assert names(review_queue(clinician)) == ["Alex", "Waiting"]


def test_moving_a_patient_moves_their_entry_between_restricted_queues(
    clinician, on_call, location, other_location, settings
):
    settings.REVIEW_RESTRICT_TO_CLINICIAN_LOCATIONS = True
    here = make_patient(first="Here", location=location)
    moving = make_patient(first="Moving", location=other_location)
    unassigned = make_patient(first="Unassigned")
    for person in (here, moving, unassigned):
        make_intake(person, at=NOW - timedelta(days=1))
    assert set(names(review_queue(clinician))) == {"Here", "Unassigned"}
    assert queue_count(clinician) == 2

    moving.location = location
    moving.save(update_fields=["location"])
    assert set(names(review_queue(clinician))) == {"Here", "Moving", "Unassigned"}
    here.location = other_location
    here.save()
    unassigned.location = other_location
    unassigned.save(update_fields=["location"])
    assert names(review_queue(clinician)) == ["Moving"]
    assert queue_count(clinician) == 1
    assert kept_counts() == counted_entries() == {location.pk: 1, other_location.pk: 2}
    # Unrestricted, everyone is there.
    settings.REVIEW_RESTRICT_TO_CLINICIAN_LOCATIONS = False
    assert queue_count(clinician) == 3


def test_the_filters_match_a_real_intake(clinician):
    patient = make_patient(first="Alex", last="Morgan")
    submit_full_intake(patient, now=NOW - timedelta(hours=1), aneurysm="yes")  # depression, PTSD and OCD
    plain = make_patient(first="Plain")
    make_intake(plain, at=NOW - timedelta(days=1), findings=[REVIEW_FLAG], reasons=["anxiety"])

    def matching(**filters) -> list[str]:
        """The matches in order; the page's own read and its count agree with review_queue."""
        chosen = QueueFilters(**filters)
        found = names(review_queue(clinician, chosen))
        assert [row.first_name for row in queue_page(clinician, chosen, offset=0)] == found
        assert queue_size(clinician, chosen) == len(found)
        return found

    assert matching(reason="ocd") == ["Alex"]
    assert matching(reason="anxiety") == ["Plain"]
    assert matching(finding="aneurysm") == ["Alex"]
    assert matching(modality="spravato") == ["Alex"]  # an aneurysm concerns both treatments
    assert matching(modality="iv") == ["Alex", "Plain"]
    assert matching(finding="aneurysm", reason="anxiety") == []
    assert matching() == ["Alex", "Plain"]  # the hard stop first


def test_the_rebuild_recomputes_exactly_what_the_triggers_keep(clinician, location):
    for n in range(4):
        person = make_patient(first=f"P{n}", location=location if n % 2 else None)
        make_intake(person, at=NOW - timedelta(days=10 - n), findings=[HARD_STOP] if n == 1 else [])
        if n == 2:
            rescreen(person, now=NOW, high=True)
        if n == 3:
            record_decision(patient=person, decided_by=clinician, outcome="eligible", modality="iv", now=NOW)
    kept = kept_queue()
    assert kept == defined_queue() and len(kept) == 3

    assert kept_counts() == counted_entries() == {0: 2, location.pk: 1}

    # The kept tables out of step with the source tables, as after bench/seed.py's COPY with the triggers off (the
    # delete's own trigger zeroes the counts; the update then puts them wrong): out of date until rebuilt.
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM intake_reviewqueueentry")
        cursor.execute("UPDATE intake_reviewqueuecount SET waiting = 40")
    assert kept_queue() == [] and queue_count(clinician) == 80
    assert rebuild_review_queue() == 3
    assert kept_queue() == kept
    assert kept_counts() == counted_entries() == {0: 2, location.pk: 1} and queue_count(clinician) == 3


# --- Pages --------------------------------------------------------------------------------------------------------


def test_clinician_pages_read_the_queue_size_from_the_kept_counts_once(
    client, clinician, on_call, location, frozen_clock
):
    for n in range(3):
        make_intake(make_patient(first=f"Waiting{n}", location=location), at=NOW - timedelta(days=n + 1))
    client.force_login(clinician)

    def reads(url: str) -> tuple[str, list[str], list[str]]:
        """The page, its reads of the kept counts, and its counts of entries (one by one)."""
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        sqls = [q["sql"] for q in queries.captured_queries]
        return (
            response.content.decode(),
            # The counts' table, or a prepared statement that reads it (its EXECUTE names only the statement): the
            # counts' own, or the whole queue's first page, which carries them.
            [
                sql
                for sql in sqls
                if any(
                    name in sql
                    for name in (
                        "intake_reviewqueuecount",
                        "review_navigation_counts",
                        "review_first_queue_page",
                    )
                )
            ],
            # A count whose FROM is the entries (the first page's statement counts the open alerts, not entries).
            [
                sql
                for sql in sqls
                if re.search(r'COUNT\([^)]*\)[^()]*FROM "?intake_reviewqueueentry', sql, re.I)
            ],
        )

    # The queue page's size is the navigation's: one read of the counts, no counting of entries.
    html, counts, counted = reads(reverse("review:queue"))
    assert len(counts) == 1 and counted == []
    assert "3 intakes waiting." in html and '3<span class="visually-hidden"> waiting</span>' in html
    someone = ReviewQueueEntry.objects.first().patient_id
    for url in (reverse("review:alerts"), reverse("review:patient", args=[someone])):
        html, counts, counted = reads(url)
        assert len(counts) == 1 and counted == [], url
        assert '3<span class="visually-hidden"> waiting</span>' in html, url
    # A filtered queue counts its matches on the queue table (never the submissions); the badge is still the whole.
    html, counts, counted = reads(reverse("review:queue") + "?reason=depression")
    assert len(counts) == 1 and len(counted) == 1
    assert "that match" in html and '3<span class="visually-hidden"> waiting</span>' in html
    assert "reviewqueueentry" not in counts[0]
    assert "intake_intakesubmission" not in counted[0]


def test_the_queue_page_shows_what_it_did(client, clinician, on_call, location, frozen_clock):
    patient = make_patient(first="Alex", last="Morgan", location=location)
    submit_full_intake(patient, now=NOW - timedelta(days=2), aneurysm="yes")
    rescreen(patient, now=NOW - timedelta(hours=1), high=True)
    client.force_login(clinician)
    html = client.get(reverse("review:queue")).content.decode()
    assert f'href="{reverse("review:patient", args=[patient.pk])}">Alex Morgan</a>' in html
    assert "41 years · Harbor Review Clinic · submitted Mon, Mar 1, 2027, 10:00 AM EST, waiting 2" in html
    assert "Urgent alert open since Wed, Mar 3, 9:00 AM EST" in html
    assert "Hard stop: Aneurysmal vascular disease" in html
    assert "Depression, PTSD or trauma, Obsessive-compulsive disorder (OCD)" in html
    assert "PHQ-9</dt><dd" in html and "of 27, " in html
    # The filters keep what was chosen.
    filtered = client.get(reverse("review:queue"), {"reason": "ptsd", "finding": "aneurysm"}).content.decode()
    assert '<option value="ptsd" selected>' in filtered and '<option value="aneurysm" selected>' in filtered
    assert "1 intake waiting that matches these filters" in filtered


@pytest.mark.parametrize(
    "query",
    [
        {"page": "abc"},
        {"page": "-1"},
        {"page": "1e9"},
        {"reason": "ptsd'; --", "modality": "both"},
        {"finding": "x" * 5000},
        {"modality": ["iv", "spravato"]},
    ],
)
def test_bad_queue_input_is_a_page_not_an_error(client, clinician, on_call, query, frozen_clock):
    make_intake(make_patient(), at=NOW - timedelta(days=1))
    client.force_login(clinician)
    assert client.get(reverse("review:queue"), query).status_code == 200


# --- Every transition at random -----------------------------------------------------------------------------------


class QueueMachine(RuleBasedStateMachine):
    """Random intakes (in and out of time order, some at the same instant), decisions, re-screens with and without
    alerts, acknowledgements and moves between locations, for two patients. After every step the table must equal
    the queue's definition read from the source tables, in the same order, and a rebuild must change nothing."""

    clinician = None
    patients: list = []
    locations: list = []

    def __init__(self) -> None:
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.clock = NOW  # decisions and alerts move forward; intakes may land anywhere around it

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def _tick(self):
        self.clock += timedelta(minutes=7)
        return self.clock

    @rule(patient=st.integers(0, 1), minutes=st.sampled_from([-600, -60, 0, 0, 600]), hard=st.booleans())
    def intake(self, patient, minutes, hard):
        make_intake(
            self.patients[patient],
            at=self.clock + timedelta(minutes=minutes),
            findings=[HARD_STOP] if hard else [],
        )

    @rule(
        patient=st.integers(0, 1), outcome=st.sampled_from(["eligible", "not_eligible", "more_info_needed"])
    )
    def decide(self, patient, outcome):
        person = self.patients[patient]
        if not IntakeSubmission.objects.filter(
            patient=person, kind="intake", submitted_at__lte=self.clock
        ).exists():
            return
        record_decision(
            patient=person, decided_by=self.clinician, outcome=outcome, now=self._tick(),
            modality="both" if outcome == "eligible" else "none", reason="Reason.", message_to_patient="Please call.",
            override_justification="Reviewed with cardiology.",
        )  # fmt: skip

    @rule(patient=st.integers(0, 1), high=st.booleans())
    def rescreen(self, patient, high):
        rescreen(self.patients[patient], now=self._tick(), high=high)

    @rule(which=st.integers(0, 5))
    def acknowledge(self, which):
        open_ids = list(
            UrgentAlert.objects.filter(acknowledged_at__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if open_ids:
            acknowledge_alert(
                alert_id=open_ids[which % len(open_ids)],
                acknowledged_by=self.clinician,
                note="Done.",
                now=self._tick(),
            )

    @rule(patient=st.integers(0, 1), where=st.integers(0, 2))
    def move(self, patient, where):
        person = self.patients[patient]
        person.location = self.locations[where]
        person.save(update_fields=["location"])

    @invariant()
    def the_table_is_the_queue(self):
        assert kept_queue() == defined_queue()
        page = queue_page(self.clinician, QueueFilters(), offset=0)
        assert [row.submission_id for row in page] == [entry[0] for entry in kept_queue()]
        # The first page's own statement shows the same rows, and the same current risks as the one source.
        first = first_queue_page(self.clinician)
        assert first is not None
        assert (first.rows, first.risks) == (page, latest_risks(row.patient_id for row in page))
        assert first.navigation_counts == navigation_counts(self.clinician)
        assert kept_counts() == counted_entries()


def test_the_queue_table_follows_every_transition(db, clinician, location, other_location):
    QueueMachine.clinician = clinician
    QueueMachine.patients = [make_patient(first=f"Random{n}") for n in range(2)]
    QueueMachine.locations = [None, location, other_location]
    run_state_machine_as_test(
        QueueMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
    assert rebuild_review_queue() == 0  # the machine's writes were all rolled back


def names_in(html: str, count: int) -> list[str]:
    return [f"Waiting{n:02d}" for n in range(count) if f">Waiting{n:02d} " in html]


def test_a_later_page_continues_the_queue_in_order(client, clinician, on_call, frozen_clock):
    for n in range(30):  # Waiting00 has waited longest
        make_intake(make_patient(first=f"Waiting{n:02d}"), at=NOW - timedelta(days=40 - n))
    client.force_login(clinician)
    html = client.get(reverse("review:queue"), {"page": "2"}).content.decode()
    shown = [name for _, name in sorted((html.index(f">{name} "), name) for name in names_in(html, 30))]
    assert shown == [f"Waiting{n:02d}" for n in range(25, 30)]
    assert "Page 2 of 2" in html and 'start="26"' in html


def test_an_acknowledgement_racing_a_new_alert_leaves_the_new_alert_in_force(transactional_db, clinician):
    """Two transactions change one patient's alerts at once: a clinician acknowledges the open alert while a re-screen
    raises another. The triggers serialise on the patient's row, so the entry ends with the new alert's time; read
    with the acknowledgement uncommitted, it would keep the acknowledged alert's."""
    import threading
    import time

    patient = make_patient(first="Racing")
    make_intake(patient, at=NOW - timedelta(days=1))
    rescreen(patient, now=NOW - timedelta(hours=1), high=True)
    first = UrgentAlert.objects.get(patient=patient)
    acknowledged, failures = threading.Event(), []

    def acknowledge():
        try:
            with transaction.atomic():
                acknowledge_alert(alert_id=first.pk, acknowledged_by=clinician, note="Called; safe.", now=NOW)
                acknowledged.set()
                time.sleep(0.5)  # the re-screen runs while this is uncommitted
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            acknowledged.set()
            connection.close()

    def screen():
        try:
            acknowledged.wait(10)
            rescreen(patient, now=NOW + timedelta(minutes=1), high=True)
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=acknowledge), threading.Thread(target=screen)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == []
    second = UrgentAlert.objects.get(acknowledged_at__isnull=True)
    assert ReviewQueueEntry.objects.get(patient=patient).open_alert_at == second.created_at
    assert kept_queue() == defined_queue()


def test_a_rebuild_while_the_clinic_works_loses_no_change(transactional_db, clinician):
    """A newer intake submitted while a rebuild is uncommitted waits for it, then replaces the rebuilt entry."""
    import threading
    import time

    patient = make_patient(first="Busy")
    make_intake(patient, at=NOW - timedelta(days=2))
    rebuilt, failures, newer = threading.Event(), [], []

    def rebuild():
        try:
            with transaction.atomic():
                rebuild_review_queue()
                rebuilt.set()
                time.sleep(0.5)  # the intake below is submitted while this is uncommitted
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            rebuilt.set()
            connection.close()

    def submit():
        try:
            rebuilt.wait(10)
            newer.append(make_intake(patient, at=NOW - timedelta(days=1)))
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=rebuild), threading.Thread(target=submit)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == []
    assert waiting(patient) == [newer[0].pk]
    assert kept_queue() == defined_queue()
    assert kept_counts() == counted_entries() == {0: 1}


def test_intakes_submitted_at_once_at_one_location_are_all_counted(transactional_db, clinician, location):
    """Eight intakes commit at the same moment at one location (its count row created by the first): the kept count
    is eight, as the entries are, and the navigation shows it."""
    import threading

    patients = [make_patient(first=f"Rush{n}", location=location) for n in range(8)]
    start, failures = threading.Barrier(len(patients)), []

    def submit(patient):
        try:
            with transaction.atomic():
                start.wait(10)
                make_intake(patient, at=NOW - timedelta(hours=1))
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(patient,)) for patient in patients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == []
    assert kept_counts() == counted_entries() == {location.pk: 8}
    assert queue_count(clinician) == 8
