"""Where a patient stands with each consent document, read from the versions and the patient's records.

A signature stands until its document gets a material version after it; a minor version leaves it standing. The
document's first version is asked for (the intake signs the general one, the portal offers the treatment ones)
but holds nothing up: only a material version published later, or a withdrawal, stops new bookings and the
check-in of sessions already booked, until the patient signs the version in force."""

from __future__ import annotations

from dataclasses import dataclass

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
    """The patient's standing with each of ``kinds``, in that order (two queries whatever the number)."""
    versions: dict[str, list[ConsentVersion]] = {kind: [] for kind in kinds}
    for version in ConsentVersion.objects.filter(kind__in=kinds, published_at__isnull=False).order_by(
        "-number"
    ):
        versions[version.kind].append(version)
    latest: dict[str, ConsentRecord] = {}
    for record in ConsentRecord.objects.filter(patient=patient, kind__in=kinds).order_by("-agreed_at", "-pk"):
        latest.setdefault(record.kind, record)
    return [_standing(kind, versions[kind], latest.get(kind)) for kind in kinds]


def _standing(kind: str, versions: list[ConsentVersion], latest: ConsentRecord | None) -> Standing:
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


def standing(patient: Patient, kind: str) -> Standing:
    return standings(patient, [kind])[0]


def refusal(patient: Patient, modality: str) -> str:
    """Why a session of ``modality`` may not be booked or checked in for ``patient`` now, in words front desk and
    the patient both read; empty when their consents allow it."""
    for item in standings(patient, KINDS_FOR_MODALITY.get(modality, (ConsentKind.GENERAL,))):
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
