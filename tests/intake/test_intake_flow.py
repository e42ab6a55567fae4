"""The online intake as a patient uses it: every step, save and resume, review, submit, and bad input."""

import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clinic import policies
from intake.models import ConsentRecord, InstrumentResponse, Intake, IntakeSubmission, Patient, UrgentAlert
from tests.factories import (
    all_steps,
    contact_data,
    cssrs_data,
    fill_intake,
    medical_data,
    phq9_data,
    post_step,
    ratings,
)
from tests.support import PASSWORD


def test_a_complete_intake_is_scored_and_frozen_into_a_submission(patient_client, intake, patient_record):
    fill_intake(patient_client, intake)
    review = patient_client.get(reverse("intake:review", args=[intake.pk]))
    assert review.status_code == 200
    assert b"sertraline" in review.content and b"Pat One" in review.content

    response = patient_client.post(reverse("intake:review", args=[intake.pk]))
    submission = IntakeSubmission.objects.get(patient=patient_record)
    assert response.status_code == 302
    assert response["Location"] == reverse("intake:submitted", args=[submission.pk])

    assert submission.kind == "intake"
    # PHQ-9: items 1-8 at 1 with item 1 = 2 and item 2 = 3 gives 2 + 3 + 6 = 11, moderate.
    assert submission.scores["phq9"]["total"] == 11 and submission.scores["phq9"]["band"] == "moderate"
    assert submission.scores["gad7"]["total"] == 7 and submission.scores["gad7"]["band"] == "mild"
    assert submission.scores["cssrs"]["risk"] == "none"
    assert set(submission.scores) == {"phq9", "gad7", "cssrs"}
    assert InstrumentResponse.objects.filter(submission=submission).count() == 3
    # Two adequate trials with under 25 % improvement: treatment-resistant (EU-PEARL).
    assert submission.trd["is_trd"] is True
    # 5 ft 9 in and 170 lb: 175.3 cm and 77.1 kg, BMI 25.1.
    assert submission.bmi == Decimal("25.1")
    # Clonazepam 1 mg twice a day is 40 mg diazepam-equivalent: above the blunting threshold.
    codes = {finding["code"] for finding in submission.findings}
    assert {"benzodiazepine", "benzodiazepine_high_dose"} <= codes
    assert not submission.has_hard_stop
    assert not submission.is_urgent and not UrgentAlert.objects.exists()
    assert submission.consent == ConsentRecord.objects.get(patient=patient_record)

    intake.refresh_from_db()
    assert intake.status == Intake.Status.SUBMITTED
    patient_record.refresh_from_db()
    assert patient_record.phone == "+16175550123"
    assert patient_record.reminder_channel == "both" and patient_record.sms_consent_at is not None

    page = patient_client.get(response["Location"])
    assert (
        b"What happens next" in page.content
        and b"988" not in page.content.split(b"<main")[1].split(b"<footer")[0]
    )


def test_a_submitted_intake_can_no_longer_change(patient_client, intake):
    fill_intake(patient_client, intake)
    patient_client.post(reverse("intake:review", args=[intake.pk]))
    before = Intake.objects.get(pk=intake.pk).answers
    response = post_step(patient_client, intake, "contact", contact_data(city="Boston"))
    assert response.status_code == 302
    assert Intake.objects.get(pk=intake.pk).answers == before
    assert IntakeSubmission.objects.count() == 1
    assert patient_client.post(reverse("intake:review", args=[intake.pk])).status_code == 302
    assert IntakeSubmission.objects.count() == 1


