"""The instrument data files: they load, carry the owner's wording, licence and branching, agree with the scoring
rules, and a broken file is refused with a clear message. Plain functions: no database."""

import copy
import dataclasses
import json
from importlib import resources

import pytest

from intake.instruments import (
    BASELINE_CODES,
    INSTRUMENT_CODES,
    RESCREEN_CODES,
    InstrumentDefinitionError,
    UnknownInstrumentError,
    available_versions,
    load_instrument,
    parse_instrument,
)
from intake.scoring import (
    GAD7_BANDS,
    OCIR_SEVERITY_CUTPOINTS,
    OCIR_SUBSCALES,
    PCL5_CLUSTERS,
    PHQ9_BANDS,
    score_ocir,
)


def raw(stem: str) -> dict:
    return json.loads(
        resources.files("intake.instruments").joinpath(f"{stem}.v1.json").read_text(encoding="utf-8")
    )


@pytest.mark.parametrize("code", INSTRUMENT_CODES)
def test_every_instrument_loads_with_its_provenance(code):
    definition = load_instrument(code)
    assert definition.code == code
    assert (
        definition.version == "1" == load_instrument(code, "1").version == load_instrument(code, "v1").version
    )
    assert available_versions(code) == ("1",)
    assert definition.source.startswith("https://")
    assert definition.citation and definition.licence and definition.lookback and definition.instructions
    assert definition.wording_verified or definition.wording_note  # an unconfirmed wording always says why


def test_code_lists():
    assert BASELINE_CODES == ("phq9", "gad7", "pcl5", "ocir", "cssrs")
    assert set(RESCREEN_CODES) <= set(INSTRUMENT_CODES)
    assert "cssrs_since_last_visit" in INSTRUMENT_CODES


def test_unknown_instrument_or_version():
    with pytest.raises(UnknownInstrumentError, match="madrs"):
        load_instrument("madrs")
    with pytest.raises(UnknownInstrumentError, match="available: 1"):
        load_instrument("phq9", "2")


@pytest.mark.parametrize(
    ("code", "scored", "values", "lookback"),
    [
        ("phq9", 9, (0, 1, 2, 3), "2 weeks"),
        ("gad7", 7, (0, 1, 2, 3), "2 weeks"),
        ("pcl5", 20, (0, 1, 2, 3, 4), "past month"),
        ("ocir", 18, (0, 1, 2, 3, 4), "past month"),
        ("cssrs", 7, (True, False), "Past month"),
        ("cssrs_since_last_visit", 6, (True, False), "last visit"),
    ],
)
def test_items_options_and_lookback(code, scored, values, lookback):
    definition = load_instrument(code)
    assert len(definition.scored_items) == scored
    assert all(item.values == values for item in definition.scored_items)
    assert lookback in definition.lookback


def test_phq9_wording_and_difficulty_question():
    phq9 = load_instrument("phq9")
    assert (
        phq9.instructions
        == "Over the last 2 weeks, how often have you been bothered by any of the following problems?"
    )
    assert phq9.item("item1").text == "Little interest or pleasure in doing things"
    assert (
        phq9.item("item9").text
        == "Thoughts that you would be better off dead or of hurting yourself in some way"
    )
    assert [o.label for o in phq9.response_options] == [
        "Not at all",
        "Several days",
        "More than half the days",
        "Nearly every day",
    ]
    difficulty = phq9.item("functional")
    assert (difficulty.scored, difficulty.required, difficulty.number) == (False, False, None)
    assert difficulty.values == ("not_difficult", "somewhat", "very", "extremely")
    assert difficulty.option_label("very") == "Very difficult"


@pytest.mark.parametrize("code", ["phq9", "gad7"])
def test_phq_family_licence_is_the_owner_statement(code):
    definition = load_instrument(code)
    assert definition.licence_status == "free"
    assert "No permission required to reproduce, translate, display or distribute." in definition.licence
    assert "PRIME-MD" in definition.licence_note


