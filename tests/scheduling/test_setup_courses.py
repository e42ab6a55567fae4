"""Series templates edited on the set-up pages: stored as the first-run code defined them, checked against each
modality's protocol, audited, and what front desk books from then on."""

from __future__ import annotations

import re
from datetime import time

import pytest
import time_machine
from django.urls import reverse

from clinic.models import AuditEvent
from scheduling import selectors, series, services
from scheduling.models import Appointment, CourseTemplate, TreatmentType
from tests.factories import NOW, make_patient

pytestmark = pytest.mark.django_db

IV = "iv_ketamine_induction"
SPRAVATO = "spravato_trd_induction"


@pytest.fixture
def admin_client(client, clinic_admin):
    client.force_login(clinic_admin)
    return client


def course_form(template: CourseTemplate, **changes) -> dict:
    data = {
        "label": template.label,
        "code": template.code,
        "modality": template.modality,
        "min_days_between": template.min_days_between,
        "source": template.source,
        "is_active": "on" if template.is_active else "",
        "session_lines": "\n".join(f"Week {w}, day {s + 1}: {n}" for w, s, n in template.sessions),
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


def test_the_stored_templates_are_the_ones_code_defined():
    stored = {row.code: row.as_series_template() for row in CourseTemplate.objects.all()}
    assert stored == dict(series.TEMPLATES)


def test_front_desk_and_clinicians_do_not_find_the_course_pages(client, front_desk, clinician):
    template = CourseTemplate.objects.get(code=IV)
    for user in (front_desk, clinician):
        client.force_login(user)
        assert client.get(reverse("setup:course_edit", args=[template.pk])).status_code == 404
        response = client.post(
            reverse("setup:course_edit", args=[template.pk]), course_form(template, label="X")
        )
        assert response.status_code == 404
    assert CourseTemplate.objects.get(code=IV).label == template.label


def test_an_edited_course_is_what_front_desk_books_and_the_change_is_audited(
    admin_client, clinic, clinic_admin, front_desk, client
):
    template = CourseTemplate.objects.get(code=IV)
    assert admin_client.get(reverse("setup:home")).content.decode().count(template.label) == 1
    four = "Week 1, day 1: First\nWeek 1, day 2\nWeek 2, day 1\nWeek 2, day 2: Last"
    response = admin_client.post(
        reverse("setup:course_edit", args=[template.pk]),
        course_form(template, label="IV ketamine: 4 infusions", session_lines=four),
    )
    assert response.status_code == 302
    template.refresh_from_db()
    assert template.sessions == [[1, 0, "First"], [1, 1, ""], [2, 0, ""], [2, 1, "Last"]]
    event = AuditEvent.objects.get(
        table_name="scheduling_coursetemplate", row_pk=str(template.pk), action="UPDATE"
    )
    assert event.actor_id == clinic_admin.pk
    assert len(event.old_data["sessions"]) == 6
    assert len(event.new_data["sessions"]) == 4

    client.force_login(front_desk)
    patient = make_patient()
    form = {
        "template": IV, "treatment_type": clinic.iv.pk, "location": clinic.location.pk,
        "start_date": "2027-03-08", "weekdays": ["0", "2"], "local_time": "09:00",
    }  # fmt: skip
    with time_machine.travel(NOW, tick=False):
        html = client.post(reverse("scheduling:book_series", args=[patient.pk]), form).content.decode()
        assert "IV ketamine: 4 infusions" in html
        token = re.search(r'name="proposal" value="([^"]+)"', html).group(1)
        assert (
            client.post(reverse("scheduling:book_series", args=[patient.pk]), {"proposal": token}).status_code
            == 302
        )
    assert Appointment.objects.filter(patient=patient).count() == 4


def test_a_retired_course_is_not_offered_and_cannot_be_booked(admin_client, clinic, front_desk):
    template = CourseTemplate.objects.get(code=IV)
    response = admin_client.post(
        reverse("setup:course_edit", args=[template.pk]), course_form(template, is_active="")
    )
    assert response.status_code == 302
    assert not CourseTemplate.objects.get(code=IV).is_active
    assert [t.code for t in selectors.bookable_course_templates()] == [SPRAVATO]
    patient = make_patient()
    with time_machine.travel(NOW, tick=False):
        proposal = selectors.propose_treatment_series(
            patient=patient, location=clinic.location, treatment_type=clinic.iv, template=series.IV_INDUCTION,
            start_date=NOW.date(), weekdays=[0, 2, 4], local_time=time(9), now=NOW,
        )  # fmt: skip
        with pytest.raises(services.BookingRefused, match="retired"):
            services.book_series(
                patient=patient, treatment_type=clinic.iv, location=clinic.location, template_code=IV,
                weekdays=[0, 2, 4], local_time=time(9), booked_by=front_desk, now=NOW,
                sessions=[services.SeriesSessionChoice(index=p.index, start=p.start) for p in proposal],
            )  # fmt: skip
    assert not Appointment.objects.filter(patient=patient).exists()


@pytest.mark.parametrize(
    ("code", "changes", "message"),
    [
        # The label: twice weekly in weeks 1-4.
        (
            SPRAVATO,
            {"session_lines": "Week 1, day 1\nWeek 1, day 2\nWeek 1, day 3"},
            "at most 2 in that week",
        ),
        # The label: once weekly from week 5.
        (SPRAVATO, {"session_lines": "Week 5, day 1\nWeek 5, day 2"}, "at most 1 in that week"),
        (IV, {"session_lines": "Week 1, day 1\nWeek 1, day 2\nWeek 1, day 3\nWeek 1, day 4"}, "at most 3"),
        (IV, {"session_lines": "Week 2, day 1\nWeek 1, day 1"}, "calendar order"),
        (IV, {"session_lines": "Weekly, please"}, "Line 1: write each session as"),
        (IV, {"session_lines": ""}, "This field is required"),
        (IV, {"min_days_between": "9"}, "1 to 7"),
        # Three weekdays three days apart do not fit in a week.
        (IV, {"min_days_between": "3"}, "calendar order"),
        (IV, {"code": "renamed"}, None),  # disabled on edit: ignored, not saved
    ],
)
def test_a_course_that_breaks_its_protocol_writes_nothing(admin_client, code, changes, message):
    template = CourseTemplate.objects.get(code=code)
    before = list(CourseTemplate.objects.values().order_by("pk"))
    response = admin_client.post(
        reverse("setup:course_edit", args=[template.pk]), course_form(template, **changes)
    )
    if message is None:
        assert response.status_code == 302
        assert CourseTemplate.objects.get(pk=template.pk).code == code
        return
    assert response.status_code == 400
    assert message in response.content.decode()
    assert list(CourseTemplate.objects.values().order_by("pk")) == before
    assert not AuditEvent.objects.filter(table_name="scheduling_coursetemplate", action="UPDATE").exists()


def test_a_spacing_the_treatment_cannot_keep_is_refused(admin_client, clinic):
    TreatmentType.objects.filter(pk=clinic.iv.pk).update(min_days_apart=3)
    template = CourseTemplate.objects.get(code=IV)
    response = admin_client.post(
        reverse("setup:course_edit", args=[template.pk]), course_form(template, label="x")
    )
    assert response.status_code == 400
    assert "needs 3 days between dosing sessions" in response.content.decode()
    assert CourseTemplate.objects.get(code=IV).label == template.label


def test_a_spravato_maintenance_course_is_added(admin_client):
    response = admin_client.post(
        reverse("setup:course_new"),
        {
            "label": "Spravato maintenance, every other week", "code": "spravato-maintenance-q2w",
            "modality": "spravato", "min_days_between": "7", "is_active": "on",
            "session_lines": "Week 9, day 1\nWeek 11, day 1\nWeek 13, day 1",
        },
    )  # fmt: skip
    assert response.status_code == 302
    added = selectors.bookable_course_template("spravato-maintenance-q2w")
    assert added is not None
    assert [rule.week for rule in added.sessions] == [9, 11, 13]
    assert added.weekdays_needed == 1
    taken = admin_client.post(
        reverse("setup:course_new"),
        {"label": "Again", "code": "spravato-maintenance-q2w", "modality": "spravato", "min_days_between": "7",
         "session_lines": "Week 1, day 1"},
    )  # fmt: skip
    assert taken.status_code == 400
    assert CourseTemplate.objects.filter(code="spravato-maintenance-q2w").count() == 1


def test_an_emptied_database_gets_the_first_run_courses_back_and_edits_are_kept():
    # A transactional test's flush empties the table, then post_migrate calls this.
    from scheduling.apps import first_run_course_templates

    CourseTemplate.objects.filter(code=IV).update(label="Edited")
    first_run_course_templates()
    assert CourseTemplate.objects.get(code=IV).label == "Edited"
    CourseTemplate.objects.all().delete()
    first_run_course_templates()
    assert {row.code: row.as_series_template() for row in CourseTemplate.objects.all()} == dict(
        series.TEMPLATES
    )