@pytest.mark.parametrize(
    ("reasons", "expected"),
    [(["depression"], set()), (["ptsd"], {"pcl5"}), (["ocd", "ptsd"], {"pcl5", "ocir"}), (["ocd"], {"ocir"})],
)
def test_pcl5_and_ocir_are_asked_only_for_their_reasons_for_care(patient_client, intake, reasons, expected):
    overrides = {"reasons": {"reasons": reasons, "other_reason": ""}}
    for key, data in all_steps(**overrides):
        post_step(patient_client, intake, key, data)
        if key == "gad7":
            for code in sorted(expected):
                count = 20 if code == "pcl5" else 18
                assert post_step(patient_client, intake, code, ratings(count, 2)).status_code == 302
    patient_client.post(reverse("intake:review", args=[intake.pk]))
    submission = IntakeSubmission.objects.get()
    assert set(submission.scores) == {"phq9", "gad7", "cssrs"} | expected
    if "pcl5" in expected:
        assert submission.scores["pcl5"]["total"] == 40 and submission.scores["pcl5"]["probable_ptsd"] is True
    if "ocir" in expected:
        assert submission.scores["ocir"]["total"] == 36 and submission.scores["ocir"]["band"] == "severe"


def test_answers_are_kept_and_resumed_on_another_device(client, patient, intake):
    client.force_login(patient)
    for key, data in all_steps()[:3]:
        assert post_step(client, intake, key, data).status_code == 302

    other_device = Client()
    assert other_device.login(username=patient.email, password=PASSWORD)
    resume = other_device.get(reverse("intake:start"))
    assert resume["Location"] == reverse("intake:step", args=[intake.pk, "medications"])
    contact = other_device.get(reverse("intake:step", args=[intake.pk, "contact"]))
    assert b'value="Cambridge"' in contact.content
    assert b'value="+16175550123"' in contact.content
    medical = other_device.get(reverse("intake:step", args=[intake.pk, "medical"]))
    assert re.search(rb"<input[^>]*value=\"no\"[^>]*id=\"id_aneurysm_1\"[^>]*checked", medical.content)


def test_a_new_intake_is_saved_only_with_its_first_step(client, patient, patient_record):
    client.force_login(patient)
    first = client.get(reverse("intake:start"))
    assert (
        first.status_code == 200 and b"Contact details" in first.content and b'value="Pat"' in first.content
    )
    assert not Intake.objects.exists()

    refused = client.post(reverse("intake:start"), {**contact_data(phone="12"), "action": "next"})
    assert refused.status_code == 400 and b"does not look like a real number" in refused.content
    assert not Intake.objects.exists()

    saved = client.post(reverse("intake:start"), {**contact_data(), "action": "next"})
    intake = Intake.objects.get(patient=patient_record, status=Intake.Status.IN_PROGRESS)
    assert saved["Location"] == reverse("intake:step", args=[intake.pk, "reasons"])
    assert intake.answers["contact"]["city"] == "Cambridge"
    # Another tab still showing the first step saves into the same draft.
    again = client.post(reverse("intake:start"), {**contact_data(city="Boston"), "action": "save_exit"})
    assert again["Location"] == reverse("portal:home")
    assert Intake.objects.get().answers["contact"]["city"] == "Boston"
    assert client.get(reverse("intake:start"))["Location"] == reverse(
        "intake:step", args=[intake.pk, "reasons"]
    )


def test_a_nine_digit_zip_code_is_kept_as_zip_plus_four(patient_client, intake):
    post_step(patient_client, intake, "contact", contact_data(postal_code="021394307"))
    assert Intake.objects.get(pk=intake.pk).answers["contact"]["postal_code"] == "02139-4307"


def test_back_saves_the_step_and_goes_to_the_previous_one(patient_client, intake):
    post_step(patient_client, intake, "contact", contact_data())
    response = post_step(patient_client, intake, "reasons", {"reasons": ["anxiety"]}, action="back")
    assert response["Location"] == reverse("intake:step", args=[intake.pk, "contact"])
    assert Intake.objects.get(pk=intake.pk).answers["reasons"]["reasons"] == ["anxiety"]


