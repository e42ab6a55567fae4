"""Phone numbers in pages: ``{{ number|phone_number }}`` to read, ``tel:{{ number|phone_href }}`` to dial."""

from __future__ import annotations

from django import template

from clinic.phones import dial_phone, display_phone

register = template.Library()
register.filter("phone_number", display_phone)
register.filter("phone_href", dial_phone)
