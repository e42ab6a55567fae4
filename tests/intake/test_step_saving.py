"""Saving a step: one statement that merges the step into the stored answers, only while the intake is open."""

from __future__ import annotations

import pytest
from django.utils import timezone

from intake import services
from intake.models import Intake
from tests.factories import gad7_data, phq9_data, post_step

pytestmark = pytest.mark.django_db


def test_two_tabs_saving_different_steps_keep_both(intake):
    first_tab = Intake.objects.get(pk=intake.pk)
    second_tab = Intake.objects.get(pk=intake.pk)  # loaded before the first tab saves: stale afterwards
    services.save_intake_step(intake=first_tab, step_key="phq9", answers={"item1": 1}, now=timezone.now())
    saved = services.save_intake_step(
        intake=second_tab, step_key="gad7", answers={"item1": 2}, now=timezone.now()
    )
    stored = Intake.objects.get(pk=intake.pk).answers
    assert stored["phq9"] == {"item1": 1} and stored["gad7"] == {"item1": 2}
    assert saved.answers == stored  # the caller sees the row as written, the other tab's step included


def test_saving_again_replaces_only_that_step(intake):
    now = timezone.now()
    services.save_intake_step(intake=intake, step_key="phq9", answers={"item1": 1}, now=now)
    services.save_intake_step(intake=intake, step_key="gad7", answers={"item1": 2}, now=now)
    services.save_intake_step(intake=intake, step_key="phq9", answers={"item1": 3}, now=now)
    stored = Intake.objects.get(pk=intake.pk)
    assert stored.answers["phq9"] == {"item1": 3} and stored.answers["gad7"] == {"item1": 2}
    assert stored.updated_at == now


def test_a_submitted_intake_is_not_changed_by_a_late_save(intake):
    before = dict(Intake.objects.get(pk=intake.pk).answers)
    Intake.objects.filter(pk=intake.pk).update(status=Intake.Status.SUBMITTED, submitted_at=timezone.now())
    with pytest.raises(services.IntakeError):
        services.save_intake_step(intake=intake, step_key="phq9", answers={"item1": 3}, now=timezone.now())
    assert Intake.objects.get(pk=intake.pk).answers == before


def test_an_unknown_step_is_refused(intake):
    with pytest.raises(services.IntakeError):
        services.save_intake_step(intake=intake, step_key="nope", answers={}, now=timezone.now())
    assert "nope" not in Intake.objects.get(pk=intake.pk).answers


def test_a_step_submit_costs_three_queries(patient_client, intake, django_assert_max_num_queries):
    """The signed-in user with their role, the intake behind its access gate, and the write: nothing else."""
    post_step(patient_client, intake, "phq9", phq9_data())  # the session is cached from here on
    with django_assert_max_num_queries(3):
        response = post_step(patient_client, intake, "gad7", gad7_data())
    assert response.status_code == 302
    assert Intake.objects.get(pk=intake.pk).answers["gad7"]["item1"] is not None


def test_the_step_write_is_attributed_to_the_patient(patient_client, patient, intake):
    from clinic.models import AuditEvent

    post_step(patient_client, intake, "phq9", phq9_data())
    event = AuditEvent.objects.filter(table_name="intake_intake", action="UPDATE").latest("pk")
    assert event.actor_id == patient.pk
    assert event.context == "web POST intake:step"
    assert "phq9" in event.new_data["answers"]


def test_the_intake_gate_reads_every_field_as_the_orm_does(
    patient, intake, second_patient, django_assert_num_queries
):
    """The gate is written as SQL for speed; it must still give the same intake and patient as the ORM, every
    field (its columns follow the models), with the patient read in the same query, and refuse anyone else's."""
    from django.http import Http404

    from intake.models import Patient
    from intake.selectors import intake_for_user

    services.save_intake_step(intake=intake, step_key="phq9", answers={"item1": 1}, now=timezone.now())
    Patient.objects.filter(pk=intake.patient_id).update(date_of_birth="1980-02-29", phone="+16175550100")
    with django_assert_num_queries(1):
        gated = intake_for_user(patient, intake.pk)
        person = gated.patient
    expected = Intake.objects.select_related("patient").get(pk=intake.pk)
    for field in Intake._meta.concrete_fields:
        assert getattr(gated, field.attname) == getattr(expected, field.attname), field.name
    for field in Patient._meta.concrete_fields:
        assert getattr(person, field.attname) == getattr(expected.patient, field.attname), field.name
    assert gated.answers["phq9"] == {"item1": 1} and not gated._state.adding
    with pytest.raises(Http404):
        intake_for_user(second_patient, intake.pk)
