"""The conversation contract matches the domain, the rules and the lexicon, both ways."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Set

import pytest
import yaml
from rasa.shared.core.constants import DEFAULT_INTENTS

from clinic_assistant import contract
from clinic_assistant.contract import RedFlag, escalation_of, red_flag_of
from clinic_assistant.red_flags.lexicon import load_lexicon
from clinic_assistant.settings import PROJECT_ROOT


def _yaml_files(folder: str) -> List[Dict[str, Any]]:
    paths = sorted((PROJECT_ROOT / folder).rglob("*.yml"))
    assert paths, f"no YAML files under {folder}/"
    return [yaml.safe_load(Path(path).read_text("utf-8")) or {} for path in paths]


@pytest.fixture(scope="module")
def domain() -> Dict[str, Any]:
    """The domain/ files merged: intents, entities, actions, slots, responses."""
    merged: Dict[str, Any] = {
        "intents": set(),
        "entities": set(),
        "actions": set(),
        "slots": {},
        "responses": {},
    }
    for part in _yaml_files("domain"):
        for key in ("intents", "entities", "actions"):
            for item in part.get(key) or []:
                merged[key].add(next(iter(item)) if isinstance(item, dict) else item)
        merged["slots"].update(part.get("slots") or {})
        merged["responses"].update(part.get("responses") or {})
    return merged


@pytest.fixture(scope="module")
def rules() -> List[List[Dict[str, Any]]]:
    """Every rule's steps, from every file under data/rules/."""
    return [
        rule.get("steps") or []
        for part in _yaml_files("data/rules")
        for rule in part.get("rules") or []
    ]


def test_every_intent_of_the_contract_is_in_the_domain(domain: Dict[str, Any]) -> None:
    named = {*contract.RED_FLAG_INTENTS, contract.UNREADABLE_INTENT, contract.OUT_OF_SCOPE_INTENT}
    assert named <= domain["intents"]
    # Rasa's own, so it is not listed in the domain.
    assert contract.FALLBACK_INTENT in DEFAULT_INTENTS


def test_the_red_flag_names_of_the_domain_are_the_contracts(domain: Dict[str, Any]) -> None:
    red_intents = {name for name in domain["intents"] if name.startswith("red_flag")}
    assert red_intents == {
        *contract.RED_FLAG_INTENTS,
        *contract.CHECK_INTENTS,
        contract.ALL_CLEAR_INTENT,
    }
    assert {contract.AFFIRM_INTENT, contract.DENY_INTENT} <= domain["intents"]
    red_entities = {name for name in domain["entities"] if name.startswith("red_flag")}
    assert red_entities == {contract.SYMPTOM_ENTITY}
    assert contract.RECORD_ESCALATION_ACTION in domain["actions"]


def test_the_escalation_reference_slot_is_set_only_by_the_action(
    domain: Dict[str, Any],
) -> None:
    slot = domain["slots"][contract.ESCALATION_REF_SLOT]
    assert slot["influence_conversation"] is False  # it must not steer the dialogue
    assert slot["mappings"] == [{"type": "custom"}]
    # A mapping that names an action makes Rasa's action_extract_slots run that
    # action on every message: the record action must be run by the rules only.
    for name, other in domain["slots"].items():
        for mapping in other.get("mappings") or []:
            assert mapping.get("action") != contract.RECORD_ESCALATION_ACTION, name


def test_escalation_responses_carry_the_payload_of_their_level(domain: Dict[str, Any]) -> None:
    with_payload: Set[str] = set()
    for name, variations in domain["responses"].items():
        for variation in variations:
            payload = escalation_of(variation.get("custom"))
            if payload is not None:
                with_payload.add(name)
                assert (
                    name.removesuffix(contract.SPANISH_SUFFIX)
                    == (contract.RESPONSE_BY_LEVEL[payload.level])
                )
    # Exactly the escalation instructions carry it (GUIDE: no other reply does),
    # in English and in Spanish.
    instructions = set(contract.RESPONSE_BY_LEVEL.values())
    assert with_payload == instructions | {f"{n}{contract.SPANISH_SUFFIX}" for n in instructions}
    assert contract.CLARIFY_RESPONSE in domain["responses"]
    # The safety lines exist for both levels, and carry no payload (checked above).
    assert set(contract.SAFETY_LINE_BY_LEVEL) == set(contract.LEVELS)
    assert set(contract.SAFETY_LINE_BY_LEVEL.values()) <= set(domain["responses"])


def test_each_level_has_a_rule_that_answers_then_records(
    rules: List[List[Dict[str, Any]]],
) -> None:
    for level, intent in contract.INTENT_BY_LEVEL.items():
        actions_after = [
            [step.get("action") for step in steps[index + 1 :] if "action" in step]
            for steps in rules
            for index, step in enumerate(steps)
            if step.get("intent") == intent
        ]
        wanted = [contract.RESPONSE_BY_LEVEL[level], contract.RECORD_ESCALATION_ACTION]
        assert any(actions[:2] == wanted for actions in actions_after), (level, actions_after)


