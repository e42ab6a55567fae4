import json
import re

from django.urls import reverse

from tests.factories import fill_intake
from tests.support import pdf_text


def test_a_patient_downloads_everything_held_about_them_as_json_and_pdf(
    patient_client, intake, second_patient
):
    fill_intake(patient_client, intake)
    patient_client.post(reverse("intake:review", args=[intake.pk]))

    response = patient_client.get(reverse("intake:my_data_download", args=["json"]))
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    assert "attachment" in response["Content-Disposition"] and "no-store" in response["Cache-Control"]
    data = json.loads(response.content)
    sections = data["sections"]
    assert sections["Your details"]["legal_last_name"] == "One"
    (submission,) = sections["Intake and screenings"]["submissions"]
    assert submission["scores"]["phq9"]["total"] == 11
    assert submission["answers"]["treatment"]["trials"][0]["drug"] == "sertraline"
    assert sections["Consents you signed"][0]["signed_as"] == "Pat One"
    assert "Two" not in response.content.decode()  # nothing of the other patient
    assert "password" not in response.content.decode()

    pdf = patient_client.get(reverse("intake:my_data_download", args=["pdf"]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_the_pdf_reads_as_a_document_not_a_dump(patient_client, intake):
    """Labels from the forms, instruments by name with each question and the chosen option, local times."""
    fill_intake(patient_client, intake)
    patient_client.post(reverse("intake:review", args=[intake.pk]))
    text = pdf_text(patient_client.get(reverse("intake:my_data_download", args=["pdf"])).content)

    assert "Legal last name: One" in text and "State: Massachusetts" in text
    assert "Patient Health Questionnaire-9 (PHQ-9): 11" in text  # the total, with its band
    assert "Little interest or pleasure in doing things" in text
    assert re.search(
        r"Little interest or pleasure in doing things: \d — (Not at all|Several days|More than half)", text
    )
    assert "Antidepressant trials" in text and "sertraline" in text
    # Nothing raw: no field codes, no ISO timestamps, no microseconds.
    assert "Phq9" not in text and "Item1" not in text and "legal_last_name" not in text
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", text)
    assert re.search(r"(EST|EDT)", text)
    # Sections in the order a reader expects, and times as a US reader writes them, in the clinic's zone.
    headings = ["Your details", "Intake and screenings", "Scores", "Contact details", "Medical history",
                "Medicines and allergies", "Mood (PHQ-9)"]  # fmt: skip
    assert [text.index(heading) for heading in headings] == sorted(text.index(h) for h in headings)
    assert re.search(r"Intake sent \w{3}, \w{3} \d{1,2}, \d{4}, \d{1,2}:\d{2} (AM|PM) (EST|EDT)", text)
    assert "Date of birth: Fri, Apr 12, 1985" in text
    # Phone numbers as they are read, in the record's details and in the answers alike.
    assert "Mobile phone: (617) 555-0123" in text and "Emergency contact: phone: (617) 555-0199" in text
    assert "+1617" not in text
    assert "Rems" not in text and "Sms" not in text


def test_the_export_page_links_both_formats(patient_client):
    page = patient_client.get(reverse("intake:my_data"))
    assert b"my-data.pdf" in page.content and b"my-data.json" in page.content


def test_staff_and_unknown_formats_get_404(client, patient_client, front_desk):
    assert patient_client.get("/patient/my-data.xml").status_code == 404
    client.force_login(front_desk)
    assert client.get(reverse("intake:my_data_download", args=["json"])).status_code == 404


# --- What staff write about the patient ----------------------------------------------------------------------------

REASON = "Blood pressure stayed above 160/100 at screening; treat it first, then we can look again."
NOTES = {
    "alert": "Called Pat at 10:05; safety plan reviewed together.",
    "override": "Anxious on arrival; repeat reading 176/98 after rest.",
    "rating": "Rated in person, patient engaged throughout.",
    "care_team": "Prefers the chair by the window.",
    "waitlist": "Can come at short notice on Mondays.",
}


def _staff_notes_about(record, appointment_id: int, clinician, front_desk) -> None:
    """A not-eligible decision with its reason, an acknowledged alert, a rating, a session record with a blood
    pressure override and vitals, a note for the care team and a waiting-list note, through the services where
    there is one."""
    from datetime import timedelta

    from intake.models import UrgentAlert
    from review.alerts import acknowledge_alert
    from review.decisions import record_clinician_rating, record_decision
    from scheduling.models import Appointment, SessionRecord, VitalSigns
    from scheduling.services import add_to_waitlist
    from tests.factories import NOW

    later = NOW + timedelta(days=4)
    record_decision(patient=record, decided_by=clinician, outcome="not_eligible", reason=REASON, now=later)
    alert = UrgentAlert.objects.get(patient=record)
    acknowledge_alert(alert_id=alert.pk, acknowledged_by=clinician, note=NOTES["alert"], now=later)
    record_clinician_rating(
        patient=record, rater=clinician, scale="madrs", total=24, rated_on=later.date(), now=later,
        note=NOTES["rating"],
    )  # fmt: skip
    appointment = Appointment.objects.get(pk=appointment_id)
    Appointment.objects.filter(pk=appointment_id).update(notes=NOTES["care_team"])
    SessionRecord.objects.create(
        appointment=appointment, bp_override_reason=NOTES["override"], bp_override_at=later,
        bp_override_by=clinician, drug="Ketamine", lot_number="K-2231",
    )  # fmt: skip
    VitalSigns.objects.create(
        appointment=appointment, phase="pre_dose", systolic=176, diastolic=98, heart_rate=80, spo2=98,
        recorded_at=later, recorded_by=clinician,
    )  # fmt: skip
    add_to_waitlist(
        patient=record, location=appointment.location, treatment_type=appointment.treatment_type,
        earliest_date=later.date(), latest_date=later.date() + timedelta(days=14), added_by=front_desk,
        notes=NOTES["waitlist"],
    )  # fmt: skip


def test_the_download_holds_what_staff_wrote_and_the_portal_does_not_show_it(
    client, patient, clinician, front_desk, patient_records
):
    """HIPAA's right of access covers a clinician's reasons and notes (they are not psychotherapy notes): the
    download has them, though the portal shows the patient only the messages written to them."""
    _staff_notes_about(patient.patient, patient_records.appointment_id, clinician, front_desk)
    client.force_login(patient)

    data = json.loads(client.get(reverse("intake:my_data_download", args=["json"])).content)
    sections = data["sections"]
    not_eligible = [d for d in sections["Treatment decisions"] if d["outcome"] == "Not eligible"]
    assert [d["reason"] for d in not_eligible] == [REASON]
    assert not_eligible[0]["signed_by"] == "Casey Doc"
    (alert,) = sections["Safety alerts"]
    assert alert["what_was_done"] == NOTES["alert"] and alert["acknowledged_by"] == "Casey Doc"
    (rating,) = sections["Scores your clinician rated"]
    assert (rating["scale"], rating["total"], rating["note"]) == ("MADRS", 24, NOTES["rating"])
    (appointment,) = sections["Appointments"]
    assert appointment["note_for_the_care_team"] == NOTES["care_team"]
    session = appointment["session_record"]
    assert session["why_it_was_safe_to_proceed"] == NOTES["override"] and session["lot_number"] == "K-2231"
    assert session["vital_signs"][0]["blood_pressure"] == "176/98"
    (entry,) = sections["REMS enrollment and waiting list"]["waiting_list"]
    assert entry["notes"] == NOTES["waitlist"]
    text = json.dumps(data)
    assert "doc@example.org" not in text  # staff are named, their addresses are not

    pdf = client.get(reverse("intake:my_data_download", args=["pdf"]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    portal = client.get(reverse("portal:home")).content.decode()
    assert REASON not in portal
    assert not [note for note in NOTES.values() if note in portal]
    assert "decisions, notes and ratings" in client.get(reverse("intake:my_data")).content.decode()


def _staff_note_fields():
    from review.forms import AcknowledgeForm, DecisionForm, RatingForm
    from scheduling.forms import CancelForm, SlotChoiceForm, WaitlistForm
    from scheduling.forms.session_day import OverrideForm

    return [
        (DecisionForm, "reason"), (DecisionForm, "override_justification"), (AcknowledgeForm, "note"),
        (RatingForm, "note"), (SlotChoiceForm, "notes"), (CancelForm, "details"), (OverrideForm, "reason"),
        (WaitlistForm, "notes"),
    ]  # fmt: skip


def test_every_staff_note_the_download_holds_says_so_where_it_is_written():
    for form, name in _staff_note_fields():
        help_text = str(form.base_fields[name].help_text)
        assert "download their data" in help_text, (form.__name__, name)
        assert "not shown to" not in help_text and "this page only" not in help_text, (form.__name__, name)
    from review.forms import DecisionForm

    assert "download of their data" in DecisionForm.base_fields["message_to_patient"].help_text
