"""A phone number as people read it, (617) 555-0100, and as a phone dials it from a ``tel:`` link, +16175550100.
Numbers are stored as E.164 (patients') or as staff typed them (a location's); one that does not parse is shown
as it is."""

from __future__ import annotations

import phonenumbers
from django.conf import settings


def _parsed(value: str) -> phonenumbers.PhoneNumber | None:
    try:
        number = phonenumbers.parse(value, settings.INTAKE_PHONE_REGION)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def display_phone(value: str | None) -> str:
    """For reading: national format for a number of the clinic's country, international otherwise."""
    number = _parsed(value or "")
    if number is None:
        return value or ""
    home = phonenumbers.region_code_for_number(number) == settings.INTAKE_PHONE_REGION
    style = phonenumbers.PhoneNumberFormat.NATIONAL if home else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(number, style)


def dial_phone(value: str | None) -> str:
    """For a ``tel:`` or ``sms:`` link: E.164, which every phone dials the same way."""
    number = _parsed(value or "")
    if number is None:
        return "".join(c for c in value or "" if c.isdigit() or c == "+")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
