import json

from django.urls import reverse

from tests.factories import fill_intake


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
    assert pdf.content.startswith(b"%PDF") and len(pdf.content) > 2000


def test_the_export_page_links_both_formats(patient_client):
    page = patient_client.get(reverse("intake:my_data"))
    assert b"my-data.pdf" in page.content and b"my-data.json" in page.content


def test_staff_and_unknown_formats_get_404(client, patient_client, front_desk):
    assert patient_client.get("/patient/my-data.xml").status_code == 404
    client.force_login(front_desk)
    assert client.get(reverse("intake:my_data_download", args=["json"])).status_code == 404
