"""The intake's refusal: something the person can put right, with a message that says how."""

from __future__ import annotations

from clinic.errors import Refused


class IntakeError(Refused):
    """Something the person can put right; the message says how."""
