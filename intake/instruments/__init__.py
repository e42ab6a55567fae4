"""Screening instruments as data: one JSON file per instrument and version (``phq9.v1.json``, ...).

Each file carries the owner's published wording, the response options with their values, the look-back, the
branching, the scoring key, and the source, licence and citation (clinical-reference §1). This module reads the
files and checks each one on load, so a typo in a data file fails loudly instead of mis-scoring a patient.
The code and version come from the file's content (``cssrs_screener.v1.json`` holds the code ``cssrs``); the
version in the name must match.
No Django here: the loader only needs ``importlib.resources`` and ``json``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

# Baseline intake screeners (clinical-reference §4.2) and the re-screen before each session (§4.3): the PHQ-9 as
# published (2-week look-back) plus the C-SSRS "since last visit" screener.
BASELINE_CODES = ("phq9", "gad7", "pcl5", "ocir", "cssrs")
RESCREEN_CODES = ("phq9", "cssrs_since_last_visit")
INSTRUMENT_CODES = (*BASELINE_CODES, "cssrs_since_last_visit")

LICENCE_STATUSES = frozenset({"free", "public_domain_unconfirmed", "unverified", "restricted_electronic"})

OptionValue = int | bool | str

_FILE_NAME = re.compile(r"^(?P<stem>[a-z][a-z0-9_]*)\.v(?P<version>[1-9][0-9]*)\.json$")
_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
_TOP_LEVEL_FIELDS = frozenset(
    {
        "code",
        "version",
        "title",
        "short_title",
        "lookback",
        "instructions",
        "patient_instructions",
        "item_label",
        "response_options",
        "items",
        "scoring",
        "source",
        "licence_status",
        "licence",
        "licence_note",
        "citation",
        "wording_verified",
        "wording_note",
    }
)
_ITEM_FIELDS = frozenset(
    {"key", "number", "text", "options", "shown_if", "scored", "required", "label", "help_text"}
)
# An instruction to the person administering the questionnaire ("Ask questions 1 and 2"), which a patient filling
# it in must never read.
_INTERVIEWER_WORDING = re.compile(r"\bask (questions?|the (patient|person|respondent))\b", re.IGNORECASE)
_SCORING_FIELDS = frozenset({"method", "total_range", "bands", "subscales", "flags"})


class InstrumentDefinitionError(ValueError):
    """A data file breaks the rules below; the message names the file and the offending entry."""


class UnknownInstrumentError(LookupError):
    """No data file for that instrument code or version."""


@dataclass(frozen=True)
class Option:
    value: OptionValue
    label: str


@dataclass(frozen=True)
class ShownIf:
    """Ask the item only when an earlier item was answered ``equals`` (C-SSRS: Q3-Q5 only after a yes to Q2)."""

    item: str
    equals: OptionValue


@dataclass(frozen=True)
class Item:
    """One question. ``scored`` means the scoring rule reads it: it counts toward the total, or toward the risk
    rule of an instrument without a total (C-SSRS). The PHQ-9/GAD-7 difficulty question is not scored: the
    owner's manual keeps it out of the total and it is reported on its own."""

    key: str
    number: int | None
    text: str
    options: tuple[Option, ...]
    shown_if: ShownIf | None = None
    scored: bool = True
    required: bool = True
    label: str = ""
    help_text: str = ""

    @property
    def values(self) -> tuple[OptionValue, ...]:
        return tuple(option.value for option in self.options)

    def option_label(self, value: OptionValue) -> str:
        for option in self.options:
            if same_value(option.value, value):
                return option.label
        raise KeyError(value)


@dataclass(frozen=True)
class Band:
    code: str
    min: int
    max: int
    label: str


@dataclass(frozen=True)
class Subscale:
    name: str
    item_keys: tuple[str, ...]


@dataclass(frozen=True)
class InstrumentDefinition:
    code: str
    version: str
    title: str
    short_title: str
    lookback: str
    instructions: str  # the owner's, as published (for the C-SSRS: the interviewer's)
    patient_instructions: (
        str  # what the patient reads: the owner's unless the file words them for self-report
    )
    items: tuple[Item, ...]
    response_options: tuple[Option, ...]
    total_range: tuple[int, int] | None
    bands: tuple[Band, ...]
    subscales: tuple[Subscale, ...]
    scoring_notes: tuple[str, ...]
    source: str
    licence_status: str
    licence: str
    licence_note: str
    citation: str
    wording_verified: bool
    wording_note: str

    @property
    def attribution(self) -> str:
        """The source line a patient reads under the questionnaire: the owner's statement once its terms are
        known, else the published citation. A licence still being checked is the clinic's business, not the
        patient's ("Licence unverified..." was printed under the OCI-R)."""
        return self.citation if self.licence_status == "unverified" else self.licence

    @property
    def scored_items(self) -> tuple[Item, ...]:
        return tuple(item for item in self.items if item.scored)

    def item(self, key: str) -> Item:
        for item in self.items:
            if item.key == key:
                return item
        raise KeyError(f"{self.short_title} has no item {key!r}")

    def band_label(self, code: str) -> str:
        for band in self.bands:
            if band.code == code:
                return band.label
        raise KeyError(f"{self.short_title} has no band {code!r}")


