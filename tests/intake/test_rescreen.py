from django.urls import reverse

from intake.models import IntakeSubmission, UrgentAlert
from tests.factories import phq9_data


def _post(client, phq9, cssrs):
    data = {f"phq9-{k}": v for k, v in phq9.items()}
    data.update({f"cssrs_since_last_visit-{k}": v for k, v in cssrs.items()})
    return client.post(reverse("intake:rescreen"), data)


def test_a_calm_rescreen_is_recorded_without_an_alert(patient_client, patient_record):
    response = _post(patient_client, phq9_data(), {"q1": "no", "q2": "no", "q6": "no"})
    assert response.status_code == 302
    submission = IntakeSubmission.objects.get(patient=patient_record)
    assert submission.kind == "rescreen" and submission.scores["phq9"]["total"] == 8
    assert submission.scores["cssrs_since_last_visit"]["risk"] == "none"
    assert not UrgentAlert.objects.exists()


def test_a_high_risk_rescreen_shows_crisis_resources_and_raises_one_alert(patient_client, patient_record):
    response = _post(
        patient_client,
        phq9_data(),
        {"q1": "yes", "q2": "yes", "q3": "yes", "q4": "no", "q5": "yes", "q6": "no"},
    )
    page = patient_client.get(response["Location"]).content.decode()
    assert page.count("data-crisis-block") == 1
    assert 'href="tel:988"' in page and 'href="sms:988"' in page and 'href="tel:911"' in page
    assert UrgentAlert.objects.filter(patient=patient_record).count() == 1


def test_rescreen_reveals_follow_up_questions_before_saving(patient_client, patient_record):
    response = _post(patient_client, phq9_data(), {"q1": "yes", "q2": "yes", "q6": "no"})
    assert response.status_code == 200
    assert b"questions 3 to 5" in response.content
    assert b'name="cssrs_since_last_visit-q3"' in response.content
    assert not IntakeSubmission.objects.exists()


def test_an_incomplete_rescreen_writes_nothing(patient_client, patient_record):
    phq9 = phq9_data()
    del phq9["item2"]
    response = _post(patient_client, phq9, {"q1": "no", "q2": "no", "q6": "no"})
    assert response.status_code == 400
    assert not IntakeSubmission.objects.exists()
