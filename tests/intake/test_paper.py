"""Scoring paper forms from CSV, and the ``score_responses`` command around it. Plain functions and files: the
command is called as an object, so neither a database nor the app registry is needed."""

import csv
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from intake.management.commands.score_responses import Command
from intake.paper import RowError, input_columns, output_columns, score_csv
from intake.scoring import score_instrument


def run(instrument: str, text: str, **options) -> tuple[list[dict[str, str]], list[RowError], str]:
    out = io.StringIO()
    errors = score_csv(instrument, io.StringIO(text), out, **options)
    return list(csv.DictReader(io.StringIO(out.getvalue()))), errors, out.getvalue()


def line(*values) -> str:
    return ",".join(str(value) for value in values) + "\n"


def header(instrument: str, *extra: str) -> str:
    return line(*extra, *input_columns(instrument))


def test_phq9_rows_are_scored_with_the_published_columns():
    rows, errors, text = run("phq9", header("phq9") + line(3, 3, 3, 3, 3, 0, 0, 0, 1) + line(*[0] * 9))
    assert errors == []
    assert text.splitlines()[0] == (
        "item1,item2,item3,item4,item5,item6,item7,item8,item9,total,band,item9_flag,major_depressive_syndrome"
    )
    assert rows[0] == {
        **{f"item{n}": v for n, v in enumerate("333330001", start=1)},
        "total": "16",
        "band": "moderately_severe",
        "item9_flag": "true",
        "major_depressive_syndrome": "true",
    }
    assert (rows[1]["total"], rows[1]["band"], rows[1]["item9_flag"]) == ("0", "minimal", "false")


def test_gad7():
    rows, errors, _ = run("gad7", header("gad7") + line(2, 2, 2, 2, 1, 1, 0))
    assert errors == []
    assert (rows[0]["total"], rows[0]["band"], rows[0]["anxiety_eval_flag"]) == ("10", "moderate", "true")


@pytest.mark.parametrize(("cutoff", "probable"), [(33, "false"), (32, "true")])
def test_pcl5_with_its_cutoff(cutoff, probable):
    ratings = [2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0]  # total 32
    rows, errors, _ = run("pcl5", header("pcl5") + line(*ratings), pcl5_cutoff=cutoff)
    assert errors == []
    row = rows[0]
    assert (row["total"], row["band"], row["probable_ptsd"], row["provisional_ptsd"]) == (
        "32",
        "",
        probable,
        "true",
    )
    assert (row["cluster_b"], row["cluster_c"], row["cluster_d"], row["cluster_e"]) == ("10", "4", "14", "4")


def test_ocir():
    ratings = [4, 1, 1, 1, 1, 1, 4, 1, 1, 1, 1, 1, 4, 1, 1, 1, 1, 1]  # hoarding 12, the rest 15
    rows, errors, _ = run("ocir", header("ocir") + line(*ratings))
    assert errors == []
    row = rows[0]
    assert (row["total"], row["band"], row["oci_ocd"], row["ocd_flag"]) == ("27", "moderate", "15", "true")
    assert [row[name] for name in ("hoarding", "checking", "ordering", "neutralizing", "washing", "obsessing")] == [
        "12", "3", "3", "3", "3", "3",
    ]  # fmt: skip


def test_cssrs_blank_where_skipped():
    text = (
        header("cssrs") + line("yes", "no", "", "", "", "YES", "no") + line("no", "no", "", "", "", "no", "")
    )
    rows, errors, out = run("cssrs", text)
    assert errors == []
    assert out.splitlines()[0] == "q1,q2,q3,q4,q5,q6,q6_past_3_months,total,band,risk"
    assert [(row["risk"], row["total"], row["band"]) for row in rows] == [
        ("moderate", "", ""),
        ("none", "", ""),
    ]
    assert rows[0]["q6"] == "YES"  # input copied through as typed


def test_bad_rows_are_reported_by_line_number_and_good_rows_still_scored():
    text = (
        line("chart", *input_columns("phq9"))
        + line("A1", 1, 1, 1, 1, 1, 1, 1, 1, 1)  # line 2: good
        + line("A2", 1, 1, 4, 1, 1, 1, 1, 1, 1)  # line 3: out of range
        + line("A3", 1, 1, "", 1, 1, 1, 1, 1, 1)  # line 4: missing item
        + line("A4", 1, 1, "two", 1, 1, 1, 1, 1, 1)  # line 5: not a number
        + line("A5", 1, 1, 1.5, 1, 1, 1, 1, 1, 1)  # line 6: not a whole number
        + line("A6", 1, 1, 1, 1, 1, 1, 1, 1)  # line 7: a column short
        + line("A7", 1, 1, 1, 1, 1, 1, 1, 1, 1, 9)  # line 8: a field too many
        + line(*[""] * 10)  # line 9: blank, skipped
        + line("A8", 2, 2, 2, 2, 2, 2, 2, 2, 2)  # line 10: good
    )
    rows, errors, _ = run("phq9", text)
    assert [row["chart"] for row in rows] == ["A1", "A8"]
    assert [row["total"] for row in rows] == ["9", "18"]
    assert [error.row_number for error in errors] == [3, 4, 5, 6, 7, 8]
    reasons = [error.reason for error in errors]
    assert "Item 3" in reasons[0] and "0 to 3" in reasons[0]
    assert reasons[1] == "Item 3 is missing an answer."
    assert "'two'" in reasons[2]
    assert "'1.5'" in reasons[3]
    assert "item9" in reasons[4]
    assert "fields" in reasons[5]


