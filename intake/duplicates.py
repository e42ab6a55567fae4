"""Two patient records staff think are one person: a recorded flag, shown on both records. Merging is not done
here: each record's history is append-only and stays as it was."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from clinic.models import User
from intake.errors import IntakeError
from intake.models import Patient, PossibleDuplicate


@transaction.atomic
def flag_same_person(
    *, patient: Patient, other: Patient, flagged_by: User, note: str, now: datetime
) -> PossibleDuplicate:
    """Record that ``patient`` and ``other`` may be the same person."""
    if patient.pk == other.pk:
        raise IntakeError(_("Choose another patient's record: this is the same one."))
    low, high = sorted((patient.pk, other.pk))
    if PossibleDuplicate.objects.filter(patient_id=low, other_id=high).exists():
        raise IntakeError(_("These two records are already flagged as the same person."))
    return PossibleDuplicate.objects.create(
        patient_id=low, other_id=high, note=note.strip()[:300], flagged_by=flagged_by, flagged_at=now
    )


@transaction.atomic
def clear_flag(*, flag: PossibleDuplicate) -> None:
    """They are two people after all (the audit trail keeps the flag and who cleared it)."""
    flag.delete()