def test_every_spanish_variant_has_its_english_response(domain: Dict[str, Any]) -> None:
    responses = domain["responses"]
    spanish = [name for name in responses if name.endswith(contract.SPANISH_SUFFIX)]
    assert spanish
    for name in spanish:
        assert name.removesuffix(contract.SPANISH_SUFFIX) in responses, name


def test_each_unsure_level_asks_and_a_yes_escalates_at_that_level(
    domain: Dict[str, Any], rules: List[List[Dict[str, Any]]]
) -> None:
    for level in contract.LEVELS:
        question = contract.SAFETY_QUESTION_BY_LEVEL[level]
        assert question in domain["responses"]
        assert contract.REMINDER_BY_LEVEL[level] in domain["responses"]
        payloads = {b["payload"] for b in domain["responses"][question][0]["buttons"]}
        assert payloads == {f"/{contract.AFFIRM_INTENT}", f"/{contract.DENY_INTENT}"}
        asked = [
            steps
            for steps in rules
            if steps[:1] == [{"intent": contract.CHECK_INTENT_BY_LEVEL[level]}]
        ]
        assert [steps[1:] for steps in asked] == [[{"action": question}]]
        yes = [
            [step.get("action") for step in steps[2:]]
            for steps in rules
            if steps[:2] == [{"action": question}, {"intent": contract.AFFIRM_INTENT}]
        ]
        assert yes == [[contract.RESPONSE_BY_LEVEL[level], contract.RECORD_ESCALATION_ACTION]]


def test_the_lexicon_uses_the_contracts_levels() -> None:
    lexicon = load_lexicon()
    assert {symptom.level for symptom in lexicon.symptoms} == set(contract.LEVELS)
    assert contract.LEVELS[0] == contract.EMERGENCY  # highest first


def test_level_and_intent_maps_are_inverse() -> None:
    assert {contract.INTENT_BY_LEVEL[level] for level in contract.LEVELS} == set(
        contract.LEVEL_BY_INTENT
    )
    for intent, level in contract.LEVEL_BY_INTENT.items():
        assert contract.INTENT_BY_LEVEL[level] == intent


def _entity(value: Any) -> Dict[str, Any]:
    return {"entity": contract.SYMPTOM_ENTITY, "value": value}


@pytest.mark.parametrize(
    "parse_data, expected",
    [
        # The classifier's structured key wins.
        (
            {"intent": {"name": "faq"}, "red_flag": {"level": "urgent", "symptoms": ["ptosis"]}},
            RedFlag("urgent", ("ptosis",)),
        ),
        # Without it: level from the intent, symptoms from the entities, no repeats.
        (
            {
                "intent": {"name": "red_flag_emergency"},
                "entities": [
                    _entity("choking"),
                    {"entity": "medicine", "value": "eliquis"},
                    _entity("choking"),
                    _entity(7),
                ],
            },
            RedFlag("emergency", ("choking",)),
        ),
        # A malformed structured key falls back to the intent.
        (
            {"intent": {"name": "red_flag_urgent"}, "red_flag": {"level": "severe"}},
            RedFlag("urgent", ()),
        ),
        ({"intent": {"name": "faq"}, "entities": [_entity("choking")]}, None),
        ({"intent": None}, None),
        ({}, None),
        (None, None),
    ],
)
def test_red_flag_of(parse_data: Any, expected: Any) -> None:
    assert red_flag_of(parse_data) == expected


def test_payload_round_trips() -> None:
    flag = RedFlag("emergency", ("difficulty_breathing", "choking"))
    assert flag.payload() == {
        "escalation": {"level": "emergency", "symptoms": ["difficulty_breathing", "choking"]}
    }
    assert escalation_of(flag.payload()) == flag
    assert escalation_of({"escalation": {"level": "nope"}}) is None
    assert escalation_of(None) is None


def test_a_yes_confirms_the_unsure_flag_of_the_message_before() -> None:
    unsure = {
        "intent": {"name": contract.CHECK_INTENT_BY_LEVEL["urgent"]},
        contract.RED_FLAG_CHECK_KEY: {"level": "urgent", "symptoms": ["ptosis"]},
    }
    yes = {"intent": {"name": contract.AFFIRM_INTENT}}
    assert contract.confirmed_red_flag(yes, unsure) == RedFlag("urgent", ("ptosis",))
    assert contract.confirmed_red_flag({"intent": {"name": "faq"}}, unsure) is None
    assert contract.confirmed_red_flag(yes, {"intent": {"name": "faq"}}) is None
    flagged = {"intent": {"name": "red_flag_emergency"}, "entities": [_entity("choking")]}
    assert contract.confirmed_red_flag(flagged, unsure) == RedFlag("emergency", ("choking",))


def test_language_of() -> None:
    assert contract.language_of({contract.LANGUAGE_KEY: "es"}) == "es"
    assert contract.language_of({contract.LANGUAGE_KEY: "fr"}) == "en"
    assert contract.language_of(None) == "en"
