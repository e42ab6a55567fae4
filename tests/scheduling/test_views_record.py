"""Front desk's pages log who looked at which patient, and the day view shows the day's cancellations."""

from datetime import timedelta

from django.urls import reverse

from clinic.models import RecordView
from scheduling import services
from tests.factories import A_WEDNESDAY, NOW, local, make_patient


def test_opening_a_patient_or_an_appointment_is_logged(client, front_desk, clinic, book):
    patient = make_patient()
    appointment = book(patient, local(A_WEDNESDAY, 9))
    client.force_login(front_desk)
    client.get(reverse("scheduling:patient_detail", args=[patient.pk]), REMOTE_ADDR="10.2.3.4")
    client.get(reverse("scheduling:appointment_detail", args=[appointment.pk]))
    views = list(RecordView.objects.filter(patient_id=patient.pk).order_by("id"))
    assert [(v.user, v.what) for v in views] == [
        (front_desk, "front-desk patient page"),
        (front_desk, "appointment"),
    ]
    assert views[0].ip_address == "10.2.3.4"


def test_the_day_view_lists_the_days_cancellations_with_late_ones_marked(client, front_desk, clinic, book):
    early, late = make_patient(first="Early"), make_patient(first="Latecomer")
    first = book(early, local(A_WEDNESDAY, 9), chair=0)
    second = book(late, local(A_WEDNESDAY, 9), chair=1, clinician=1)
    services.cancel_appointment(appointment=first, reason="Unwell", cancelled_by=front_desk, now=NOW)
    services.cancel_appointment(
        appointment=second, reason="No driver", cancelled_by=front_desk, now=local(A_WEDNESDAY, 7)
    )
    client.force_login(front_desk)
    page = client.get(
        reverse("scheduling:day"), {"location": clinic.location.pk, "date": A_WEDNESDAY.isoformat()}
    )
    html = page.content.decode()
    assert "Cancelled and no-shows on this day" in html
    assert "Early" in html and "Latecomer" in html
    assert html.count("late cancellation") == 1 and "No driver" in html


def test_the_session_summary_carries_the_rems_forms_concomitant_medicines(client, clinician, clinic, book):
    from intake.models import IntakeSubmission

    patient = make_patient()
    appointment = book(
        patient, local(A_WEDNESDAY, 9)
    )  # booked on the reviewed intake; a newer one lists medicines
    earlier = IntakeSubmission.objects.filter(patient=patient).latest("submitted_at")
    answers = {
        "medications": {
            "items": [{"name": "Xanax", "medication_class": ""}, {"name": "oxycodone"}, {"name": "aspirin"}]
        }
    }
    IntakeSubmission.objects.create(
        kind="intake",
        patient=patient,
        submitted_at=earlier.submitted_at + timedelta(minutes=1),
        answers=answers,
        findings=[],
    )
    client.force_login(clinician)
    html = client.get(reverse("scheduling:session_summary", args=[appointment.pk])).content.decode()
    assert "Benzodiazepines: Xanax" in html and "Opioids: oxycodone" in html
    assert "Psychostimulants: none listed" in html and "aspirin" not in html
