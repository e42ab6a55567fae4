"""Every change to patient data is in the audit trail, whichever way it was made, and the trail cannot be edited."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from clinic.audit import AUDITED_TABLES, NOT_AUDITED, acting_as
from clinic.models import AuditEvent, RecordView
from intake.models import Patient
from tests.support import connected_as_owner


def _events(patient: Patient, **filters):
    return list(AuditEvent.objects.filter(patient_id=patient.pk, **filters).order_by("id"))


def test_an_orm_change_is_recorded_with_only_the_changed_columns(patient):
    record = patient.patient
    record.city = "Boston"
    record.save(update_fields=["city"])
    (insert, update) = _events(record)
    assert insert.action == "INSERT" and insert.new_data["legal_last_name"] == "One"
    assert update.action == "UPDATE"
    assert update.old_data == {"city": ""} and update.new_data == {"city": "Boston"}
    assert update.table_name == "intake_patient" and update.row_pk == str(record.pk)


def test_a_queryset_update_and_raw_sql_are_recorded_too(patient):
    record = patient.patient
    Patient.objects.filter(pk=record.pk).update(phone="+16175550100")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE intake_patient SET state = 'MA' WHERE id = %s", [record.pk])
    changes = [event.new_data for event in _events(record, action="UPDATE")]
    assert changes == [{"phone": "+16175550100"}, {"state": "MA"}]


def test_an_update_that_changes_nothing_leaves_no_event(patient):
    record = patient.patient
    Patient.objects.filter(pk=record.pk).update(city=record.city)
    assert _events(record, action="UPDATE") == []


def test_a_deleted_row_keeps_its_last_content(db):
    record = Patient.objects.create(legal_first_name="Del", legal_last_name="Eted", email="del@example.org")
    pk = record.pk
    record.delete()
    (event,) = AuditEvent.objects.filter(table_name="intake_patient", row_pk=str(pk), action="DELETE")
    assert event.old_data["legal_last_name"] == "Eted" and event.patient_id == pk


@pytest.mark.parametrize("table", ["clinic_auditevent", "clinic_recordview"])
def test_not_even_the_owner_can_change_or_delete_the_trail(transactional_db, patient, clinician, table):
    """The app's role may not UPDATE or DELETE these rows at all (tests/clinic/test_db_roles.py); the trigger refuses
    it to the tables' owner too, unless the owner first disables it."""
    RecordView.objects.create(
        user=clinician, patient_id=patient.patient.pk, what="review page", path="/review/"
    )
    with connected_as_owner():
        for statement in (f"DELETE FROM {table}", f"UPDATE {table} SET occurred_at = now()"):
            with (
                pytest.raises(IntegrityError, match="append-only"),
                transaction.atomic(),
                connection.cursor() as cursor,
            ):
                cursor.execute(statement)
        assert AuditEvent.objects.exists() and RecordView.objects.exists()
        with pytest.raises(IntegrityError), transaction.atomic():
            AuditEvent.objects.all().delete()


def test_a_web_request_attributes_its_writes_to_the_signed_in_user(
    client, front_desk, django_capture_on_commit_callbacks
):
    client.force_login(front_desk)
    response = client.post(
        reverse("scheduling:invite_patient"),
        {"legal_first_name": "Ava", "legal_last_name": "Audit", "email": "ava@example.org"},
        REMOTE_ADDR="10.1.2.3",
    )
    assert response.status_code == 302
    created = Patient.objects.get(email="ava@example.org")
    (event,) = _events(created, table_name="intake_patient")
    assert event.actor_id == front_desk.pk
    assert event.actor_ip == "10.1.2.3"
    assert event.context == "web POST scheduling:invite_patient"
    assert "Audit" not in event.context


def test_the_actor_does_not_leak_to_the_next_request_on_the_same_connection(patient):
    with acting_as(actor_id=patient.pk, actor_ip="10.0.0.9", context="web POST test"):
        Patient.objects.filter(pk=patient.patient.pk).update(city="Salem")
    Patient.objects.filter(pk=patient.patient.pk).update(city="Lynn")
    first, second = _events(patient.patient, action="UPDATE")
    assert first.actor_id == patient.pk and first.context == "web POST test"
    assert second.actor_id is None and second.context.startswith("database: ")


def test_every_audited_table_that_exists_has_its_trigger(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT event_object_table FROM information_schema.triggers WHERE trigger_name LIKE %s",
            ["%_audit"],
        )
        triggered = {row[0] for row in cursor.fetchall()}
        existing = set(connection.introspection.table_names(cursor))
    assert {table for table in AUDITED_TABLES if table in existing} <= triggered
    patient_tables = {
        t for t in existing if t.split("_")[0] in ("intake", "scheduling") and "patient_id" in _columns(t)
    }
    missing = patient_tables - set(AUDITED_TABLES) - set(NOT_AUDITED)
    assert not missing, f"tables with patient data missing from AUDITED_TABLES: {missing}"


def _columns(table: str) -> set[str]:
    with connection.cursor() as cursor:
        return {column.name for column in connection.introspection.get_table_description(cursor, table)}


def test_a_clinic_admin_filters_and_exports_one_patients_trail(client, clinic_admin, patient, second_patient):
    Patient.objects.filter(pk=patient.patient.pk).update(city="Quincy")
    client.force_login(clinic_admin)
    listing = client.get("/admin/clinic/auditevent/", {"q": str(patient.patient.pk)})
    assert listing.status_code == 200
    events = AuditEvent.objects.filter(patient_id=patient.patient.pk)
    response = client.post(
        "/admin/clinic/auditevent/",
        {"action": "export_csv", "_selected_action": [str(e.pk) for e in events]},
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().strip().splitlines()
    assert len(lines) == 1 + events.count()
    assert "Quincy" in response.content.decode()
    assert str(second_patient.patient.pk) not in {line.split(",")[4] for line in lines[1:]}


def test_the_admin_offers_no_way_to_change_the_trail(client, clinic_admin, patient):
    client.force_login(clinic_admin)
    event = AuditEvent.objects.filter(patient_id=patient.patient.pk).first()
    assert client.get(f"/admin/clinic/auditevent/{event.pk}/delete/").status_code == 403
    assert client.post(f"/admin/clinic/auditevent/{event.pk}/change/", {"context": "x"}).status_code == 403
    assert client.get("/admin/clinic/auditevent/add/").status_code == 403
