from decimal import Decimal

import pytest

from intake.medications import diazepam_equivalent_mg_per_day, medication_class


@pytest.mark.parametrize(
    ("name", "dose", "times", "expected"),
    [
        ("clonazepam", "1", "2", "40.0"),  # 0.5 mg clonazepam ~ 10 mg diazepam (Ashton)
        ("Xanax", "0.25", "3", "15.0"),
        ("lorazepam 1mg", "1", None, "10.0"),
        ("diazepam", "5", "1", "5.0"),
    ],
)
def test_benzodiazepine_doses_convert_to_diazepam_equivalents(name, dose, times, expected):
    result = diazepam_equivalent_mg_per_day(name, Decimal(dose), Decimal(times) if times else None)
    assert result == Decimal(expected)


def test_unknown_benzodiazepine_or_missing_dose_gives_none():
    assert diazepam_equivalent_mg_per_day("midazolam", Decimal(1), None) is None
    assert diazepam_equivalent_mg_per_day("clonazepam", None, None) is None


@pytest.mark.parametrize(
    ("name", "chosen", "expected"),
    [
        ("Adderall XR", "", "stimulant"),
        ("lamictal", "", "lamotrigine"),
        ("aspirin", "", ""),
        ("aspirin", "opioid", "opioid"),
    ],
)
def test_medication_classes_come_from_the_name_unless_chosen(name, chosen, expected):
    assert medication_class(name, chosen) == expected