def test_save_and_finish_later_returns_to_the_portal_with_the_step_saved(patient_client, intake):
    response = post_step(patient_client, intake, "contact", contact_data(), action="save_exit")
    assert response["Location"] == reverse("portal:home")
    portal = patient_client.get(response["Location"])
    assert b"Continue your intake" in portal.content and b"1 of 10" in portal.content


@pytest.mark.parametrize(
    ("step", "data", "message"),
    [
        ("contact", contact_data(phone="12"), b"phone number does not look like a real number"),
        ("contact", contact_data(phone="()--"), b"with its area code"),
        ("contact", contact_data(phone="call me"), b"letters are not accepted"),
        ("contact", contact_data(phone="555-CALL-NOW"), b"letters are not accepted"),
        ("contact", contact_data(emergency_contact_phone="555-CALL-NOW"), b"letters are not accepted"),
        ("contact", contact_data(postal_code="ABCDE"), b"Enter a ZIP code of 5 digits"),
        ("contact", contact_data(postal_code="0213"), b"Enter a ZIP code of 5 digits"),
        ("contact", contact_data(state="Massachusetts"), b"Choose your state from the list"),
        ("contact", contact_data(date_of_birth="2015-01-01"), b"aged 18 or over"),
        ("contact", contact_data(date_of_birth="2999-01-01"), b"cannot be in the future"),
        ("contact", contact_data(reminder_channel="sms", sms_consent=""), b"To get text reminders"),
        ("contact", contact_data(email="not-an-email"), b"valid email"),
        ("reasons", {"reasons": ["other"], "other_reason": ""}, b"what else"),
        ("reasons", {"reasons": ["bogus"]}, b"not one of the available choices"),
        ("medical", medical_data(aneurysm="maybe"), b"not one of the available choices"),
        (
            "medical",
            {k: v for k, v in medical_data().items() if k != "psychosis"},
            b"Please check one answer",
        ),
        ("phq9", phq9_data(item3=7), b"not one of the available choices"),
        ("phq9", {k: v for k, v in phq9_data().items() if k != "item4"}, b"Please choose an answer"),
        ("body", {"units": "metric", "height_cm": "20", "weight_kg": "70"}, b"greater than or equal to 100"),
        ("body", {"units": "us", "height_ft": "", "weight_lb": "150"}, b"Please fill this in"),
        ("consent", {"typed_name": "Someone Else", "agree": "on"}, b"Type your name exactly"),
        ("consent", {"typed_name": "Pat One"}, b"Tick this box"),
    ],
)
def test_bad_input_is_explained_and_writes_nothing(patient_client, intake, step, data, message):
    post_step(patient_client, intake, "contact", contact_data())
    before = Intake.objects.get(pk=intake.pk).answers
    consents = ConsentRecord.objects.count()
    response = post_step(patient_client, intake, step, data)
    assert response.status_code == 400
    assert message in response.content
    assert b"error-summary" in response.content
    assert Intake.objects.get(pk=intake.pk).answers == before
    assert ConsentRecord.objects.count() == consents


def test_cssrs_follow_up_questions_appear_after_a_yes_to_question_2(patient_client, intake):
    fill_intake(patient_client, intake)
    intake_answers = Intake.objects.get(pk=intake.pk).answers
    response = post_step(patient_client, intake, "cssrs", cssrs_data(q1="yes", q2="yes"))
    assert response.status_code == 200
    assert b"please answer questions 3 to 5 too" in response.content
    assert b'name="q3"' in response.content and b'name="q5"' in response.content
    assert Intake.objects.get(pk=intake.pk).answers == intake_answers
    done = post_step(
        patient_client, intake, "cssrs", cssrs_data(q1="yes", q2="yes", q3="yes", q4="no", q5="no")
    )
    assert done.status_code == 302
    assert Intake.objects.get(pk=intake.pk).answers["cssrs"]["q3"] is True


def test_cssrs_answers_to_skipped_questions_are_dropped(patient_client, intake):
    fill_intake(patient_client, intake)
    post_step(patient_client, intake, "cssrs", cssrs_data(q2="no", q3="yes", q4="yes"))
    saved = Intake.objects.get(pk=intake.pk).answers["cssrs"]
    assert saved["q3"] is None and saved["q4"] is None


