"""Where a patient stands with each consent document, read from the versions and the patient's records.

A signature stands until its document gets a material version after it; a minor version leaves it standing. The
document's first version is asked for (the intake signs the general one, the portal offers the treatment ones)
but holds nothing up: only a material version published later, or a withdrawal, stops new bookings and the
check-in of sessions already booked, until the patient signs the version in force."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.http import Http404
from django.utils.translation import gettext as _

from clinic.local_time import format_day
from intake.models import ConsentKind, ConsentRecord, ConsentVersion, Patient

# The documents a session of each modality needs (a consultation needs only the general consent).
KINDS_FOR_MODALITY: dict[str, tuple[str, ...]] = {
    "iv": (ConsentKind.GENERAL, ConsentKind.IV_KETAMINE),
    "spravato": (ConsentKind.GENERAL, ConsentKind.SPRAVATO),
    "consultation": (ConsentKind.GENERAL,),
}


@dataclass(frozen=True)
class Standing:
    """A patient and one document. ``current``: the version in force (None before any is published).
    ``latest``: the patient's latest record (a signature or a withdrawal). ``needs_signature``: the patient has no
    standing signature (never signed, withdrew, or a material version came after it). ``blocked_by``: the material
    version that holds up bookings until it (or a later one) is signed; ``withdrawn``: the latest record withdraws."""

    kind: str
    current: ConsentVersion | None
    latest: ConsentRecord | None
    needs_signature: bool
    withdrawn: bool
    blocked_by: ConsentVersion | None

    @property
    def label(self) -> str:
        return str(ConsentKind(self.kind).label)

    @property
    def blocks(self) -> bool:
        return self.withdrawn or self.blocked_by is not None


def published(kind: str) -> list[ConsentVersion]:
    """The document's published versions, newest first."""
    return list(ConsentVersion.objects.filter(kind=kind, published_at__isnull=False).order_by("-number"))


def current_version(kind: str) -> ConsentVersion | None:
    return ConsentVersion.objects.filter(kind=kind, published_at__isnull=False).order_by("-number").first()


def draft(kind: str) -> ConsentVersion | None:
    return ConsentVersion.objects.filter(kind=kind, published_at__isnull=True).first()


def standings(patient: Patient, kinds: tuple[str, ...] | list[str]) -> list[Standing]:
    """The patient's standing with each of ``kinds``, in that order (one query whatever the number)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT consent_versions, consent_latest FROM intake_consent_facts(%s)", [patient.pk])
        versions, latest = cursor.fetchone()
    return standings_from_columns({"consent_versions": versions, "consent_latest": latest}, patient, kinds)


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def standings_from_columns(
    row: Mapping[str, Any], patient: Patient, kinds: tuple[str, ...] | list[str]
) -> list[Standing]:
    """The standings from a row holding ``intake_consent_facts``'s columns, by name (other columns are ignored):
    how the booking read gets them in its own statement."""
    versions: dict[str, list[ConsentVersion]] = {kind: [] for kind in kinds}
    for item in _json(row["consent_versions"]):
        if item["kind"] in versions:
            versions[item["kind"]].append(
                ConsentVersion(
                    id=item["id"],
                    kind=item["kind"],
                    number=item["number"],
                    version=item["version"],
                    title=item["title"],
                    change=item["change"],
                    published_at=_moment(item["published_at"]),
                )  # fmt: skip
            )
    latest = {
        item["kind"]: ConsentRecord(
            id=item["id"],
            patient=patient,
            kind=item["kind"],
            action=item["action"],
            version=item["version"],
            typed_name=item["typed_name"],
            agreed_at=datetime.fromisoformat(item["agreed_at"]),
        )  # fmt: skip
        for item in _json(row["consent_latest"])
    }
    return [_standing(kind, versions[kind], latest.get(kind)) for kind in kinds]


def _standing(kind: str, versions: list[ConsentVersion], latest: ConsentRecord | None) -> Standing:
    """``versions``: the document's published versions, newest first; ``latest``: the patient's latest record."""
    numbers = {v.version: v.number for v in versions}
    material = [v for v in versions if v.change == ConsentVersion.Change.MATERIAL]
    withdrawn = latest is not None and latest.action == ConsentRecord.Action.WITHDRAWN
    signed_number = (
        numbers.get(latest.version, 0)
        if latest is not None and latest.action == ConsentRecord.Action.SIGNED
        else 0
    )
    if not versions:
        needs_signature = False
    elif not signed_number:
        needs_signature = True
    else:
        needs_signature = bool(material) and signed_number < material[0].number
    gate = material[0] if material and material[0].number > 1 else None
    return Standing(
        kind=kind,
        current=versions[0] if versions else None,
        latest=latest,
        needs_signature=needs_signature,
        withdrawn=withdrawn,
        blocked_by=gate if gate is not None and signed_number < gate.number else None,
    )


def _json(value: Any) -> list[dict[str, Any]]:
    return json.loads(value) if isinstance(value, str) else list(value or [])


def standing(patient: Patient, kind: str) -> Standing:
    return standings(patient, [kind])[0]


def refusal(patient: Patient, modality: str, *, row: Mapping[str, Any] | None = None) -> str:
    """Why a session of ``modality`` may not be booked or checked in for ``patient`` now, in words front desk and
    the patient both read; empty when their consents allow it. ``row``: ``intake_consent_facts``'s columns, read
    already (the booking read holds them)."""
    kinds = KINDS_FOR_MODALITY.get(modality, (ConsentKind.GENERAL,))
    for item in standings(patient, kinds) if row is None else standings_from_columns(row, patient, kinds):
        if item.blocks:
            return hold_words(patient, item)
    return ""


def hold_words(patient: Patient, item: Standing) -> str:
    """What holds up ``patient``'s sessions needing ``item``'s document (empty when nothing does)."""
    if item.withdrawn:
        assert item.latest is not None
        return _(
            "%(name)s withdrew the %(document)s on %(day)s. No session needing it can be booked or checked in "
            "until they sign it again (in their portal, under My care); sessions already booked are listed for "
            "front desk to call them about."
        ) % {"name": patient.full_name, "document": item.label, "day": format_day(item.latest.agreed_at)}
    if item.blocked_by is not None:
        assert item.blocked_by.published_at is not None
        return _(
            "%(name)s has not yet signed version %(version)s of the %(document)s, a material change published "
            "%(day)s. They can read and sign it in their portal, under My care; until then no session needing "
            "it can be booked or checked in."
        ) % {
            "name": patient.full_name,
            "version": item.blocked_by.version,
            "document": item.label,
            "day": format_day(item.blocked_by.published_at),
        }
    return ""


def general_signature(patient: Patient) -> ConsentRecord | None:
    """The patient's standing signature on the general consent (what an intake is submitted with), if any."""
    item = standing(patient, ConsentKind.GENERAL)
    if item.needs_signature or item.latest is None:
        return None
    return item.latest


def signature_stands(record_id: int | None, patient: Patient) -> bool:
    """Whether the general-consent signature ``record_id`` (saved with an intake step) still stands."""
    signature = general_signature(patient)
    return signature is not None and signature.pk == record_id


def record_for_patient(patient: Patient, pk: int) -> ConsentRecord:
    """One of the patient's own consent records; anyone else's is a 404."""
    record = ConsentRecord.objects.filter(patient=patient, pk=pk).first()
    if record is None:
        raise Http404
    return record


def version_of(record: ConsentRecord) -> ConsentVersion | None:
    """The text a record was made on (records from before the texts were kept here have none)."""
    return ConsentVersion.objects.filter(kind=record.kind, version=record.version).first()
