"""A phone number as people read it, (617) 555-0100, and as a phone dials it from a ``tel:`` link, +16175550100.
Numbers are stored as E.164 (patients') or as staff typed them (a location's); one that does not parse is shown
as it is."""

from __future__ import annotations

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


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


def normalise_phone(value: str, *, field_label: str) -> str:
    """A phone number as E.164, or a message the person typing it can act on.

    Letters are refused rather than read as a keypad would (555-CALL-NOW): a number the person did not type is
    one nobody can reach them on. ``field_label`` names the number in the message ("your phone number")."""
    if any(character.isalpha() for character in value):
        raise ValidationError(
            _("Enter %(number)s in digits only, for example (617) 555-0100; letters are not accepted.")
            % {"number": field_label}
        )
    try:
        number = phonenumbers.parse(value, settings.INTAKE_PHONE_REGION)
    except phonenumbers.NumberParseException:
        raise ValidationError(
            _("Enter %(number)s with its area code, for example (617) 555-0100.") % {"number": field_label}
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(
            _("%(number)s does not look like a real number. Please check it.")
            % {"number": field_label[:1].upper() + field_label[1:]}
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
