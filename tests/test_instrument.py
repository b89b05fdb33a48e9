"""Instrument loading and validation: every rule, each message naming the file and the path."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from pathlib import Path

import pytest
import yaml

from cbassess.instrument import (
    MAX_FILE_BYTES,
    Block,
    InstrumentError,
    Text,
    load_path,
    load_text,
    shipped_paths,
    text_blocks,
)

DATA = Path(__file__).parent / "data"
SHIPPED = Path(__file__).parent.parent / "cbassess" / "instruments" / "wco-cb-core-principles.yaml"
SOURCE = "mini.yaml"


def indicator(key: str, levels=range(3)) -> dict:
    return {
        "key": key,
        "question": f"Question {key}?",
        "guidance": f"Guidance {key}.",
        "descriptors": {value: f"{key} at level {value}" for value in levels},
    }


def minimal() -> dict:
    """A valid instrument: 3 principles × 1 indicator, scale 0–2. Tests mutate a fresh copy."""
    return {
        "key": "mini",
        "version": "1",
        "title": "Mini instrument",
        "scale": {
            "levels": [
                {"value": value, "label": f"Level {value}", "summary": f"Summary {value}"}
                for value in range(3)
            ],
        },
        "principles": [
            {"key": key, "title": f"Principle {key}", "indicators": [indicator(f"{key}.1")]}
            for key in ("AA", "BB", "CC")
        ],
    }


def dump(doc) -> str:
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


def load(doc):
    return load_text(dump(doc), source=SOURCE)


def rejected(doc, path: str, problem: str) -> InstrumentError:
    """Load `doc`, expect an InstrumentError at `path` whose problem contains `problem`."""
    with pytest.raises(InstrumentError) as info:
        load(doc)
    error = info.value
    assert error.source == SOURCE
    assert error.path == path
    assert problem in error.problem
    assert str(error) == f"{SOURCE}: {path}: {error.problem}"
    return error


def levels(*values: int) -> list[dict]:
    return [{"value": v, "label": f"Level {v}", "summary": f"Summary {v}"} for v in values]


# --------------------------------------------------------------------------- valid files


def test_minimal_instrument_loads():
    instrument = load(minimal())
    assert instrument.key == "mini"
    assert [p.key for p in instrument.principles] == ["AA", "BB", "CC"]
    assert [i.key for i in instrument.indicators] == ["AA.1", "BB.1", "CC.1"]
    assert instrument.scale.values == (0, 1, 2)


def test_plain_string_text_is_taken_as_english():
    instrument = load(minimal())
    assert dict(instrument.title.translations) == {"en": "Mini instrument"}


def test_optional_fields_load():
    doc = minimal()
    doc["description"] = {"en": "About", "fr": "À propos"}
    doc["scale"]["cumulative"] = False
    doc["scale"]["not_applicable"] = {"allowed": True, "label": {"en": "N/A", "fr": "S.O."}}
    doc["principles"][0]["summary"] = "Summary of AA"
    doc["principles"][0]["indicators"][0]["evidence_examples"] = ["A law", {"en": "A plan"}]
    instrument = load(doc)
    assert instrument.description.get("fr") == "À propos"
    assert instrument.scale.cumulative is False
    assert instrument.scale.not_applicable_allowed is True
    assert instrument.scale.not_applicable_label.get("fr") == "S.O."
    assert str(instrument.principles[0].summary) == "Summary of AA"
    assert [str(t) for t in instrument.indicators[0].evidence_examples] == ["A law", "A plan"]


def test_defaults_when_optional_fields_are_absent():
    instrument = load(minimal())
    assert instrument.description is None
    assert instrument.scale.cumulative is True
    assert instrument.scale.not_applicable_allowed is False
    assert str(instrument.scale.not_applicable_label) == "Not applicable"
    assert instrument.principles[0].summary is None
    assert instrument.indicators[0].evidence_examples == ()


def test_shipped_instrument_is_among_the_shipped_paths():
    assert SHIPPED in shipped_paths()


def test_shipped_instrument_has_five_principles_in_order():
    instrument = load_path(SHIPPED)
    assert [p.key for p in instrument.principles] == ["PW", "OC", "HD", "DR", "PA"]


def test_shipped_instrument_has_four_to_six_indicators_per_principle():
    instrument = load_path(SHIPPED)
    for principle in instrument.principles:
        assert 4 <= len(principle.indicators) <= 6, principle.key
        assert all(i.principle_key == principle.key for i in principle.indicators)


def test_shipped_instrument_has_five_levels_0_to_4_and_allows_not_applicable():
    scale = load_path(SHIPPED).scale
    assert scale.values == (0, 1, 2, 3, 4)
    assert (scale.minimum, scale.maximum) == (0, 4)
    assert scale.not_applicable_allowed is True


def test_shipped_instrument_has_french_principle_titles():
    instrument = load_path(SHIPPED)
    for principle in instrument.principles:
        assert "fr" in principle.title.translations, principle.key
    assert instrument.principle("PW").title.get("fr") == "Volonté politique"


def test_shipped_instrument_has_a_descriptor_for_every_level_of_every_indicator():
    instrument = load_path(SHIPPED)
    for item in instrument.indicators:
        assert tuple(item.descriptors) == instrument.scale.values, item.key


def test_other_framework_loads_with_levels_1_to_4_and_no_not_applicable():
    instrument = load_path(DATA / "other-framework.yaml")
    assert instrument.key == "trade-facilitation-mini"
    assert instrument.scale.values == (1, 2, 3, 4)
    assert instrument.scale.not_applicable_allowed is False
    assert [p.key for p in instrument.principles] == ["TF", "RM", "BA"]
    assert [i.key for i in instrument.indicators] == ["TF.1", "TF.2", "RM.1", "BA.1"]


def test_instrument_looks_up_indicators_and_principles_by_key():
    instrument = load(minimal())
    assert instrument.indicator("BB.1").principle_key == "BB"
    assert instrument.indicator("ZZ.1") is None
    assert instrument.principle("CC").key == "CC"
    assert instrument.principle("ZZ") is None


def test_scale_level_looks_up_by_value_and_rejects_values_off_the_scale():
    scale = load(minimal()).scale
    assert str(scale.level(1).label) == "Level 1"
    with pytest.raises(KeyError):
        scale.level(3)


# --------------------------------------------------------------------------- immutability


def test_loaded_objects_refuse_attribute_assignment():
    instrument = load(minimal())
    frozen = [
        (instrument, "key"),
        (instrument.scale, "cumulative"),
        (instrument.scale.levels[0], "value"),
        (instrument.principles[0], "key"),
        (instrument.indicators[0], "key"),
        (instrument.title, "translations"),
    ]
    for obj, name in frozen:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, name, "changed")


def test_descriptors_mapping_cannot_be_assigned_to():
    descriptors = load(minimal()).indicators[0].descriptors
    with pytest.raises(TypeError):
        descriptors[0] = Text({"en": "changed"})
    assert str(descriptors[0]) == "AA.1 at level 0"


def test_text_translations_cannot_be_assigned_to():
    title = load(minimal()).title
    with pytest.raises(TypeError):
        title.translations["en"] = "changed"


def test_principles_and_indicators_are_tuples():
    instrument = load(minimal())
    assert isinstance(instrument.principles, tuple)
    assert isinstance(instrument.indicators, tuple)
    assert isinstance(instrument.principles[0].indicators, tuple)
    assert isinstance(instrument.scale.levels, tuple)


# --------------------------------------------------------------------------- content hash


def test_content_hash_changes_when_one_character_of_the_text_changes():
    text = dump(minimal())
    changed = text.replace("Mini instrument", "Mini instrumenT")
    assert changed != text
    assert load_text(text).content_hash != load_text(changed).content_hash


def test_content_hash_is_the_same_for_the_same_text():
    text = dump(minimal())
    assert load_text(text, source="a.yaml").content_hash == load_text(
        text, source="b.yaml").content_hash


def test_content_hash_of_a_file_is_the_sha256_of_its_text():
    expected = hashlib.sha256(SHIPPED.read_bytes()).hexdigest()
    assert load_path(SHIPPED).content_hash == expected


# --------------------------------------------------------------------------- Text.get


def test_text_get_returns_the_requested_language():
    assert Text({"en": "Political will", "fr": "Volonté politique"}).get("fr") == (
        "Volonté politique")


def test_text_get_falls_back_to_english_for_a_missing_language():
    assert Text({"en": "Political will", "fr": "Volonté politique"}).get("es") == (
        "Political will")


def test_text_get_uses_the_base_language_of_a_regional_code():
    assert Text({"en": "Political will", "fr": "Volonté politique"}).get("fr-CA") == (
        "Volonté politique")


def test_text_get_prefers_the_exact_regional_text():
    text = Text({"en": "Colour", "en-US": "Color"})
    assert text.get("en-US") == "Color"
    assert text.get("en-GB") == "Colour"


def test_text_get_without_a_language_is_english():
    text = Text({"en": "Political will", "fr": "Volonté politique"})
    assert text.get() == "Political will"
    assert text.get(None) == "Political will"
    assert text.get("") == "Political will"
    assert str(text) == "Political will"


def test_loaded_text_keeps_every_language():
    doc = minimal()
    doc["principles"][0]["title"] = {"en": "Political will", "fr": "Volonté politique"}
    title = load(doc).principles[0].title
    assert title.get("fr-CA") == "Volonté politique"
    assert title.get("de") == "Political will"


# --------------------------------------------------------------------------- safe YAML


def test_python_object_tag_is_refused_and_not_executed(capfd):
    text = '!!python/object/apply:os.system ["echo hi"]\n'
    with pytest.raises(InstrumentError) as info:
        load_text(text, source=SOURCE)
    assert info.value.source == SOURCE
    assert "is not valid YAML" in info.value.problem
    assert "python/object/apply:os.system" in info.value.problem
    assert "hi" not in capfd.readouterr().out


def test_python_object_tag_inside_a_field_is_refused_and_leaves_no_trace(tmp_path):
    marker = tmp_path / "executed"
    text = dump(minimal()).replace(
        "title: Mini instrument",
        f'title: !!python/object/apply:os.system ["touch {marker}"]',
    )
    path = tmp_path / "evil.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InstrumentError) as info:
        load_path(path)
    assert str(path) in str(info.value)
    assert re.fullmatch(r"line \d+, column \d+", info.value.path)
    assert not marker.exists()


def test_python_name_tag_is_refused():
    with pytest.raises(InstrumentError, match="is not valid YAML"):
        load_text("key: !!python/name:os.system\n", source=SOURCE)


# --------------------------------------------------------------------------- file-level errors


def test_malformed_yaml_is_reported_with_line_and_column():
    text = "key: mini\ntitle: [unclosed\nversion: 1\n"
    with pytest.raises(InstrumentError) as info:
        load_text(text, source=SOURCE)
    assert info.value.path == "line 3, column 8"
    assert str(info.value).startswith(f"{SOURCE}: line 3, column 8: is not valid YAML (")


def test_yaml_with_a_tab_indent_is_reported_with_line_and_column():
    with pytest.raises(InstrumentError) as info:
        load_text("key: mini\n\ttitle: x\n", source=SOURCE)
    assert info.value.path == "line 2, column 1"
    assert "is not valid YAML" in info.value.problem


def test_empty_file_is_rejected_as_not_a_mapping():
    with pytest.raises(InstrumentError) as info:
        load_text("", source=SOURCE)
    assert str(info.value) == f"{SOURCE}: top level: must be a mapping of fields"


def test_non_utf8_file_is_rejected(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(dump(minimal()).replace("Mini", "Café").encode("latin-1"))
    with pytest.raises(InstrumentError) as info:
        load_path(path)
    assert str(info.value) == f"{path}: is not valid UTF-8 text"
    assert info.value.source == str(path)
    assert info.value.path == ""


def test_file_larger_than_the_limit_is_rejected(tmp_path):
    path = tmp_path / "big.yaml"
    text = dump(minimal())
    path.write_text(text + "#" * (MAX_FILE_BYTES + 1 - len(text)), encoding="utf-8")
    with pytest.raises(InstrumentError) as info:
        load_path(path)
    assert str(info.value) == f"{path}: is 1,000,001 bytes; the limit is 1,000,000"


def test_file_exactly_at_the_size_limit_loads(tmp_path):
    path = tmp_path / "limit.yaml"
    text = dump(minimal())
    path.write_text(text + "#" * (MAX_FILE_BYTES - len(text)), encoding="utf-8")
    assert path.stat().st_size == MAX_FILE_BYTES
    assert load_path(path).key == "mini"


def test_text_larger_than_the_limit_is_rejected():
    text = dump(minimal())
    with pytest.raises(InstrumentError) as info:
        load_text(text + "#" * (MAX_FILE_BYTES + 1 - len(text)), source=SOURCE)
    assert str(info.value) == f"{SOURCE}: is larger than 1,000,000 bytes"


def test_missing_file_cannot_be_read(tmp_path):
    path = tmp_path / "absent.yaml"
    with pytest.raises(InstrumentError) as info:
        load_path(path)
    assert str(info.value) == f"{path}: cannot be read (No such file or directory)"


def test_directory_cannot_be_read(tmp_path):
    with pytest.raises(InstrumentError) as info:
        load_path(tmp_path)
    assert str(info.value).startswith(f"{tmp_path}: cannot be read (")


def test_errors_from_a_file_name_the_file_and_the_path(tmp_path):
    doc = minimal()
    doc["principles"][1]["indicators"][0]["key"] = "BB-1"
    path = tmp_path / "bad.yaml"
    path.write_text(dump(doc), encoding="utf-8")
    with pytest.raises(InstrumentError) as info:
        load_path(path)
    assert str(info.value).startswith(f"{path}: principles[1].indicators[0].key: ")


# --------------------------------------------------------------------------- missing / unknown


@pytest.mark.parametrize(
    "path",
    [
        "key",
        "version",
        "title",
        "scale",
        "principles",
        "scale.levels",
        "scale.levels[1].label",
        "scale.levels[2].summary",
        "scale.levels[0].value",
        "principles[1].key",
        "principles[1].title",
        "principles[1].indicators",
        "principles[2].indicators[0].key",
        "principles[2].indicators[0].question",
        "principles[2].indicators[0].guidance",
        "principles[2].indicators[0].descriptors",
    ],
)
def test_missing_required_field_is_reported_with_its_path(path):
    doc = minimal()
    *parents, name = re.findall(r"\w+|\[\d+\]", path)
    target = doc
    for part in parents:
        target = target[int(part[1:-1])] if part.startswith("[") else target[part]
    del target[name]
    rejected(doc, path, "is missing")


def test_required_field_set_to_null_is_reported_missing():
    doc = minimal()
    doc["principles"][0]["title"] = None
    rejected(doc, "principles[0].title", "is missing")


def test_not_applicable_without_allowed_is_reported_missing():
    doc = minimal()
    doc["scale"]["not_applicable"] = {"label": "N/A"}
    rejected(doc, "scale.not_applicable.allowed", "is missing")


def test_unknown_top_level_field_is_rejected():
    doc = minimal()
    doc["colour"] = "blue"
    rejected(doc, "top level", "has unknown field 'colour'")


def test_unknown_scale_field_is_rejected():
    doc = minimal()
    doc["scale"]["weights"] = [1, 2]
    rejected(doc, "scale", "has unknown field 'weights'")


def test_unknown_level_field_is_rejected():
    doc = minimal()
    doc["scale"]["levels"][1]["colour"] = "red"
    rejected(doc, "scale.levels[1]", "has unknown field 'colour'")


def test_unknown_not_applicable_field_is_rejected():
    doc = minimal()
    doc["scale"]["not_applicable"] = {"allowed": True, "reason": "x"}
    rejected(doc, "scale.not_applicable", "has unknown field 'reason'")


def test_unknown_principle_field_is_rejected():
    doc = minimal()
    doc["principles"][2]["weight"] = 2
    rejected(doc, "principles[2]", "has unknown field 'weight'")


def test_unknown_indicator_field_is_rejected():
    doc = minimal()
    doc["principles"][1]["indicators"][0]["hint"] = "x"
    rejected(doc, "principles[1].indicators[0]", "has unknown field 'hint'")


# --------------------------------------------------------------------------- wrong types


def test_top_level_list_is_rejected():
    rejected([minimal()], "top level", "must be a mapping of fields")


def test_scale_that_is_not_a_mapping_is_rejected():
    doc = minimal()
    doc["scale"] = [0, 1, 2]
    rejected(doc, "scale", "must be a mapping of fields")


def test_level_that_is_not_a_mapping_is_rejected():
    doc = minimal()
    doc["scale"]["levels"][1] = 1
    rejected(doc, "scale.levels[1]", "must be a mapping of fields")


def test_principle_that_is_not_a_mapping_is_rejected():
    doc = minimal()
    doc["principles"][1] = "BB"
    rejected(doc, "principles[1]", "must be a mapping of fields")


def test_indicator_that_is_not_a_mapping_is_rejected():
    doc = minimal()
    doc["principles"][0]["indicators"][0] = "AA.1"
    rejected(doc, "principles[0].indicators[0]", "must be a mapping of fields")


def test_principles_that_are_not_a_list_are_rejected():
    doc = minimal()
    doc["principles"] = {"AA": doc["principles"][0]}
    rejected(doc, "principles", "must be a list")


def test_levels_that_are_not_a_list_are_rejected():
    doc = minimal()
    doc["scale"]["levels"] = "0-2"
    rejected(doc, "scale.levels", "must be a list")


def test_indicators_that_are_not_a_list_are_rejected():
    doc = minimal()
    doc["principles"][2]["indicators"] = doc["principles"][2]["indicators"][0]
    rejected(doc, "principles[2].indicators", "must be a list")


def test_evidence_examples_that_are_not_a_list_are_rejected():
    doc = minimal()
    doc["principles"][1]["indicators"][0]["evidence_examples"] = "A law"
    rejected(doc, "principles[1].indicators[0].evidence_examples", "must be a list")


def test_evidence_example_that_is_not_a_text_is_rejected():
    doc = minimal()
    doc["principles"][1]["indicators"][0]["evidence_examples"] = ["A law", ["nested"]]
    rejected(doc, "principles[1].indicators[0].evidence_examples[1]", "must be a string")


def test_title_that_is_a_list_is_rejected():
    doc = minimal()
    doc["title"] = ["Mini", "instrument"]
    rejected(doc, "title", "must be a string")


def test_question_that_is_a_boolean_is_rejected():
    doc = minimal()
    doc["principles"][0]["indicators"][0]["question"] = True
    rejected(doc, "principles[0].indicators[0].question", "must be a string")


def test_key_that_is_a_mapping_is_rejected():
    doc = minimal()
    doc["key"] = {"en": "mini"}
    rejected(doc, "key", "must be a string")


def test_translation_that_is_not_a_string_is_rejected():
    doc = minimal()
    doc["principles"][1]["title"] = {"en": "Principle", "fr": ["Principe"]}
    rejected(doc, "principles[1].title.fr", "must be a string")


def test_numeric_version_is_read_as_a_string():
    doc = minimal()
    doc["version"] = 2
    assert load(doc).version == "2"


def test_descriptors_that_are_not_a_mapping_are_rejected():
    doc = minimal()
    doc["principles"][1]["indicators"][0]["descriptors"] = ["zero", "one", "two"]
    rejected(doc, "principles[1].indicators[0].descriptors", "must map each level to a text")


@pytest.mark.parametrize("value", ["1", 1.5, True])
def test_level_value_that_is_not_a_whole_number_is_rejected(value):
    doc = minimal()
    doc["scale"]["levels"][1]["value"] = value
    rejected(doc, "scale.levels[1].value", "must be a whole number")


def test_cumulative_that_is_not_a_boolean_is_rejected():
    doc = minimal()
    doc["scale"]["cumulative"] = "yes"
    rejected(doc, "scale.cumulative", "must be true or false")


@pytest.mark.parametrize("value", ["yes", 1, "true"])
def test_not_applicable_allowed_that_is_not_a_boolean_is_rejected(value):
    doc = minimal()
    doc["scale"]["not_applicable"] = {"allowed": value}
    rejected(doc, "scale.not_applicable.allowed", "must be true or false")


def test_not_applicable_that_is_not_a_mapping_is_rejected():
    doc = minimal()
    doc["scale"]["not_applicable"] = True
    rejected(doc, "scale.not_applicable", "must be a mapping of fields")


# --------------------------------------------------------------------------- empty strings


def test_empty_title_is_rejected():
    doc = minimal()
    doc["title"] = ""
    rejected(doc, "title", "must not be empty")


def test_blank_guidance_is_rejected():
    doc = minimal()
    doc["principles"][2]["indicators"][0]["guidance"] = "   "
    rejected(doc, "principles[2].indicators[0].guidance", "must not be empty")


def test_empty_translation_is_rejected():
    doc = minimal()
    doc["scale"]["levels"][2]["label"] = {"en": "High", "fr": ""}
    rejected(doc, "scale.levels[2].label.fr", "must not be empty")


def test_empty_descriptor_is_rejected():
    doc = minimal()
    doc["principles"][0]["indicators"][0]["descriptors"][1] = ""
    rejected(doc, "principles[0].indicators[0].descriptors.1", "must not be empty")


def test_surrounding_whitespace_is_stripped():
    doc = minimal()
    doc["title"] = "  Mini instrument \n"
    assert str(load(doc).title) == "Mini instrument"


# --------------------------------------------------------------------------- key formats


@pytest.mark.parametrize("key", ["Mini", "mini check", "-mini", "mini_check", "mini.v1",
                                 "a" * 65])
def test_invalid_instrument_key_is_rejected(key):
    doc = minimal()
    doc["key"] = key
    rejected(doc, "key", "must be lower-case letters, digits and hyphens")


@pytest.mark.parametrize("key", ["mini-2", "0abc", "a" * 64])
def test_valid_instrument_key_is_accepted(key):
    doc = minimal()
    doc["key"] = key
    assert load(doc).key == key


@pytest.mark.parametrize("key", ["1B", "B--B", "-B", "B-", "B.B", "B B", "B_B", "A" * 21])
def test_invalid_principle_key_is_rejected(key):
    doc = minimal()
    doc["principles"][1]["key"] = key
    rejected(doc, "principles[1].key",
             "must start with a letter and hold letters, digits and single hyphens, "
             "at most 20 characters")


@pytest.mark.parametrize("key", ["G-SM", "bb", "Q1", "A-1-B", "A" * 20])
def test_principle_keys_of_real_frameworks_are_accepted(key):
    doc = minimal()
    doc["principles"][1]["key"] = key
    doc["principles"][1]["indicators"] = [indicator(f"{key}.1")]
    assert load(doc).principle(key).indicators[0].key == f"{key}.1"


@pytest.mark.parametrize("key", ["BB-1", "BB.", "BB..1", "BB.1.", "bb.1", "BB.1 2", "BB.-1",
                                 "BB.1_a"])
def test_invalid_indicator_key_is_rejected(key):
    doc = minimal()
    doc["principles"][1]["indicators"][0]["key"] = key
    rejected(doc, "principles[1].indicators[0].key", f"{key!r} must be BB.<code>")


@pytest.mark.parametrize("key", ["BB.0", "BB.100", "BB.x", "BB.1.2", "BB.01", "BB.1-a",
                                 "BB.2.b.iii"])
def test_nested_and_lettered_indicator_keys_are_accepted(key):
    doc = minimal()
    doc["principles"][1]["indicators"][0]["key"] = key
    assert load(doc).indicator(key) is not None


def test_indicator_key_longer_than_the_limit_is_rejected():
    doc = minimal()
    key = "BB." + "1" * 38
    doc["principles"][1]["indicators"][0]["key"] = key
    rejected(doc, "principles[1].indicators[0].key", "is longer than 40 characters")
    doc["principles"][1]["indicators"][0]["key"] = key[:-1]
    assert load(doc).indicator(key[:-1]) is not None


def test_indicator_key_not_prefixed_by_its_principle_is_rejected():
    doc = minimal()
    doc["principles"][1]["indicators"][0]["key"] = "AA.2"
    rejected(doc, "principles[1].indicators[0].key", "'AA.2' must be BB.<code>")


def test_indicator_key_with_the_principle_as_a_mere_prefix_is_rejected():
    doc = minimal()
    doc["principles"][1]["indicators"][0]["key"] = "BBB.1"
    rejected(doc, "principles[1].indicators[0].key", "must be BB.<code>")


def test_indicator_keys_that_differ_only_by_dots_and_hyphens_are_rejected():
    doc = minimal()
    doc["principles"][1]["indicators"] = [indicator("BB.1-2"), indicator("BB.1.2")]
    rejected(doc, "principles", "indicator keys 'BB.1-2' and 'BB.1.2' differ only by dots "
                                "and hyphens")


# --------------------------------------------------------------------------- level scores


def test_levels_score_their_value_unless_the_instrument_says_otherwise():
    scale = load(minimal()).scale
    assert scale.scores == (0.0, 1.0, 2.0)
    assert not scale.has_own_scores


def test_levels_may_carry_unequal_scores():
    doc = minimal()
    for level, score in zip(doc["scale"]["levels"], (0, 0.25, 1), strict=True):
        level["score"] = score
    scale = load(doc).scale
    assert scale.scores == (0.0, 0.25, 1.0)
    assert scale.has_own_scores
    assert (scale.minimum_score, scale.maximum_score, scale.score_of(1)) == (0.0, 1.0, 0.25)


@pytest.mark.parametrize("scores,index", [((0, 0.5, 0.5), 2), ((1, 0.5, 2), 1)])
def test_scores_that_do_not_increase_are_rejected(scores, index):
    doc = minimal()
    for level, score in zip(doc["scale"]["levels"], scores, strict=True):
        level["score"] = score
    rejected(doc, f"scale.levels[{index}].score", "scores must increase with the levels")


@pytest.mark.parametrize("score", ["high", True, float("nan"), [1]])
def test_a_score_that_is_not_a_number_is_rejected(score):
    doc = minimal()
    doc["scale"]["levels"][1]["score"] = score
    rejected(doc, "scale.levels[1].score", "must be a number")


# --------------------------------------------------------------------------- evidence


def test_evidence_threshold_of_the_scale_applies_to_every_indicator_unless_overridden():
    doc = minimal()
    doc["scale"]["evidence_required_from"] = 1
    doc["principles"][1]["indicators"][0]["evidence_required_from"] = 2
    doc["principles"][2]["indicators"][0]["evidence_required_from"] = None
    loaded = load(doc)
    assert loaded.indicator("AA.1").evidence_required_from == 1
    assert [loaded.indicator("AA.1").needs_evidence(v) for v in (None, 0, 1, 2)] == [
        False, False, True, True]
    assert loaded.indicator("BB.1").evidence_required_from == 2
    assert not loaded.indicator("CC.1").needs_evidence(2)


def test_no_threshold_means_no_claim_needs_evidence():
    loaded = load(minimal())
    assert not any(i.needs_evidence(2) for i in loaded.indicators)


@pytest.mark.parametrize("value", [3, -1, "2", True])
def test_an_evidence_threshold_off_the_scale_is_rejected(value):
    doc = minimal()
    doc["scale"]["evidence_required_from"] = value
    rejected(doc, "scale.evidence_required_from", "must be a level of the scale (0–2) or null")
    doc = minimal()
    doc["principles"][0]["indicators"][0]["evidence_required_from"] = value
    rejected(doc, "principles[0].indicators[0].evidence_required_from", "must be a level")


def test_answer_fields_are_those_the_instrument_lists():
    doc = minimal()
    assert load(doc).answer_fields == ()
    doc["answer_fields"] = ["confidence", "evidence_kind"]
    assert load(doc).answer_fields == ("confidence", "evidence_kind")
    doc["answer_fields"] = ["mood"]
    rejected(doc, "answer_fields[0]", "'mood' is not one of evidence_kind, confidence")
    doc["answer_fields"] = ["confidence", "confidence"]
    rejected(doc, "answer_fields[1]", "'confidence' is listed twice")


# --------------------------------------------------------------------------- wording


def test_wording_is_optional_translatable_text():
    doc = minimal()
    assert dict(load(doc).wording) == {}
    doc["wording"] = {"tagline": {"en": "Maturity check", "fr": "Diagnostic"},
                      "footer": "Built on the framework."}
    wording = load(doc).wording
    assert wording["tagline"].get("fr") == "Diagnostic"
    assert str(wording["footer"]) == "Built on the framework."
    doc["wording"] = {"slogan": "x"}
    rejected(doc, "wording", "has unknown field 'slogan'")


# --------------------------------------------------------------------------- prose blocks


def test_guidance_is_read_as_paragraphs_and_lists():
    text = ("Give the plan.\nAnd its date.\n\n- the plan\n- its budget,\n  over years\n"
            "1. first\n2) second\n\n<b>not markup</b>")
    assert text_blocks(text) == (
        Block("paragraph", ("Give the plan. And its date.",)),
        Block("list", ("the plan", "its budget, over years")),
        Block("numbered", ("first", "second")),
        Block("paragraph", ("<b>not markup</b>",)),
    )


def test_one_line_of_guidance_is_one_paragraph():
    assert text_blocks("Just this.") == (Block("paragraph", ("Just this.",)),)


# --------------------------------------------------------------------------- duplicates


def test_duplicate_principle_key_is_rejected_with_its_path():
    doc = minimal()
    doc["principles"][2]["key"] = "AA"
    doc["principles"][2]["indicators"] = [indicator("AA.2")]
    rejected(doc, "principles[2].key", "duplicate key 'AA'")


def test_duplicate_indicator_key_is_rejected_with_its_path():
    doc = minimal()
    doc["principles"][1]["indicators"].append(indicator("BB.1"))
    rejected(doc, "principles[1].indicators[1].key", "duplicate key 'BB.1'")


# --------------------------------------------------------------------------- counts


def test_too_few_principles_are_rejected():
    doc = minimal()
    del doc["principles"][2]
    rejected(doc, "principles", "has 2 principles; an instrument needs 3 to 15")


def test_too_many_principles_are_rejected():
    doc = minimal()
    doc["principles"] = [
        {"key": f"P{n}", "title": f"P{n}", "indicators": [indicator(f"P{n}.1")]}
        for n in range(16)
    ]
    rejected(doc, "principles", "has 16 principles; an instrument needs 3 to 15")


def test_fifteen_principles_are_accepted():
    doc = minimal()
    doc["principles"] = [
        {"key": f"P{n}", "title": f"P{n}", "indicators": [indicator(f"P{n}.1")]}
        for n in range(15)
    ]
    assert len(load(doc).principles) == 15


def test_principle_without_indicators_is_rejected():
    """With at least 3 principles of at least 1 indicator each, this is what enforces the
    minimum of 3 indicators in all (the "too few indicators in total" check cannot fire)."""
    doc = minimal()
    doc["principles"][0]["indicators"] = []
    rejected(doc, "principles[0].indicators", "must list at least one indicator")


def test_three_indicators_in_all_are_accepted():
    assert len(load(minimal()).indicators) == 3


def test_too_many_indicators_in_total_are_rejected():
    doc = minimal()
    doc["principles"][0]["indicators"] = [indicator(f"AA.{n}") for n in range(1, 99)]
    doc["principles"][1]["indicators"].append(indicator("BB.2"))
    rejected(doc, "principles", "has 101 indicators in all; an instrument needs 3 to 100")


def test_hundred_indicators_in_total_are_accepted():
    doc = minimal()
    doc["principles"][0]["indicators"] = [indicator(f"AA.{n}") for n in range(1, 99)]
    assert len(load(doc).indicators) == 100


def test_too_few_levels_are_rejected():
    doc = minimal()
    doc["scale"]["levels"] = levels(0)
    rejected(doc, "scale.levels", "has 1 levels; a scale needs 2 to 10")


def test_too_many_levels_are_rejected():
    doc = minimal()
    doc["scale"]["levels"] = levels(*range(11))
    rejected(doc, "scale.levels", "has 11 levels; a scale needs 2 to 10")


def test_ten_levels_are_accepted():
    doc = minimal()
    doc["scale"]["levels"] = levels(*range(1, 11))
    for principle in doc["principles"]:
        principle["indicators"] = [indicator(f"{principle['key']}.1", range(1, 11))]
    assert load(doc).scale.values == tuple(range(1, 11))


# --------------------------------------------------------------------------- level values


def test_non_consecutive_levels_are_rejected():
    doc = minimal()
    doc["scale"]["levels"] = levels(0, 2, 3)
    rejected(doc, "scale.levels[1].value",
             "is 2; levels must be consecutive and increasing (expected 1)")


def test_decreasing_levels_are_rejected():
    doc = minimal()
    doc["scale"]["levels"] = levels(1, 0)
    rejected(doc, "scale.levels[1].value", "is 0; levels must be consecutive and increasing")


def test_repeated_level_is_rejected():
    doc = minimal()
    doc["scale"]["levels"] = levels(0, 1, 1)
    rejected(doc, "scale.levels[2].value", "is 1; levels must be consecutive and increasing")


@pytest.mark.parametrize("first", [2, -1])
def test_lowest_level_other_than_0_or_1_is_rejected(first):
    doc = minimal()
    doc["scale"]["levels"] = levels(first, first + 1, first + 2)
    rejected(doc, "scale.levels[0].value", "the lowest level must be 0 or 1")


def test_scale_starting_at_1_is_accepted():
    doc = minimal()
    doc["scale"]["levels"] = levels(1, 2, 3)
    for principle in doc["principles"]:
        principle["indicators"] = [indicator(f"{principle['key']}.1", (1, 2, 3))]
    scale = load(doc).scale
    assert (scale.minimum, scale.maximum) == (1, 3)


# --------------------------------------------------------------------------- descriptors


def test_missing_descriptor_for_a_level_is_rejected():
    doc = minimal()
    del doc["principles"][1]["indicators"][0]["descriptors"][2]
    rejected(doc, "principles[1].indicators[0].descriptors", "has no descriptor for level 2")


@pytest.mark.parametrize("level", [3, -1])
def test_descriptor_for_a_level_outside_the_scale_is_rejected(level):
    doc = minimal()
    doc["principles"][2]["indicators"][0]["descriptors"][level] = "Beyond"
    rejected(doc, "principles[2].indicators[0].descriptors",
             f"level {level!r} is outside the scale (0–2)")


def test_descriptor_keyed_by_a_string_is_rejected():
    doc = minimal()
    descriptors = doc["principles"][0]["indicators"][0]["descriptors"]
    descriptors["1"] = descriptors.pop(1)
    rejected(doc, "principles[0].indicators[0].descriptors", "level '1' is outside the scale")


def test_descriptor_keyed_by_a_boolean_is_rejected():
    doc = minimal()
    descriptors = doc["principles"][0]["indicators"][0]["descriptors"]
    del descriptors[1]
    descriptors[True] = "Yes"  # True == 1 in a dict, so level 1 goes first
    rejected(doc, "principles[0].indicators[0].descriptors", "level True is outside the scale")


def test_descriptors_are_ordered_by_level():
    doc = minimal()
    doc["principles"][0]["indicators"][0]["descriptors"] = {2: "two", 0: "zero", 1: "one"}
    assert list(load(doc).indicators[0].descriptors) == [0, 1, 2]


# --------------------------------------------------------------------------- languages


def test_text_without_english_is_rejected():
    doc = minimal()
    doc["principles"][0]["title"] = {"fr": "Volonté politique"}
    rejected(doc, "principles[0].title", "needs an English ('en') text")


def test_descriptor_without_english_is_rejected():
    doc = minimal()
    doc["principles"][2]["indicators"][0]["descriptors"][0] = {"fr": "Rien"}
    rejected(doc, "principles[2].indicators[0].descriptors.0", "needs an English ('en') text")


@pytest.mark.parametrize("code", ["FR", "french", "fr_CA", "f", "fr-", "fr-C", "fr\n", 1])
def test_invalid_language_code_is_rejected(code):
    doc = minimal()
    doc["title"] = {"en": "Mini", code: "Autre"}
    rejected(doc, "title", f"has an invalid language code {code!r}")


@pytest.mark.parametrize("code", ["fr", "ara", "fr-CA", "zh-Hant"])
def test_valid_language_code_is_accepted(code):
    doc = minimal()
    doc["title"] = {"en": "Mini", code: "Autre"}
    assert load(doc).title.get(code) == "Autre"


# --------------------------------------------------------------------------- declared languages


def bilingual(doc: dict) -> dict:
    """`doc` with every text in English and French, declaring both."""
    def both(value):
        return {"en": value, "fr": f"{value} (fr)"} if isinstance(value, str) else value

    doc["languages"] = ["en", "fr"]
    doc["title"] = both(doc["title"])
    for level in doc["scale"]["levels"]:
        level["label"], level["summary"] = both(level["label"]), both(level["summary"])
    for principle in doc["principles"]:
        principle["title"] = both(principle["title"])
        for item in principle["indicators"]:
            item["question"], item["guidance"] = both(item["question"]), both(item["guidance"])
            item["descriptors"] = {k: both(v) for k, v in item["descriptors"].items()}
    return doc


def test_declared_languages_load_when_every_text_has_them():
    instrument = load(bilingual(minimal()))
    assert instrument.declared_languages == ("en", "fr")
    assert instrument.languages == {"en", "fr"}
    assert instrument.coverage() == {"en": (25, 25), "fr": (25, 25)}


def test_every_text_missing_a_declared_language_is_listed_at_once():
    doc = bilingual(minimal())
    doc["principles"][1]["title"] = "Principle BB"  # English only
    doc["principles"][2]["indicators"][0]["descriptors"][2] = {"en": "Top"}
    error = rejected(doc, "languages", "declares en, fr, but 2 texts are missing a translation")
    assert "principles[1].title (fr)" in error.problem
    assert "principles[2].indicators[0].descriptors.2 (fr)" in error.problem


def test_a_long_list_of_gaps_is_cut_with_a_count():
    doc = minimal()
    doc["languages"] = ["en", "fr"]
    error = rejected(doc, "languages", "25 texts are missing a translation")
    assert error.problem.count("(fr)") == 25
    doc["languages"] = ["en", "fr", "es"]
    assert "(fr, es)" in rejected(doc, "languages", "25 texts").problem


def test_a_not_applicable_label_left_to_its_english_default_is_a_gap():
    doc = bilingual(minimal())
    doc["scale"]["not_applicable"] = {"allowed": True}
    rejected(doc, "languages", "scale.not_applicable.label (fr)")
    doc["scale"]["not_applicable"]["label"] = {"en": "N/A", "fr": "S.O."}
    assert load(doc).scale.not_applicable_label.get("fr") == "S.O."


def test_a_text_in_an_undeclared_language_is_refused():
    doc = bilingual(minimal())
    doc["principles"][0]["summary"] = {"en": "About", "fr": "À propos", "es": "Acerca"}
    rejected(doc, "principles[0].summary", "has a text in 'es', which `languages` does not declare")


@pytest.mark.parametrize("languages, path, problem", [
    (["fr"], "languages", "must include English"),
    (["en", "en"], "languages", "lists a language twice"),
    (["en", "French"], "languages[1]", "is not a language code: 'French'"),
    ("en, fr", "languages", "must be a list"),
])
def test_a_malformed_languages_field_is_refused(languages, path, problem):
    doc = bilingual(minimal())
    doc["languages"] = languages
    rejected(doc, path, problem)


def test_without_a_declaration_partial_translations_fall_back_to_english():
    doc = minimal()
    doc["title"] = {"en": "Mini", "fr": "Mini (fr)"}
    instrument = load(doc)
    assert instrument.declared_languages is None
    assert instrument.coverage()["fr"] == (1, 25)
    assert instrument.principles[0].title.get("fr") == "Principle AA"


# --------------------------------------------------------------------------- shipped, in French

PREVIOUS = DATA / "wco-cb-core-principles-1.0.0.yaml"


def test_shipped_instrument_declares_english_and_french_and_has_both_everywhere():
    instrument = load_path(SHIPPED)
    assert instrument.declared_languages == ("en", "fr")
    total = len(list(instrument.texts()))
    assert instrument.coverage() == {"en": (total, total), "fr": (total, total)}
    assert total > 300
    assert [p.title.get("fr") for p in instrument.principles] == [
        "Volonté politique", "Appropriation et engagement", "Développement holistique",
        "Axé sur la demande et réactif", "Partenariats"]


def test_shipped_french_is_a_new_version_whose_english_is_that_of_1_0_0():
    """Adding the French changed the file, so it is a new version; its English is word for
    word the previous one's, so rounds on 1.0.0 and later ones measure against the same text."""
    previous, current = load_path(PREVIOUS), load_path(SHIPPED)
    assert (previous.version, current.version) == ("1.0.0", "1.2.0")
    assert previous.content_hash != current.content_hash
    assert [(path, text.get("en")) for path, text in previous.texts()] == [
        (path, text.get("en")) for path, text in current.texts()]


