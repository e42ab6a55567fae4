"""Score paper questionnaires that staff typed into a CSV file (used by ``manage.py score_responses``).

Input: a header line, then one row per completed form. Rating instruments use the columns ``item1``..``itemN``
holding the ratings as published (starting at 0). The C-SSRS uses ``q1``..``q6`` and ``q6_past_3_months`` holding
``yes`` or ``no``, blank where the branching skips the question. Any other column (a chart number, a date) is
copied through unchanged. Fully blank rows are skipped.

Output: the input columns, then ``total`` (blank for the C-SSRS) and ``band`` (lower case with underscores; blank
for the PCL-5 and the C-SSRS), then per instrument: phq9 ``item9_flag, major_depressive_syndrome``; gad7
``anxiety_eval_flag``; pcl5 ``cluster_b, cluster_c, cluster_d, cluster_e, provisional_ptsd, probable_ptsd``; ocir
``hoarding, checking, ordering, neutralizing, washing, obsessing, oci_ocd, ocd_flag``; cssrs ``risk``. Flags are
``true`` / ``false``. Scores come from the same functions as the online forms (``intake.scoring``).

A row that cannot be scored is left out of the output and reported as a RowError; the good rows are still scored.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from intake.instruments import Item, load_instrument

if TYPE_CHECKING:
    from _typeshed import SupportsWrite
from intake.scoring import PCL5_PROBABLE_CUTOFF, ScoringError, score_instrument

CSV_INSTRUMENTS = ("phq9", "gad7", "pcl5", "ocir", "cssrs")

EXTRA_COLUMNS: dict[str, tuple[str, ...]] = {
    "phq9": ("item9_flag", "major_depressive_syndrome"),
    "gad7": ("anxiety_eval_flag",),
    "pcl5": ("cluster_b", "cluster_c", "cluster_d", "cluster_e", "provisional_ptsd", "probable_ptsd"),
    "ocir": (
        "hoarding",
        "checking",
        "ordering",
        "neutralizing",
        "washing",
        "obsessing",
        "oci_ocd",
        "ocd_flag",
    ),
    "cssrs": ("risk",),
}

_WHOLE_NUMBER = re.compile(r"[+-]?\d+")
_YES_NO = {"yes": True, "no": False}


@dataclass(frozen=True)
class RowError:
    """``row_number`` is the line number in the CSV file, the header being line 1, so the first data row is 2:
    the row number a spreadsheet shows. (A record with a quoted line break is reported at its last line.)"""

    row_number: int
    reason: str


def input_columns(instrument: str) -> tuple[str, ...]:
    """The answer columns the CSV file must have for ``instrument``."""
    definition = load_instrument(instrument)
    items = definition.items if instrument == "cssrs" else definition.scored_items
    return tuple(item.key for item in items)


def output_columns(instrument: str) -> tuple[str, ...]:
    """The columns added after the input columns."""
    return ("total", "band", *EXTRA_COLUMNS[instrument])


def score_csv(
    instrument: str, reader: TextIO, writer: SupportsWrite[str], *, pcl5_cutoff: int = PCL5_PROBABLE_CUTOFF
) -> list[RowError]:
    """Score every row of ``reader`` into ``writer``; return the rows that could not be scored.

    Raises ValueError for an instrument that has no CSV format or a PCL-5 cut-off outside 1..80.
    """
    if instrument not in CSV_INSTRUMENTS:
        raise ValueError(f"Unknown instrument {instrument!r}; expected one of {', '.join(CSV_INSTRUMENTS)}.")
    if isinstance(pcl5_cutoff, bool) or not isinstance(pcl5_cutoff, int) or not 1 <= pcl5_cutoff <= 80:
        raise ValueError(f"The PCL-5 cut-off must be a whole number from 1 to 80; got {pcl5_cutoff!r}.")
    cutoffs: dict[str, Any] = {"probable_cutoff": pcl5_cutoff} if instrument == "pcl5" else {}
    definition = load_instrument(instrument)
    columns = input_columns(instrument)

    rows = csv.reader(reader)
    header = next(rows, None)
    if header is None:
        return [RowError(1, f"The file is empty; the first line must name the columns {', '.join(columns)}.")]
    header = [name.strip() for name in header]
    repeated = sorted({name for name in header if name and header.count(name) > 1})
    if repeated:
        return [RowError(1, f"Column(s) named more than once: {', '.join(repeated)}.")]
    missing = [column for column in columns if column not in header]
    if missing:
        return [RowError(1, f"Missing column(s) {', '.join(missing)}; expected {', '.join(columns)}.")]

    added = output_columns(instrument)
    # Copy the other named columns through; a stale "total" is recomputed and unnamed (trailing) columns dropped.
    passthrough = [name for name in header if name and name not in added]
    out = csv.writer(writer)
    out.writerow([*passthrough, *added])
    errors: list[RowError] = []
    for fields in rows:
        line = rows.line_num
        if not any(field.strip() for field in fields):
            continue
        if len(fields) > len(header):
            errors.append(
                RowError(line, f"The row has {len(fields)} fields but the header names {len(header)}.")
            )
            continue
        record = dict(zip(header, fields, strict=False))
        absent = [column for column in columns if column not in record]
        if absent:
            errors.append(RowError(line, f"Missing column(s) {', '.join(absent)} in this row."))
            continue
        try:
            answers = {column: _parse(definition.item(column), record[column]) for column in columns}
            score = score_instrument(instrument, answers, **cutoffs).as_dict()
        except ScoringError as exc:
            errors.append(RowError(line, exc.message))
            continue
        out.writerow(
            [*(record.get(name, "") for name in passthrough), *(_cell(score[name]) for name in added)]
        )
    return errors


def _parse(item: Item, raw: str) -> int | bool | None:
    text = raw.strip()
    if not text:
        return None  # blank: missing, or skipped by the branching; score_instrument knows which is allowed
    if all(type(value) is bool for value in item.values):
        if text.lower() not in _YES_NO:
            raise ScoringError(item.key, f"{item.label} must be yes, no or blank; got {text!r}.")
        return _YES_NO[text.lower()]
    if not _WHOLE_NUMBER.fullmatch(text):
        lowest, highest = min(item.values), max(item.values)  # type: ignore[type-var]  # int options
        raise ScoringError(
            item.key, f"{item.label} must be a whole number from {lowest} to {highest}; got {text!r}."
        )
    return int(text)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