@pytest.mark.parametrize(
    ("overrides", "reasons"),
    [
        ({"cssrs": cssrs_data(q1="yes", q2="yes", q3="yes", q4="yes", q5="no")}, ["C-SSRS: high risk"]),
        ({"cssrs": cssrs_data(q6="yes", q6_past_3_months="yes")}, ["C-SSRS: high risk"]),
        ({"phq9": phq9_data(item9=1)}, ["PHQ-9 item 9"]),
    ],
)
def test_a_high_risk_submission_shows_crisis_resources_and_creates_exactly_one_alert(
    patient_client, intake, django_capture_on_commit_callbacks, overrides, reasons
):
    # A high-risk C-SSRS raises its alert when its step is saved, a PHQ-9 item 9 when the intake is submitted:
    # either way one alert, and its notification is enqueued once, on commit.
    with django_capture_on_commit_callbacks() as callbacks:
        fill_intake(patient_client, intake, **overrides)
        response = patient_client.post(reverse("intake:review", args=[intake.pk]), follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("data-crisis-block") == 1 and 'href="tel:988"' in page
    assert 'role="alert"' in page
    alert = UrgentAlert.objects.get()
    assert alert.submission == IntakeSubmission.objects.get() and alert.submission.is_urgent
    assert alert.intake_id == intake.pk
    assert any(reasons[0] in reason for reason in alert.reasons)
    assert len(callbacks) == 1


def test_another_patients_intake_is_404_and_untouched(client, second_patient, second_patient_record, intake):
    client.force_login(second_patient)
    before = Intake.objects.get(pk=intake.pk).answers
    assert client.get(reverse("intake:step", args=[intake.pk, "contact"])).status_code == 404
    assert post_step(client, intake, "contact", contact_data()).status_code == 404
    assert client.get(reverse("intake:review", args=[intake.pk])).status_code == 404
    assert client.post(reverse("intake:review", args=[intake.pk])).status_code == 404
    assert Intake.objects.get(pk=intake.pk).answers == before


def test_another_patients_submission_is_404(
    client, patient_client, intake, second_patient, second_patient_record
):
    fill_intake(patient_client, intake)
    patient_client.post(reverse("intake:review", args=[intake.pk]))
    submission = IntakeSubmission.objects.get()
    client.force_login(second_patient)
    assert client.get(reverse("intake:submitted", args=[submission.pk])).status_code == 404


def test_staff_cannot_use_the_patient_intake_pages(client, front_desk, intake):
    client.force_login(front_desk)
    assert client.get(reverse("intake:step", args=[intake.pk, "contact"])).status_code == 404
    assert client.get(reverse("portal:home")).status_code == 404


def test_an_unknown_step_sends_the_patient_to_the_next_unfinished_one(patient_client, intake):
    response = patient_client.get(reverse("intake:step", args=[intake.pk, "pcl5"]))
    assert response.status_code == 302
    assert response["Location"] == reverse("intake:step", args=[intake.pk, "contact"])


def test_a_new_consent_version_must_be_signed_again(patient_client, intake, clinic_admin):
    from intake.consent.services import publish_draft, save_draft
    from intake.services import missing_steps

    fill_intake(patient_client, intake)
    assert missing_steps(Intake.objects.get(pk=intake.pk)) == []
    now = timezone.now()
    for change, label, missing in (("minor", "2027-01", []), ("material", "2027-02", ["consent"])):
        save_draft(kind="general", version=label, title="Consent", body="New text.", by=clinic_admin, now=now)
        publish_draft(kind="general", change=change, by=clinic_admin, now=now)
        assert missing_steps(Intake.objects.get(pk=intake.pk)) == missing


def test_submitting_with_steps_missing_is_refused_with_the_steps_named(patient_client, intake):
    post_step(patient_client, intake, "contact", contact_data())
    response = patient_client.post(reverse("intake:review", args=[intake.pk]), follow=True)
    assert b"Please complete these steps first" in response.content
    assert not IntakeSubmission.objects.exists()


def test_every_intake_page_stays_within_its_query_budget(
    patient_client, intake, django_assert_max_num_queries
):
    fill_intake(patient_client, intake)
    policies.saved_values()  # cached in Redis, as in a clinic that has been running: read once, here
    pages = [reverse("portal:home"), reverse("intake:start"), reverse("intake:review", args=[intake.pk])]
    pages += [reverse("intake:step", args=[intake.pk, key]) for key, _ in all_steps()]
    for url in pages:
        with django_assert_max_num_queries(8, info=url):
            assert patient_client.get(url).status_code in (200, 302)
    with django_assert_max_num_queries(10):
        post_step(patient_client, intake, "gad7", ratings(7, 2) | {"functional": "very"})


def test_patient_account_without_a_record_gets_404(client, make_user):
    from clinic.roles import Role

    user = make_user(Role.PATIENT)
    client.force_login(user)
    assert client.get(reverse("portal:home")).status_code == 404
    assert not Patient.objects.filter(user=user).exists()


def test_consent_to_texts_given_on_the_intake_is_recorded_when_it_is_submitted(
    patient_client, intake, patient
):
    from intake.models import SmsConsentEvent

    fill_intake(patient_client, intake)
    patient_client.post(reverse("intake:review", args=[intake.pk]))
    (event,) = SmsConsentEvent.objects.filter(patient=patient.patient)
    assert (event.change, event.source, event.phone) == ("given", "intake", "+16175550123")


def test_every_control_on_every_step_and_the_check_in_wears_the_brands_style(patient_client, intake):
    # A control without its class is drawn as the browser's default: a faint radio in the browser's blue, or a
    # text box as wide as 40 characters, wider than a phone.
    pages = [reverse("intake:step", args=[intake.pk, key]) for key, _ in all_steps()]
    pages.append(reverse("intake:rescreen"))
    for url in pages:
        html = patient_client.get(url).content.decode()
        for control in re.findall(r"<(?:input|select|textarea)\b[^>]*>", html):
            tag = re.match(r"<(\w+)", control).group(1)
            kind = re.search(r'type="(\w+)"', control)
            kind = kind.group(1) if kind else tag
            if kind in ("hidden", "submit", "button"):
                continue
            want = {"radio": "form-check-input", "checkbox": "form-check-input", "select": "form-select"}.get(
                kind, "form-control"
            )
            assert re.search(rf'class="[^"]*\b{want}\b', control), (url, control)


def test_the_review_page_shows_dates_and_phone_numbers_as_a_us_patient_reads_them(patient_client, intake):
    post_step(patient_client, intake, "contact", contact_data(date_of_birth="1988-06-15"))
    page = patient_client.get(reverse("intake:review", args=[intake.pk])).content.decode()
    assert "Wed, Jun 15, 1988" in page and "1988-06-15" not in page
    assert "(617) 555-0123" in page and "(617) 555-0199" in page
    assert "+1617555" not in page


def test_a_questionnaire_whose_licence_is_still_being_checked_shows_its_citation_not_the_doubt(
    patient_client, intake
):
    post_step(patient_client, intake, "reasons", {"reasons": ["ocd"], "other_reason": ""})
    page = patient_client.get(reverse("intake:step", args=[intake.pk, "ocir"])).content.decode()
    assert "Obsessive-Compulsive Inventory" in page and "Psychol Assess 2002" in page
    assert "unverified" not in page.lower() and "copyrighted" not in page
    phq9 = patient_client.get(reverse("intake:step", args=[intake.pk, "phq9"])).content.decode()
    assert "No permission required to reproduce" in phq9  # a settled licence is the owner's statement, shown