def test_cssrs_bad_rows():
    text = (
        header("cssrs")
        + line("yes", "no", "no", "", "", "no", "")  # Q3 answered after a no to Q2
        + line("maybe", "no", "", "", "", "no", "")  # not yes/no
        + line("no", "no", "", "", "", "yes", "")  # Q6 yes without the 3-month follow-up
        + line("yes", "yes", "no", "yes", "no", "no", "")  # good: high
    )
    rows, errors, _ = run("cssrs", text)
    assert [row["risk"] for row in rows] == ["high"]
    assert [(error.row_number, error.reason.split()[0:2]) for error in errors] == [
        (2, ["Question", "3"]),
        (3, ["Question", "1"]),
        (4, ["Question", "6"]),
    ]
    assert "left blank" in errors[0].reason
    assert "yes, no or blank" in errors[1].reason


def test_a_missing_header_column_is_one_error_on_line_1():
    rows, errors, text = run("gad7", line(*input_columns("gad7")[:-1]) + line(0, 0, 0, 0, 0, 0))
    assert errors == [
        RowError(1, "Missing column(s) item7; expected item1, item2, item3, item4, item5, item6, item7.")
    ]
    assert text == ""


def test_an_empty_file():
    _, errors, _ = run("phq9", "")
    assert [error.row_number for error in errors] == [1]


def test_a_stale_score_column_is_recomputed_not_copied():
    rows, errors, text = run("gad7", line("total", *input_columns("gad7")) + line(99, *[1] * 7))
    assert errors == []
    assert text.splitlines()[0].count("total") == 1
    assert rows[0]["total"] == "7"


def test_unnamed_trailing_columns_are_ignored():
    rows, errors, text = run("gad7", line(*input_columns("gad7"), "", "") + line(*[1] * 7, "", ""))
    assert errors == []
    assert text.splitlines()[0].endswith("item7,total,band,anxiety_eval_flag")
    assert rows[0]["total"] == "7"


def test_header_names_are_trimmed_and_repeats_refused():
    rows, errors, _ = run("gad7", line(*(f" {c} " for c in input_columns("gad7"))) + line(*[3] * 7))
    assert (errors, rows[0]["band"]) == ([], "severe")
    _, errors, _ = run("gad7", line("item1", *input_columns("gad7")) + line(*[0] * 8))
    assert "more than once" in errors[0].reason


def test_the_csv_uses_the_same_scoring_as_the_forms():
    ratings = [2, 1, 0, 3, 2, 1, 0, 3, 2, 1, 0, 3, 2, 1, 0, 3, 2, 1]
    rows, _, _ = run("ocir", header("ocir") + line(*ratings))
    expected = score_instrument("ocir", {f"item{n}": r for n, r in enumerate(ratings, start=1)}).as_dict()
    for column in output_columns("ocir"):
        value = expected[column]
        assert rows[0][column] == (str(value).lower() if isinstance(value, bool) else str(value))


def test_score_csv_refuses_an_unknown_instrument_or_cutoff():
    with pytest.raises(ValueError, match="Unknown instrument"):
        score_csv("madrs", io.StringIO(""), io.StringIO())
    with pytest.raises(ValueError, match="cut-off"):
        score_csv("pcl5", io.StringIO(""), io.StringIO(), pcl5_cutoff=0)


# --- the management command --------------------------------------------------------------------------------------


def command(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(Command(), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_command_writes_to_stdout(tmp_path):
    source = tmp_path / "gad7.csv"
    source.write_text(header("gad7") + line(*[1] * 7), encoding="utf-8-sig")  # with a spreadsheet's BOM
    out, err = command("gad7", str(source))
    assert out.splitlines()[0].startswith("item1,")
    assert out.splitlines()[1].endswith(",7,mild,false")
    assert err == ""


def test_command_writes_good_rows_then_reports_bad_ones_and_exits_1(tmp_path):
    source, target = tmp_path / "phq9.csv", tmp_path / "scored.csv"
    source.write_text(header("phq9") + line(*[1] * 9) + line(*[1] * 8, 7), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command(Command(), "phq9", str(source), "--output", str(target), stdout=out, stderr=err)
    assert exited.value.code == 1
    assert err.getvalue() == "row 3: Item 9 must be a whole number from 0 to 3; got 7.\n"
    assert out.getvalue() == ""
    scored = list(csv.DictReader(target.open(newline="", encoding="utf-8")))
    assert [row["total"] for row in scored] == ["9"]


def test_command_pcl5_cutoff_option(tmp_path):
    source = tmp_path / "pcl5.csv"
    source.write_text(header("pcl5") + line(*[1] * 20), encoding="utf-8")
    out, _ = command("pcl5", str(source), "--pcl5-cutoff", "20")
    assert out.splitlines()[1].endswith(",true")  # probable_ptsd at total 20 with the cut-off at 20


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("madrs", "{source}"), "Unknown instrument"),
        (("phq9", "{missing}"), "not found"),
        (("phq9", "{latin1}"), "not UTF-8"),
        (("pcl5", "{source}", "--pcl5-cutoff", "0"), "cut-off"),
        (("phq9", "{source}", "--output", "{nodir}"), "No such file"),
    ],
)
def test_command_errors_are_clear(tmp_path, args, message):
    source, latin1 = tmp_path / "in.csv", tmp_path / "latin1.csv"
    source.write_text(header("phq9"), encoding="utf-8")
    latin1.write_bytes("chart,item1\nJosé,1\n".encode("latin-1"))
    paths = {
        "source": source,
        "missing": tmp_path / "nope.csv",
        "latin1": latin1,
        "nodir": tmp_path / "no" / "out.csv",
    }
    with pytest.raises(CommandError, match=message):
        command(*(arg.format(**paths) for arg in args))
