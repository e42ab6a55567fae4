"""A page follows the browser's language once a catalog for it is compiled; with none it stays in English.

The catalog here is compiled by the test itself (the .mo format is a small table of strings), so the test needs no
GNU gettext on the machine and proves the whole path: strings marked in templates and in Python, the language read
from Accept-Language by LocaleMiddleware, and the translation looked up in LOCALE_PATHS.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from django.test import override_settings
from django.urls import reverse

SPANISH = {
    "Skip to main content": "Saltar al contenido principal",
    "Sign in": "Iniciar sesión",
    # A blocktranslate with a variable: its msgid names the variable.
    "Patients of %(clinic_name)s complete their intake and check their appointments here. Staff sign in to book "
    "sessions and review screenings.": "Los pacientes de %(clinic_name)s completan aquí su admisión.",
    # Marked in Python (clinic/navigation.py), translated when the page is drawn.
    "My care": "Mi atención",
}


def write_mo(path: Path, catalog: dict[str, str]) -> None:
    """A GNU .mo file for ``catalog`` (the layout Python's gettext module reads)."""
    entries = {"": "Content-Type: text/plain; charset=UTF-8\nPlural-Forms: nplurals=2; plural=(n != 1);\n"}
    entries.update(catalog)
    keys = sorted(entries)
    ids = strs = b""
    spans = []
    for key in keys:
        key_bytes, value_bytes = key.encode(), entries[key].encode()
        spans.append((len(ids), len(key_bytes), len(strs), len(value_bytes)))
        ids += key_bytes + b"\0"
        strs += value_bytes + b"\0"
    count = len(keys)
    key_start = 7 * 4 + 16 * count
    value_start = key_start + len(ids)
    key_table = b"".join(struct.pack("<2I", length, key_start + offset) for offset, length, _, _ in spans)
    value_table = b"".join(struct.pack("<2I", length, value_start + offset) for _, _, offset, length in spans)
    header = struct.pack("<7I", 0x950412DE, 0, count, 7 * 4, 7 * 4 + 8 * count, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + key_table + value_table + ids + strs)


@pytest.fixture
def spanish_catalog(tmp_path):
    write_mo(tmp_path / "es" / "LC_MESSAGES" / "django.mo", SPANISH)
    with override_settings(LOCALE_PATHS=[tmp_path]):
        yield


def test_a_spanish_browser_gets_the_spanish_catalog(client, db, spanish_catalog):
    html = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="es").content.decode()

    assert '<html lang="es">' in html
    assert "Saltar al contenido principal" in html and "Skip to main content" not in html
    assert "Iniciar sesión" in html
    assert "completan aquí su admisión" in html
    # A string the catalog does not translate stays in English.
    assert "one calm step at a time" in html


def test_python_strings_follow_the_language_too(client, patient, spanish_catalog):
    client.force_login(patient)
    html = client.get(reverse("portal:home"), HTTP_ACCEPT_LANGUAGE="es").content.decode()

    assert "Mi atención" in html


def test_without_a_language_header_the_page_is_english(client, db, spanish_catalog):
    response = client.get(reverse("home"))
    html = response.content.decode()

    assert '<html lang="en">' in html
    assert "Skip to main content" in html and "Saltar al contenido principal" not in html
    assert "Accept-Language" in response["Vary"]


def test_the_shipped_spanish_catalog_lists_strings_from_templates_and_python():
    """locale/es/LC_MESSAGES/django.po is what translators fill in (made by makemessages, docs/translation.md)."""
    po = (Path(__file__).resolve().parents[2] / "locale" / "es" / "LC_MESSAGES" / "django.po").read_text(
        "utf-8"
    )

    assert 'msgid "Skip to main content"' in po
    assert 'msgid "My care"' in po