def test_licences_of_the_others():
    assert load_instrument("pcl5").licence_status == "public_domain_unconfirmed"
    assert "[S]" in load_instrument("pcl5").licence_note
    ocir = load_instrument("ocir")
    assert ocir.licence_status == "unverified"
    assert "unverified" in ocir.licence.lower()
    for code in ("cssrs", "cssrs_since_last_visit"):
        definition = load_instrument(code)
        assert definition.licence_status == "restricted_electronic"
        assert "© 2008 The Research Foundation for Mental Hygiene" in definition.licence
        assert "Clario" in definition.licence_note


def test_cssrs_branching():
    screener = load_instrument("cssrs")
    for key in ("q3", "q4", "q5"):
        assert screener.item(key).shown_if.item == "q2"
        assert screener.item(key).shown_if.equals is True
    for key in ("q1", "q2", "q6"):
        assert screener.item(key).shown_if is None
    follow_up = screener.item("q6_past_3_months")
    assert (follow_up.shown_if.item, follow_up.shown_if.equals) == ("q6", True)
    assert follow_up.text == "Was this within the past three months?"
    assert "Collected pills" in screener.item("q6").help_text
    since = load_instrument("cssrs_since_last_visit")
    assert [item.key for item in since.items] == ["q1", "q2", "q3", "q4", "q5", "q6"]
    assert since.item("q6").text.startswith("Have you done anything")


def test_subscale_keys_match_the_scoring_rules():
    def numbers(code):
        return {
            s.name: tuple(int(k.removeprefix("item")) for k in s.item_keys)
            for s in load_instrument(code).subscales
        }

    assert numbers("ocir") == OCIR_SUBSCALES
    assert numbers("pcl5") == PCL5_CLUSTERS
    assert load_instrument("phq9").subscales == ()


def test_the_bands_scored_are_the_published_ones():
    """Kroenke 2001 and Spitzer 2006, as the data files must say (the scoring reads its bands from them)."""
    assert PHQ9_BANDS == (
        (4, "minimal"),
        (9, "mild"),
        (14, "moderate"),
        (19, "moderately_severe"),
        (27, "severe"),
    )
    assert GAD7_BANDS == ((4, "minimal"), (9, "mild"), (14, "moderate"), (21, "severe"))
    assert OCIR_SEVERITY_CUTPOINTS == (16, 28)
    for code in ("phq9", "gad7", "ocir"):
        definition = load_instrument(code)
        assert all(definition.band_label(band.code) for band in definition.bands)


def test_ocir_band_table_matches_the_scoring_function():
    definition = load_instrument("ocir")
    for band in definition.bands:
        for total in (band.min, band.max):
            ratings = [min(4, max(0, total - 4 * i)) for i in range(18)]
            assert score_ocir(ratings).band == band.code


def test_definitions_are_frozen():
    definition = load_instrument("phq9")
    with pytest.raises(dataclasses.FrozenInstanceError):
        definition.title = "changed"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        definition.items[0].text = "changed"  # type: ignore[misc]


# --- a broken file is refused ------------------------------------------------------------------------------------


def broken(stem: str, change) -> dict:
    data = copy.deepcopy(raw(stem))
    change(data)
    return data


