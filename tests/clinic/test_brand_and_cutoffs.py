"""The clinic's brand color and logo, and the screening cut-offs that are clinic policy, changed on the Clinic
settings page: refused when unusable, in force at once, audited."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from clinic import policies
from clinic.models import AuditEvent, ClinicPolicy
from tests.support import policy_form

pytestmark = pytest.mark.django_db

URL = "/clinic-settings/"
# The smallest PNG there is: one transparent pixel.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@pytest.fixture
def admin(client, clinic_admin):
    client.force_login(clinic_admin)
    return client


@pytest.mark.parametrize(
    ("typed", "message"),
    [("teal", "a hex color"), ("#a0d8d0", "too light to read"), ("#ffff00", "too light to read")],
)
def test_an_unreadable_or_malformed_color_is_refused_and_nothing_saved(admin, typed, message):
    response = admin.post(URL, policy_form(CLINIC_COLOR=typed, CLINIC_NAME="Renamed"))
    assert response.status_code == 400 and message in response.content.decode()
    assert not ClinicPolicy.objects.exists()


def test_a_new_color_is_in_the_theme_of_the_next_page(admin, clinic_admin):
    old_page = admin.get(URL).content.decode()
    assert admin.post(URL, policy_form(CLINIC_COLOR="#1D4E89")).status_code == 302
    page = admin.get(URL).content.decode()
    theme = re.search(r'href="(/theme/[0-9a-f]+\.css)"', page).group(1)
    assert theme not in old_page  # a new address, so browsers fetch it again
    css = admin.get(theme).content.decode()
    assert "--clinic-teal: #1d4e89;" in css and "--bs-primary-rgb: 29, 78, 137;" in css
    event = AuditEvent.objects.get(table_name="clinic_clinicpolicy", action="INSERT")
    assert event.actor_id == clinic_admin.pk and event.new_data["value"] == "#1d4e89"


def test_a_logo_is_uploaded_shown_and_removed(admin):
    upload = SimpleUploadedFile("logo.png", PIXEL, content_type="image/png")
    assert admin.post(URL, {**policy_form(), "CLINIC_LOGO": upload}).status_code == 302
    page = admin.get(URL).content.decode()
    logo = re.search(r'src="(/theme/[0-9a-f]+/logo)"', page).group(1)
    served = admin.get(logo)
    assert served["Content-Type"] == "image/png" and served.content == PIXEL

    assert admin.post(URL, {**policy_form(), "CLINIC_LOGO__remove": "on"}).status_code == 302
    assert policies.value("CLINIC_LOGO") == ""
    assert admin.get(logo).status_code == 404


def test_the_versioned_theme_and_logo_are_cached_and_pages_are_not(admin):
    upload = SimpleUploadedFile("logo.png", PIXEL, content_type="image/png")
    assert admin.post(URL, {**policy_form(), "CLINIC_LOGO": upload}).status_code == 302
    page = admin.get(URL)
    assert "no-store" in page["Cache-Control"]
    html = page.content.decode()
    for address in (
        re.search(r'href="(/theme/[0-9a-f]+\.css)"', html).group(1),
        re.search(r'src="(/theme/[0-9a-f]+/logo)"', html).group(1),
    ):
        served = admin.get(address)
        assert served.status_code == 200
        assert served["Cache-Control"] == "public, max-age=31536000, immutable"
        assert "Expires" not in served

    assert admin.post(URL, {**policy_form(), "CLINIC_LOGO__remove": "on"}).status_code == 302
    gone = admin.get(re.search(r'src="(/theme/[0-9a-f]+/logo)"', html).group(1))
    assert gone.status_code == 404 and "no-store" in gone["Cache-Control"]


def test_a_logo_that_is_not_a_png_or_jpeg_is_refused(admin):
    svg = SimpleUploadedFile("logo.svg", b"<svg onload='alert(1)'/>", content_type="image/svg+xml")
    response = admin.post(URL, {**policy_form(), "CLINIC_LOGO": svg})
    assert response.status_code == 400 and "a PNG or JPEG image" in response.content.decode()
    assert policies.value("CLINIC_LOGO") == ""


def test_the_pcl5_cutoff_is_clinic_policy_within_the_published_range(admin):
    refused = admin.post(URL, policy_form(INTAKE_PCL5_PROBABLE_CUTOFF="25"))
    assert refused.status_code == 400 and "from 31 to 33" in refused.content.decode()
    assert admin.post(URL, policy_form(INTAKE_PCL5_PROBABLE_CUTOFF="31")).status_code == 302
    assert policies.value("INTAKE_PCL5_PROBABLE_CUTOFF") == 31


def test_a_changed_cutoff_decides_the_next_scoring():
    from intake import services

    assert services._cutoffs("pcl5") == {"probable_cutoff": 33}
    ClinicPolicy.objects.create(key="INTAKE_PCL5_PROBABLE_CUTOFF", value=31, changed_at="2027-03-01T12:00Z")
    policies.forget_cached()
    assert services._cutoffs("pcl5") == {"probable_cutoff": 31}


@pytest.mark.parametrize("typed", ["red; } body { display: none", "#ffff00"])
def test_an_unusable_color_from_the_environment_is_not_put_in_the_style_sheet(admin, settings, caplog, typed):
    settings.CLINIC_COLOR = typed
    page = admin.get(URL).content.decode()
    css = admin.get(re.search(r'href="(/theme/[0-9a-f]+\.css)"', page).group(1)).content.decode()
    assert "--clinic-teal: #2f6f6a;" in css and typed not in css
    assert policies.value("CLINIC_COLOR") == "#2f6f6a"
    assert any(
        "CLINIC_COLOR" in record.getMessage() for record in caplog.records if record.levelname == "WARNING"
    )


def test_a_usable_color_from_the_environment_is_the_first_run_color(admin, settings):
    settings.CLINIC_COLOR = "#1D4E89"
    assert policies.value("CLINIC_COLOR") == "#1d4e89"
