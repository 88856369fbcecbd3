"""The red-flag lexicon: the project's file, the pattern syntax and validation."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import pytest
import yaml

from clinic_assistant.red_flags.lexicon import (
    LEVELS,
    LEXICON_PATH,
    Gap,
    LexiconError,
    Slot,
    load_lexicon,
    parse_lexicon,
    parse_pattern,
)

CANONICAL = {
    "difficulty_breathing": "emergency",
    "difficulty_swallowing": "emergency",
    "choking": "emergency",
    "difficulty_speaking": "emergency",
    "allergic_reaction": "emergency",
    "vision_changes": "urgent",
    "drooping_eyelids": "urgent",
    "generalized_weakness": "urgent",
    "loss_of_bladder_control": "urgent",
    "voice_changes": "urgent",
}


def minimal(**overrides: Any) -> Dict[str, Any]:
    """The smallest valid lexicon data, with overrides."""
    data: Dict[str, Any] = {
        "version": 1,
        "classes": {"cant": ["can not", "unable to"]},
        "symptoms": [
            {"name": "choking", "level": "emergency", "patterns": ["choke"]},
            {"name": "voice_changes", "level": "urgent", "patterns": ["hoarse"]},
        ],
    }
    data.update(overrides)
    return data


def test_project_lexicon_has_the_canonical_symptoms_and_levels() -> None:
    lexicon = load_lexicon()
    assert {s.name: s.level for s in lexicon.symptoms} == CANONICAL
    # Lexicon order is the order of Detection.symptoms: emergencies first.
    assert list(lexicon.symptom_names) == list(CANONICAL)
    assert all(symptom.patterns and symptom.description for symptom in lexicon.symptoms)
    assert LEXICON_PATH.name == "red_flags.yml"


def test_project_lexicon_masks_neck_weakness_only_for_generalized_weakness() -> None:
    effects = {effect.name: effect.masks for effect in load_lexicon().expected}
    assert effects["local_weakness"] == ("generalized_weakness",)


def test_project_lexicon_lists_misspellings() -> None:
    spellings = load_lexicon().spellings
    assert spellings["swalow"] == "swallow"
    assert spellings["chocking"] == "choking"


def test_pattern_syntax() -> None:
    classes = {"cant": [("can", "not"), ("unable", "to")]}
    pattern = parse_pattern("@cant [really|kind_of] {very|so} swallow|gulp * water", classes)
    cant, optional, filler, verb, gap, noun = pattern.items
    assert cant == Slot((("can", "not"), ("unable", "to")))
    assert optional == Slot((("really",), ("kind", "of")), optional=True)
    assert filler == Slot((("very",), ("so",)), optional=True, filler=True)
    assert verb == Slot((("swallow",), ("gulp",)))
    assert gap == Gap(3)
    assert noun == Slot((("water",),))


def test_words_are_lowercased_and_duplicates_dropped() -> None:
    pattern = parse_pattern("Choke|choke|CHOKE", {})
    assert pattern.items == (Slot((("choke",),)),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty pattern"),
        ("[choke]", "at least one required word"),
        ("{very} [so]", "at least one required word"),
        ("* choke", "between words"),
        ("choke *", "between words"),
        ("trouble * * swallow", "two gaps"),
        ("[choke", "unbalanced"),
        ("{choke", "unbalanced"),
        ("choke|", "empty alternative"),
        ("@nope swallow", "unknown class '@nope'"),
        ("{very|kind_of} weak", "single words only"),
    ],
)
def test_bad_patterns(text: str, message: str) -> None:
    with pytest.raises(LexiconError, match=message):
        parse_pattern(text, {})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (["not", "a", "mapping"], "must be a mapping"),
        (minimal(version=2), "'version' must be 1"),
        (minimal(extra=1), "unknown top-level keys"),
        (minimal(symptoms=[]), "'symptoms' must be a non-empty list"),
        (minimal(symptoms="choking"), "'symptoms' must be a non-empty list"),
        (minimal(symptoms=["choking"]), r"symptoms\[0\]: must be a mapping"),
        (minimal(symptoms=[{"level": "urgent", "patterns": ["x"]}]), "'name' must be"),
        (
            minimal(symptoms=[{"name": "Bad Name", "level": "urgent", "patterns": ["x"]}]),
            "snake_case",
        ),
        (
            minimal(symptoms=[{"name": "choking", "level": "critical", "patterns": ["choke"]}]),
            r"unknown level 'critical' \(known: emergency, urgent\)",
        ),
        (
            minimal(symptoms=[{"name": "choking", "level": "emergency", "patterns": []}]),
            "'patterns' must be a non-empty list",
        ),
        (
            minimal(symptoms=[{"name": "choking", "level": "emergency"}]),
            "'patterns' must be a non-empty list",
        ),
        (
            minimal(symptoms=[{"name": "choking", "level": "emergency", "patterns": [3]}]),
            "a pattern must be a string",
        ),
        (
            minimal(symptoms=[{"name": "choking", "level": "emergency", "patterns": ["[x"]}]),
            r"\(choking\): pattern '\[x': unbalanced",
        ),
        (
            minimal(
                symptoms=[
                    {"name": "choking", "level": "emergency", "patterns": ["x"], "colour": "red"}
                ]
            ),
            "unknown keys",
        ),
        (
            minimal(
                symptoms=[
                    {"name": "choking", "level": "emergency", "patterns": ["a"]},
                    {"name": "choking", "level": "urgent", "patterns": ["b"]},
                ]
            ),
            "duplicate name 'choking'",
        ),
        (
            minimal(
                symptoms=[
                    {
                        "name": "choking",
                        "level": "emergency",
                        "patterns": [{"pattern": "hives", "requires": ["nope"]}],
                    }
                ]
            ),
            "requires unknown symptom 'nope'",
        ),
        (minimal(classes={"cant": []}), "class cant must be a non-empty list"),
        (minimal(classes={"cant": ["can not", False]}), "quote them"),
        (minimal(classes=["cant"]), "'classes' must be a mapping"),
        (minimal(spellings={"swallow": "swalow"}), "needs a non-empty list"),
        (minimal(spellings={"swallow": ["swalow"], "shallow": ["swalow"]}), "listed for both"),
        (
            minimal(expected=[{"name": "neck", "masks": ["nope"], "patterns": ["neck weak"]}]),
            "masks unknown symptom 'nope'",
        ),
        (
            minimal(expected=[{"name": "neck", "masks": [], "patterns": ["neck weak"]}]),
            "'masks' must be a non-empty list",
        ),
        (
            minimal(expected=[{"name": "choking", "masks": ["choking"], "patterns": ["x"]}]),
            "duplicate name 'choking'",
        ),
    ],
)
def test_validation_errors_are_clear(data: Any, message: str) -> None:
    with pytest.raises(LexiconError, match=message):
        parse_lexicon(data, source="test.yml")


def test_minimal_lexicon_is_valid() -> None:
    lexicon = parse_lexicon(minimal())
    assert lexicon.symptom_names == ("choking", "voice_changes")
    assert lexicon.symptom("voice_changes").level == "urgent"
    assert set(LEVELS) == {"emergency", "urgent"}


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(LexiconError, match="cannot read"):
        load_lexicon(tmp_path / "missing.yml")
    broken = tmp_path / "broken.yml"
    broken.write_text("symptoms: [unclosed", encoding="utf-8")
    with pytest.raises(LexiconError, match="not valid YAML"):
        load_lexicon(broken)
    good = tmp_path / "good.yml"
    good.write_text(yaml.safe_dump(minimal()), encoding="utf-8")
    assert load_lexicon(good).source == str(good)
