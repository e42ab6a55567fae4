"""Every change to consent: the clinic admin's drafts and publications, the patient's signature and withdrawal.
One function per action, keyword-only, one transaction each."""

from __future__ import annotations

import hashlib
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from clinic.celery import app
from intake.consent import selectors
from intake.errors import IntakeError
from intake.models import ConsentKind, ConsentRecord, ConsentVersion, Patient

# The clinic is told of a withdrawal by scheduling, which knows the sessions already booked (the task's name: this
# app sits below scheduling and does not import it).
TELL_CLINIC_OF_WITHDRAWAL_TASK = "scheduling.tell_clinic_of_consent_withdrawal"


class ConsentRefused(IntakeError):
    """A consent change that cannot be made as asked; the message says why."""


def text_sha256(version: ConsentVersion) -> str:
    """The fingerprint of what the patient read: the title and the text of this version."""
    return hashlib.sha256(f"{version.title}\n\n{version.body}".encode()).hexdigest()


def _kind(kind: str) -> str:
    if kind not in ConsentKind.values:
        raise ConsentRefused(_("There is no such consent document."))
    return kind


@transaction.atomic
def save_draft(*, kind: str, version: str, title: str, body: str, by, now: datetime) -> ConsentVersion:
    """Create or change the document's draft. The label must be new for this document."""
    kind = _kind(kind)
    version, title, body = version.strip(), " ".join(title.split()), body.strip().replace("\r\n", "\n")
    if not version:
        raise ConsentRefused(_("Give the new version a label, for example 2027-01."), field="version")
    if not title:
        raise ConsentRefused(_("Give the document a title."), field="title")
    if not body:
        raise ConsentRefused(_("Write the text patients will read and sign."), field="body")
    existing = ConsentVersion.objects.select_for_update().filter(kind=kind, published_at__isnull=True).first()
    taken = ConsentVersion.objects.filter(kind=kind, version=version)
    if existing is not None:
        taken = taken.exclude(pk=existing.pk)
    if taken.exists():
        raise ConsentRefused(
            _("Version %(version)s of this document exists already: choose a new label.")
            % {"version": version},
            field="version",
        )
    try:
        with transaction.atomic():
            if existing is None:
                number = (ConsentVersion.objects.filter(kind=kind).aggregate(n=Max("number"))["n"] or 0) + 1
                return ConsentVersion.objects.create(
                    kind=kind, number=number, version=version, title=title, body=body, created_by=by,
                    created_at=now,
                )  # fmt: skip
            existing.version, existing.title, existing.body = version, title, body
            existing.save(update_fields=["version", "title", "body"])
            return existing
    except IntegrityError:
        # Another admin saved a draft or took the label at the same moment.
        raise ConsentRefused(
            _("Someone else changed this document at the same time: open it again and repeat your change.")
        ) from None


@transaction.atomic
def discard_draft(*, kind: str) -> bool:
    """Throw the document's draft away (a published version stays for ever)."""
    deleted, _rows = ConsentVersion.objects.filter(kind=_kind(kind), published_at__isnull=True).delete()
    return bool(deleted)


@transaction.atomic
def publish_draft(*, kind: str, change: str, by, now: datetime) -> ConsentVersion:
    """Put the draft in force. ``change``: material (patients who use the document must sign it before their
    next booking or check-in) or minor (their signatures stand)."""
    kind = _kind(kind)
    if change not in ConsentVersion.Change.values:
        raise ConsentRefused(_("Say whether the change is material or minor."), field="change")
    draft = ConsentVersion.objects.select_for_update().filter(kind=kind, published_at__isnull=True).first()
    if draft is None:
        raise ConsentRefused(
            _("There is no draft to publish: it may have been published or discarded already.")
        )
    draft.change, draft.published_by, draft.published_at = change, by, now
    draft.save(update_fields=["change", "published_by", "published_at"])
    return draft


def _record(
    *, patient: Patient, version: ConsentVersion, action: str, typed_name: str, now: datetime,
    ip_address: str | None, user_agent: str,
) -> ConsentRecord:  # fmt: skip
    typed = " ".join(typed_name.split())
    if typed.casefold() != " ".join(patient.full_name.split()).casefold():
        raise ConsentRefused(
            _("Type your full legal name exactly as the clinic has it: %(name)s.")
            % {"name": patient.full_name},
            field="typed_name",
        )
    return ConsentRecord.objects.create(
        patient=patient,
        kind=version.kind,
        action=action,
        version=version.version,
        text_sha256=text_sha256(version),
        typed_name=typed,
        agreed_at=now,
        ip_address=ip_address,
        user_agent=user_agent[:400],
    )


@transaction.atomic
def sign(
    *, patient: Patient, kind: str, version_id: int, typed_name: str, now: datetime, ip_address: str | None,
    user_agent: str,
) -> ConsentRecord:  # fmt: skip
    """The patient signs the version in force. ``version_id`` is the one they read: if a newer one came out
    meanwhile they are asked to read that instead."""
    # One signature or withdrawal at a time; NO KEY, so bookings (their foreign-key checks) do not wait on it.
    Patient.objects.select_for_update(no_key=True).filter(pk=patient.pk).first()
    current = selectors.current_version(_kind(kind))
    if current is None:
        raise ConsentRefused(_("There is no consent of this kind to sign yet."))
    if current.pk != version_id:
        raise ConsentRefused(
            _("The clinic has just published a newer version: please read it and sign again.")
        )
    return _record(
        patient=patient, version=current, action=ConsentRecord.Action.SIGNED, typed_name=typed_name, now=now,
        ip_address=ip_address, user_agent=user_agent,
    )  # fmt: skip


@transaction.atomic
def withdraw(
    *, patient: Patient, kind: str, typed_name: str, now: datetime, ip_address: str | None, user_agent: str
) -> ConsentRecord:
    """The patient withdraws their consent: recorded and signed, new bookings and check-ins that need it stop, and
    the clinic is told (with the sessions already booked, which nobody cancels silently)."""
    Patient.objects.select_for_update(no_key=True).filter(pk=patient.pk).first()
    item = selectors.standing(patient, _kind(kind))
    latest = item.latest
    if latest is None or latest.action != ConsentRecord.Action.SIGNED:
        raise ConsentRefused(_("You have no signed consent of this kind to withdraw."))
    version = ConsentVersion.objects.filter(kind=kind, version=latest.version).first() or item.current
    assert version is not None, "a signature exists, so its document has a version"
    record = _record(
        patient=patient, version=version, action=ConsentRecord.Action.WITHDRAWN, typed_name=typed_name,
        now=now, ip_address=ip_address, user_agent=user_agent,
    )  # fmt: skip
    record_id = record.pk
    transaction.on_commit(lambda: app.signature(TELL_CLINIC_OF_WITHDRAWAL_TASK).delay(record_id))
    return record