def _french_texts():
    instrument = load_path(SHIPPED)
    return [(path, text.get("fr")) for path, text in instrument.texts()]


def test_shipped_french_follows_french_typography():
    """A no-break space before : ; ? ! % and inside « », and typographic apostrophes."""
    problems = []
    for path, text in _french_texts():
        if re.search(r"[ ][:;?!%»]|«[ ]|'|\S[;?!»]|\w:", text):
            problems.append(f"{path}: {text[:80]}")
    assert problems == []


@pytest.mark.parametrize("english, french", [
    ("Political will", "Volonté politique"),
    ("capacity building", "renforcement des capacités"),
    ("Revised Kyoto Convention", "Convention de Kyoto révisée"),
    ("single window", "guichet unique"),
    ("donor", "bailleurs de fonds"),
    ("time release study", "étude sur le temps nécessaire pour la mainlevée"),
    ("steering committee", "comité de pilotage"),
    ("gap analysis", "analyse des écarts"),
    ("Revised Arusha Declaration", "Déclaration d’Arusha révisée"),
])
def test_shipped_french_uses_the_wcos_terms(english, french):
    """Where the English uses a term of the trade, the French uses the WCO's French for it."""
    instrument = load_path(SHIPPED)
    pairs = [(text.get("en"), text.get("fr")) for _, text in instrument.texts()]
    using = [(en, fr) for en, fr in pairs if english.lower() in en.lower()]
    assert using, english
    assert [en for en, fr in using if french.lower() not in fr.lower()] == []