def same_value(a: object, b: object) -> bool:
    """Equality that keeps ``True`` apart from ``1``: a yes/no answer is never a rating and vice versa."""
    return type(a) is type(b) and a == b


def load_instrument(code: str, version: str | None = None) -> InstrumentDefinition:
    """The definition of ``code`` at ``version`` ("1" or "v1"); the latest version when ``version`` is None."""
    versions = _registry().get(code)
    if not versions:
        raise UnknownInstrumentError(
            f"Unknown instrument {code!r}; expected one of {', '.join(INSTRUMENT_CODES)}."
        )
    if version is None:
        return versions[max(versions, key=int)]
    wanted = version.removeprefix("v")
    if wanted not in versions:
        known = ", ".join(sorted(versions, key=int))
        raise UnknownInstrumentError(f"{code} has no version {version!r}; available: {known}.")
    return versions[wanted]


def available_versions(code: str) -> tuple[str, ...]:
    return tuple(sorted(_registry().get(code, {}), key=int))


@cache
def _registry() -> dict[str, dict[str, InstrumentDefinition]]:
    registry: dict[str, dict[str, InstrumentDefinition]] = {}
    for entry in sorted(resources.files(__name__).iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        match = _FILE_NAME.match(entry.name)
        if match is None:
            raise InstrumentDefinitionError(f"{entry.name}: data files are named <name>.v<version>.json")
        try:
            data = json.loads(entry.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InstrumentDefinitionError(f"{entry.name}: not valid JSON ({exc})") from exc
        definition = parse_instrument(data, origin=entry.name)
        if definition.version != match["version"]:
            raise InstrumentDefinitionError(
                f"{entry.name}: the file says version {definition.version!r} but its name says {match['version']!r}"
            )
        if definition.version in registry.setdefault(definition.code, {}):
            raise InstrumentDefinitionError(
                f"{entry.name}: {definition.code} v{definition.version} is defined twice"
            )
        registry[definition.code][definition.version] = definition
    missing = set(INSTRUMENT_CODES) - set(registry)
    if missing:
        raise InstrumentDefinitionError(f"no data file for {', '.join(sorted(missing))}")
    return registry


def parse_instrument(data: Any, *, origin: str = "<data>") -> InstrumentDefinition:
    """Build and check one definition. Raises InstrumentDefinitionError naming ``origin`` and the bad entry."""

    def fail(message: str) -> InstrumentDefinitionError:
        return InstrumentDefinitionError(f"{origin}: {message}")

    if not isinstance(data, Mapping):
        raise fail("the top level must be an object")
    unknown = set(data) - _TOP_LEVEL_FIELDS
    if unknown:
        raise fail(f"unknown field(s) {', '.join(sorted(unknown))}")

    def text(
        field: str, *, mapping: Mapping[str, Any] = data, where: str = "", blank_ok: bool = False
    ) -> str:
        value = mapping.get(field)
        if not isinstance(value, str) or (not blank_ok and not value.strip()):
            raise fail(f"{where}{field} must be {'a' if blank_ok else 'a non-empty'} string")
        return value

    code = text("code")
    if not _KEY.match(code):
        raise fail(f"code {code!r} must be lower-case letters, digits and underscores")
    version = text("version")
    if not version.isdigit() or version.startswith("0"):
        raise fail(f"version {version!r} must be a whole number such as '1'")
    item_label = data.get("item_label", "Item")
    if not isinstance(item_label, str) or not item_label:
        raise fail("item_label must be a non-empty string")

    response_options = _parse_options(data.get("response_options"), fail, where="response_options")
    items = _parse_items(data.get("items"), response_options, item_label, fail)
    total_range, bands, subscales, notes = _parse_scoring(data.get("scoring"), items, fail)

    licence_status = text("licence_status")
    if licence_status not in LICENCE_STATUSES:
        raise fail(f"licence_status {licence_status!r} must be one of {', '.join(sorted(LICENCE_STATUSES))}")
    wording_verified = data.get("wording_verified")
    if not isinstance(wording_verified, bool):
        raise fail("wording_verified must be true or false")
    wording_note = text("wording_note", blank_ok=wording_verified)
    instructions = text("instructions")
    patient_instructions = text("patient_instructions") if "patient_instructions" in data else instructions
    if _INTERVIEWER_WORDING.search(patient_instructions):
        raise fail(
            "the instructions a patient reads tell an interviewer what to ask: word them for the patient in "
            "patient_instructions"
        )

    return InstrumentDefinition(
        code=code,
        version=version,
        title=text("title"),
        short_title=text("short_title"),
        lookback=text("lookback"),
        instructions=instructions,
        patient_instructions=patient_instructions,
        items=items,
        response_options=response_options,
        total_range=total_range,
        bands=bands,
        subscales=subscales,
        scoring_notes=notes,
        source=text("source"),
        licence_status=licence_status,
        licence=text("licence"),
        licence_note=text("licence_note", blank_ok=True),
        citation=text("citation"),
        wording_verified=wording_verified,
        wording_note=wording_note,
    )


def _parse_options(raw: Any, fail: Any, *, where: str) -> tuple[Option, ...]:
    if not isinstance(raw, list) or len(raw) < 2:
        raise fail(f"{where} must be a list of at least two options")
    options: list[Option] = []
    for index, entry in enumerate(raw):
        if not isinstance(entry, Mapping) or set(entry) != {"value", "label"}:
            raise fail(f"{where}[{index}] must be an object with exactly 'value' and 'label'")
        value, label = entry["value"], entry["label"]
        if not isinstance(value, int | str):
            raise fail(f"{where}[{index}] value {value!r} must be a whole number, true/false or a string")
        if not isinstance(label, str) or not label.strip():
            raise fail(f"{where}[{index}] label must be a non-empty string")
        options.append(Option(value=value, label=label))
    if len({type(option.value) for option in options}) != 1:
        raise fail(f"{where} mixes value types (numbers, true/false and strings must not be mixed)")
    values = [option.value for option in options]
    if len(set(values)) != len(values):
        raise fail(f"{where} has duplicate option values")
    if len({option.label for option in options}) != len(options):
        raise fail(f"{where} has duplicate option labels")
    return tuple(options)


def _parse_items(
    raw: Any, response_options: tuple[Option, ...], item_label: str, fail: Any
) -> tuple[Item, ...]:
    if not isinstance(raw, list) or not raw:
        raise fail("items must be a non-empty list")
    items: list[Item] = []
    seen_keys: dict[str, Item] = {}
    seen_numbers: set[int] = set()
    for index, entry in enumerate(raw):
        where = f"items[{index}]"
        if not isinstance(entry, Mapping):
            raise fail(f"{where} must be an object")
        unknown = set(entry) - _ITEM_FIELDS
        if unknown:
            raise fail(f"{where} has unknown field(s) {', '.join(sorted(unknown))}")
        key = entry.get("key")
        if not isinstance(key, str) or not _KEY.match(key):
            raise fail(f"{where} key {key!r} must be lower-case letters, digits and underscores")
        where = f"items[{index}] ({key!r})"
        if key in seen_keys:
            raise fail(f"{where}: duplicate item key")
        number = entry.get("number")
        if number is not None and (isinstance(number, bool) or not isinstance(number, int) or number < 1):
            raise fail(f"{where}: number must be a positive whole number or null")
        if number is not None and number in seen_numbers:
            raise fail(f"{where}: duplicate item number {number}")
        text = entry.get("text")
        if not isinstance(text, str) or not text.strip():
            raise fail(f"{where}: text must be a non-empty string")
        label = entry.get("label", f"{item_label} {number}" if number is not None else "")
        if not isinstance(label, str) or not label.strip():
            raise fail(f"{where}: an unnumbered item needs a label")
        help_text = entry.get("help_text", "")
        if not isinstance(help_text, str):
            raise fail(f"{where}: help_text must be a string")
        scored, required = entry.get("scored", True), entry.get("required", True)
        if not isinstance(scored, bool) or not isinstance(required, bool):
            raise fail(f"{where}: scored and required must be true or false")
        options = (
            _parse_options(entry["options"], fail, where=f"{where} options")
            if "options" in entry
            else response_options
        )
        shown_if = None
        if entry.get("shown_if") is not None:
            condition = entry["shown_if"]
            if not isinstance(condition, Mapping) or set(condition) != {"item", "equals"}:
                raise fail(f"{where}: shown_if must be an object with exactly 'item' and 'equals'")
            parent = seen_keys.get(condition["item"])
            if parent is None:
                raise fail(f"{where}: shown_if refers to {condition['item']!r}, which is not an earlier item")
            if not any(same_value(value, condition["equals"]) for value in parent.values):
                raise fail(
                    f"{where}: shown_if value {condition['equals']!r} is not an answer to {parent.key!r}"
                )
            shown_if = ShownIf(item=parent.key, equals=condition["equals"])
        item = Item(
            key=key,
            number=number,
            text=text,
            options=options,
            shown_if=shown_if,
            scored=scored,
            required=required,
            label=label,
            help_text=help_text,
        )
        items.append(item)
        seen_keys[key] = item
        if number is not None:
            seen_numbers.add(number)
    scored_numbers = [item.number for item in items if item.scored and item.number is not None]
    if scored_numbers != list(range(1, len(scored_numbers) + 1)):
        raise fail("numbered scored items must be numbered 1..N in order")
    return tuple(items)


def _parse_scoring(
    raw: Any, items: tuple[Item, ...], fail: Any
) -> tuple[tuple[int, int] | None, tuple[Band, ...], tuple[Subscale, ...], tuple[str, ...]]:
    if not isinstance(raw, Mapping):
        raise fail("scoring must be an object")
    unknown = set(raw) - _SCORING_FIELDS
    if unknown:
        raise fail(f"scoring has unknown field(s) {', '.join(sorted(unknown))}")
    method = raw.get("method")
    flags = raw.get("flags", [])
    if not isinstance(method, str) or not method.strip():
        raise fail("scoring.method must describe how the instrument is scored")
    if not isinstance(flags, list) or not all(isinstance(flag, str) for flag in flags):
        raise fail("scoring.flags must be a list of strings")

    scored = [item for item in items if item.scored]
    total_range: tuple[int, int] | None = None
    if raw.get("total_range") is not None:
        bounds = raw["total_range"]
        if not (isinstance(bounds, list) and len(bounds) == 2 and all(type(b) is int for b in bounds)):
            raise fail("scoring.total_range must be [min, max] or null")
        total_range = (bounds[0], bounds[1])
        for item in scored:
            if item.number is None or not all(type(value) is int for value in item.values):
                raise fail(
                    f"scored item {item.key!r} of a summed scale needs a number and whole-number options"
                )
        expected = (
            sum(min(item.values) for item in scored),  # type: ignore[misc]  # scored values are ints (checked above)
            sum(max(item.values) for item in scored),  # type: ignore[misc]
        )
        if total_range != expected:
            raise fail(
                f"scoring.total_range {list(total_range)} does not match the items' range {list(expected)}"
            )

    bands: list[Band] = []
    for index, entry in enumerate(raw.get("bands") or []):
        if not isinstance(entry, Mapping) or set(entry) != {"code", "min", "max", "label"}:
            raise fail(f"scoring.bands[{index}] must have exactly code, min, max and label")
        if not (type(entry["min"]) is int and type(entry["max"]) is int and entry["min"] <= entry["max"]):
            raise fail(f"scoring.bands[{index}] needs whole-number min <= max")
        bands.append(Band(code=entry["code"], min=entry["min"], max=entry["max"], label=entry["label"]))
    if bands:
        if total_range is None:
            raise fail("scoring.bands need a total_range")
        edges = (
            [total_range[0] - 1]
            + [edge for band in bands for edge in (band.min - 1, band.max)]
            + [total_range[1]]
        )
        if edges[0::2] != edges[1::2]:
            raise fail(
                "scoring.bands must run in order, without gaps or overlaps, over the whole total_range"
            )
        if len({band.code for band in bands}) != len(bands):
            raise fail("scoring.bands has duplicate codes")

    subscales: list[Subscale] = []
    raw_subscales = raw.get("subscales") or {}
    if not isinstance(raw_subscales, Mapping):
        raise fail("scoring.subscales must be an object of name -> item keys")
    scored_keys = {item.key for item in scored}
    used: set[str] = set()
    for name, keys in raw_subscales.items():
        if not isinstance(keys, list) or not keys or not all(isinstance(key, str) for key in keys):
            raise fail(f"scoring.subscales[{name!r}] must be a non-empty list of item keys")
        for key in keys:
            if key not in scored_keys:
                raise fail(f"scoring.subscales[{name!r}] refers to {key!r}, which is not a scored item")
            if key in used:
                raise fail(f"scoring.subscales: {key!r} is in more than one subscale")
            used.add(key)
        subscales.append(Subscale(name=name, item_keys=tuple(keys)))
    return total_range, tuple(bands), tuple(subscales), (method, *flags)
