"""``manage.py score_responses INSTRUMENT INPUT.csv [--output OUT.csv]``: score paper forms typed into a CSV.

The scoring lives in ``intake.paper`` (pure); this command only opens files and reports. Rows that cannot be
scored are reported on stderr as ``row N: reason`` (N is the CSV line number) after the good rows are written,
and the command then exits with status 1.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from intake.paper import CSV_INSTRUMENTS, score_csv
from intake.scoring import PCL5_PROBABLE_CUTOFF


class Command(BaseCommand):
    help = (
        "Score paper questionnaires from a CSV file (columns item1..itemN, or q1..q6 and q6_past_3_months for "
        "cssrs) and write the input columns plus the scores as CSV."
    )
    requires_system_checks: list[str] = []  # reads and writes files only; no database

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("instrument", help=f"One of: {', '.join(CSV_INSTRUMENTS)}.")
        parser.add_argument("input", help="CSV file with a header line (UTF-8).")
        parser.add_argument(
            "--output", "-o", help="Where to write the scored CSV (default: standard output)."
        )
        parser.add_argument(
            "--pcl5-cutoff",
            type=int,
            default=PCL5_PROBABLE_CUTOFF,
            help=f"PCL-5 total at or above which probable_ptsd is true (default {PCL5_PROBABLE_CUTOFF}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        instrument: str = options["instrument"]
        if instrument not in CSV_INSTRUMENTS:
            raise CommandError(
                f"Unknown instrument {instrument!r}; expected one of {', '.join(CSV_INSTRUMENTS)}."
            )
        source = Path(options["input"])
        if not source.is_file():
            raise CommandError(f"Input file not found: {source}")
        try:
            # utf-8-sig: spreadsheets often start an exported CSV with a byte-order mark.
            with source.open(newline="", encoding="utf-8-sig") as reader:
                if options["output"]:
                    with open(options["output"], "w", newline="", encoding="utf-8") as writer:
                        errors = score_csv(instrument, reader, writer, pcl5_cutoff=options["pcl5_cutoff"])
                else:
                    errors = score_csv(instrument, reader, self.stdout, pcl5_cutoff=options["pcl5_cutoff"])
        except UnicodeDecodeError as exc:
            raise CommandError(
                f"{source} is not UTF-8 text; save it from the spreadsheet as 'CSV UTF-8'."
            ) from exc
        except (OSError, ValueError, csv.Error) as exc:  # unreadable file, bad cut-off, malformed CSV
            raise CommandError(str(exc)) from exc
        for error in errors:
            self.stderr.write(f"row {error.row_number}: {error.reason}")
        if errors:
            sys.exit(1)
