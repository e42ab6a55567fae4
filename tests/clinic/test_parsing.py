"""Ids, days and times people send are read within what the database and the calendar hold (clinic/parsing.py)."""

from datetime import UTC, date, datetime

import pytest
from django.test import RequestFactory
from django.urls import reverse

from clinic.parsing import (
    BIGINT_MAX,
    CalendarDayField,
    ObjectIdConverter,
    next_path,
    object_id,
    parse_day,
    parse_moment,
)

TODAY = date(2027, 3, 3)
NOW = datetime(2027, 3, 3, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", 1), (" 42 ", 42), (str(BIGINT_MAX), BIGINT_MAX), (7, 7), (str(BIGINT_MAX + 1), None),
     ("99999999999999999999", None), ("0", None), ("-1", None), ("\u00b2", None), ("1e3", None), ("", None),
     (None, None), (-5, None)],
)  # fmt: skip
def test_an_object_id_is_a_whole_number_the_database_holds(raw, expected):
    assert object_id(raw) == expected


def test_the_id_converter_refuses_what_the_database_cannot_hold():
    converter = ObjectIdConverter()
    assert converter.to_python(str(BIGINT_MAX)) == BIGINT_MAX
    for value in (str(BIGINT_MAX + 1), "0"):
        with pytest.raises(ValueError):
            converter.to_python(value)


@pytest.mark.parametrize(
    ("raw", "message"),
    [("0001-01-01", "within 10 years"), ("9999-12-31", "within 10 years"), ("2037-03-03", None),
     ("2038-01-01", "within 10 years"), ("10000-01-01", "not understood"), ("2027-02-30", "not understood"),
     ("garbage", "not understood")],
)  # fmt: skip
def test_a_day_is_read_within_ten_years_of_today(raw, message):
    if message is None:
        assert parse_day(raw, today=TODAY) == date.fromisoformat(raw)
    else:
        with pytest.raises(ValueError, match=message):
            parse_day(raw, today=TODAY)


@pytest.mark.parametrize(
    "raw",
    ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "2027-03-03T09:00:00", "garbage", ""],
)
def test_a_time_needs_its_zone_and_a_year_near_today(raw):
    with pytest.raises(ValueError):
        parse_moment(raw, now=NOW)
    assert parse_moment("2027-03-03T09:00:00-05:00", now=NOW).utcoffset() is not None


def test_a_calendar_day_field_refuses_a_far_day():
    field = CalendarDayField()
    with pytest.raises(Exception, match="within 10 years"):
        field.clean("9999-12-31")


@pytest.mark.parametrize(
    ("sent", "expected"),
    [("/review/", "/review/"), ("1", "/home/"), ("queue", "/home/"), ("https://evil.example/", "/home/"),
     ("//evil.example/", "/home/"), ("", "/home/")],
)  # fmt: skip
def test_next_is_a_path_on_this_site(sent, expected):
    request = RequestFactory().post("/", {"next": sent})
    assert next_path(request, "/home/") == expected


def test_the_reported_urls_are_404_and_a_far_day_is_a_message(client, clinician, front_desk):
    from tests.factories import build_clinic

    build_clinic()
    client.force_login(clinician)
    assert client.get("/review/patients/99999999999999999999/").status_code == 404
    client.force_login(front_desk)
    for day in ("0001-01-01", "9999-12-31"):
        page = client.get(reverse("scheduling:day"), {"date": day})
        assert (
            page.status_code == 200
            and b"Choose a day within 10 years of today. Showing today" in page.content
        )