@pytest.mark.parametrize(
    ("stem", "change", "message"),
    [
        ("phq9", lambda d: d["items"][1].update(key="item1"), "duplicate item key"),
        ("phq9", lambda d: d["items"][1].update(number=1), "duplicate item number"),
        ("phq9", lambda d: d["items"][1].update(shownif={"item": "item1", "equals": 1}), "unknown field"),
        ("phq9", lambda d: d.update(extra=1), "unknown field"),
        ("phq9", lambda d: d["response_options"][1].update(value=0), "duplicate option values"),
        ("phq9", lambda d: d["response_options"][1].update(value="1"), "mixes value types"),
        ("phq9", lambda d: d["response_options"][1].update(value=1.5), "whole number"),
        ("phq9", lambda d: d["response_options"][1].update(label=" "), "label"),
        ("phq9", lambda d: d.update(response_options=[{"value": 0, "label": "Only"}]), "at least two"),
        ("phq9", lambda d: d["items"][0].update(text=""), "text"),
        ("phq9", lambda d: d["items"][9].pop("label"), "needs a label"),
        ("phq9", lambda d: d["items"][2].update(number=30), "numbered 1..N"),
        ("phq9", lambda d: d["scoring"].update(total_range=[0, 26]), "does not match"),
        ("phq9", lambda d: d["scoring"]["bands"][1].update(min=6), "without gaps"),
        ("phq9", lambda d: d["scoring"]["bands"][4].update(max=26), "without gaps"),
        ("phq9", lambda d: d["scoring"]["bands"][1].update(code="minimal"), "duplicate codes"),
        ("phq9", lambda d: d.update(licence_status="maybe"), "licence_status"),
        ("phq9", lambda d: d.update(wording_verified=False, wording_note=""), "wording_note"),
        ("phq9", lambda d: d.update(wording_verified="yes"), "wording_verified"),
        ("phq9", lambda d: d.update(version="01"), "version"),
        ("phq9", lambda d: d.update(code="PHQ-9"), "code"),
        ("ocir", lambda d: d["scoring"]["subscales"]["washing"].append("item1"), "more than one subscale"),
        ("ocir", lambda d: d["scoring"]["subscales"].update(extra=["item19"]), "not a scored item"),
        (
            "cssrs_screener",
            lambda d: d["items"][2].update(shown_if={"item": "q9", "equals": True}),
            "not an earlier item",
        ),
        (
            "cssrs_screener",
            lambda d: d["items"][2].update(shown_if={"item": "q4", "equals": True}),
            "not an earlier item",
        ),
        (
            "cssrs_screener",
            lambda d: d["items"][2].update(shown_if={"item": "q2", "equals": 1}),
            "is not an answer",
        ),
        (
            "cssrs_screener",
            lambda d: d["items"][2].update(shown_if={"item": "q2"}),
            "exactly 'item' and 'equals'",
        ),
    ],
)
def test_a_broken_definition_is_refused_with_a_clear_message(stem, change, message):
    with pytest.raises(InstrumentDefinitionError, match=message) as caught:
        parse_instrument(broken(stem, change), origin=f"{stem}.v1.json")
    assert str(caught.value).startswith(f"{stem}.v1.json: ")


def test_parse_instrument_round_trips_a_good_file():
    assert parse_instrument(raw("phq9"), origin="phq9.v1.json") == load_instrument("phq9")


def test_the_top_level_must_be_an_object():
    with pytest.raises(InstrumentDefinitionError, match="object"):
        parse_instrument([1, 2, 3])


def test_each_questionnaire_form_has_its_own_questions_though_they_are_made_once():
    """The questions are made once per instrument and copied for each form: one patient's errors, answers and
    descriptions must never show on another's form, and a definition of the same code is never given another's
    questions."""
    from intake.forms import InstrumentForm

    phq9 = load_instrument("phq9")
    refused = InstrumentForm({"item1": "9"}, definition=phq9)
    assert not refused.is_valid()
    assert refused.fields["item1"].widget.attrs["aria-invalid"] == "true"
    assert "Please choose an answer to this question." in refused.errors["item2"]
    fresh = InstrumentForm(initial={"item1": 2}, definition=phq9)
    assert "aria-invalid" not in fresh.fields["item1"].widget.attrs
    assert "checked" in str(fresh["item1"]) and "checked" not in str(InstrumentForm(definition=phq9)["item1"])
    answered = InstrumentForm(
        {key: "1" for key in refused.fields} | {"functional": "not_difficult"}, definition=phq9
    )
    assert answered.is_valid(), answered.errors
    assert answered.answers()["item1"] == 1

    data = raw("phq9")
    data["items"][0]["text"] = "Reworded for this test"
    reworded = InstrumentForm(definition=parse_instrument(data, origin="test"))
    assert reworded.fields["item1"].label == "1. Reworded for this test"
    assert InstrumentForm(definition=phq9).fields["item1"].label != reworded.fields["item1"].label
