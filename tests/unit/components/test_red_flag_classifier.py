"""RedFlagClassifier: a danger sign overrides even a confident FAQ answer."""

from __future__ import annotations

import copy
import logging
from typing import Any, Dict, List, Optional

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.constants import SPACY_DOCS
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from spacy.language import Language

from clinic_assistant.components.red_flag_classifier import RedFlagClassifier
from clinic_assistant.nlp.pipeline import build_pipeline
from clinic_assistant.red_flags.decision import Assessment
from clinic_assistant.red_flags.net import SafetyNet

COMPONENT = "clinic_assistant.components.red_flag_classifier.RedFlagClassifier"


@pytest.fixture(scope="module")
def nlp() -> Language:
    """The project's spaCy pipeline, as SpacyNLP would load it."""
    return build_pipeline()


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> RedFlagClassifier:
    storage = LocalModelStorage(tmp_path_factory.mktemp("storage"))
    # The rules alone (no sentence encoder: a unit test); tests/red_flags covers the net.
    return RedFlagClassifier.create(
        {"second_opinion": False},
        storage,
        Resource("red_flag"),
        ExecutionContext(GraphSchema({}), "test"),
    )


def faq_message(
    text: str, nlp: Optional[Language] = None, entities: Optional[List[Dict[str, Any]]] = None
) -> Message:
    """A message as the pipeline before the component leaves it: a confident FAQ answer."""
    data: Dict[str, Any] = {
        TEXT: text,
        "intent": {"name": "faq", "confidence": 0.97},
        "intent_ranking": [
            {"name": "faq", "confidence": 0.97},
            {"name": "greet", "confidence": 0.02},
            {"name": "red_flag_emergency", "confidence": 0.01},
        ],
        "response_selector": {
            "all_retrieval_intents": ["faq"],
            "faq": {"response": {"intent_response_key": "faq/side_effects", "confidence": 0.95}},
        },
        "entities": entities or [],
    }
    message = Message(data=data)
    if nlp is not None:
        # SpacyNLP lowercases the text before making the Doc (case_sensitive: false).
        message.set(SPACY_DOCS[TEXT], nlp(text.lower()))
    return message


def test_registered_as_intent_classifier_and_entity_extractor() -> None:
    registered = DefaultV1Recipe._from_registry(COMPONENT)
    assert registered.clazz is RedFlagClassifier
    assert registered.types == {
        DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER,
        DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR,
    }
    assert registered.is_trainable is False


def test_overrides_a_confident_faq_answer(classifier: RedFlagClassifier, nlp: Language) -> None:
    text = "What are the side effects? Since yesterday I can't swallow properly"
    message = faq_message(text, nlp)
    classifier.process([message])

    assert message.get("intent") == {"name": "red_flag_emergency", "confidence": 1.0}
    ranking = message.get("intent_ranking")
    assert ranking[0] == {"name": "red_flag_emergency", "confidence": 1.0}
    assert [r["name"] for r in ranking] == ["red_flag_emergency", "faq", "greet"]
    (entity,) = message.get("entities")
    assert entity == {
        "entity": "red_flag_symptom",
        "value": "difficulty_swallowing",
        "start": text.index("can't"),
        "end": text.index("can't") + len("can't swallow"),
        "confidence_entity": 1.0,
        "extractor": "RedFlagClassifier",
    }
    assert message.get("red_flag") == {"level": "emergency", "symptoms": ["difficulty_swallowing"]}
    output = message.as_dict(only_output_properties=True)
    assert output["red_flag"]["level"] == "emergency"
    assert output["intent"]["name"] == "red_flag_emergency"


def test_urgent_with_several_symptoms_and_medicines_kept(
    classifier: RedFlagClassifier, nlp: Language
) -> None:
    text = "I'm on baclofen, my eyelid droops and my voice is hoarse"
    medicine = {
        "entity": "MUSCLE_RELAXER",
        "value": "baclofen",
        "start": 8,
        "end": 16,
        "extractor": "SpacyEntityExtractor",
    }
    message = faq_message(text, nlp, entities=[dict(medicine)])
    classifier.process([message])

    assert message.get("intent")["name"] == "red_flag_urgent"
    entities = message.get("entities")
    assert entities[0] == medicine
    assert [(e["entity"], e["value"]) for e in entities[1:]] == [
        ("red_flag_symptom", "drooping_eyelids"),
        ("red_flag_symptom", "voice_changes"),
    ]
    for entity in entities[1:]:
        assert text[entity["start"] : entity["end"]] in {"eyelid droops", "voice is hoarse"}
    assert message.get("red_flag") == {
        "level": "urgent",
        "symptoms": ["drooping_eyelids", "voice_changes"],
    }


@pytest.mark.parametrize(
    "text",
    [
        "Can botox cause trouble swallowing?",
        "I have no trouble breathing",
        "my neck feels a bit weak",
        "What if it spreads and I can't breathe?",
        "how long does it last",
    ],
)
def test_no_change_without_a_red_flag(
    classifier: RedFlagClassifier, nlp: Language, text: str
) -> None:
    message = faq_message(text, nlp)
    before = copy.deepcopy({k: v for k, v in message.data.items() if k != SPACY_DOCS[TEXT]})
    classifier.process([message])
    after = {k: v for k, v in message.data.items() if k != SPACY_DOCS[TEXT]}
    assert after == before
    assert "red_flag" not in message.output_properties


@pytest.mark.parametrize(
    "text", ["/faq/side_effects", '/inform{"note": "I can\'t breathe"}', "  /red_flag_emergency"]
)
def test_button_payloads_are_left_alone(classifier: RedFlagClassifier, text: str) -> None:
    message = faq_message(text)
    before = copy.deepcopy(message.data)
    classifier.process([message])
    assert message.data == before


def test_builds_its_own_doc_without_spacy_nlp(classifier: RedFlagClassifier) -> None:
    message = faq_message("My husband is choking!")
    classifier.process([message])
    assert message.get("red_flag") == {"level": "emergency", "symptoms": ["choking"]}
    assert message.get("entities")[0]["start"] == len("My husband is ")


def test_ignores_a_doc_of_other_text(classifier: RedFlagClassifier, nlp: Language) -> None:
    message = faq_message("I can't breathe")
    message.set(SPACY_DOCS[TEXT], nlp("hello there"))
    classifier.process([message])
    assert message.get("intent")["name"] == "red_flag_emergency"


def test_running_twice_does_not_duplicate(classifier: RedFlagClassifier, nlp: Language) -> None:
    message = faq_message("I keep choking", nlp)
    classifier.process([message])
    classifier.process([message])
    assert len(message.get("entities")) == 1
    assert [r["name"] for r in message.get("intent_ranking")].count("red_flag_emergency") == 1


def test_processes_a_batch(classifier: RedFlagClassifier, nlp: Language) -> None:
    messages = [faq_message("how much does it cost", nlp), faq_message("I'm seeing double", nlp)]
    classifier.process(messages)
    assert [m.get("intent")["name"] for m in messages] == ["faq", "red_flag_urgent"]


def test_never_logs_message_text(
    classifier: RedFlagClassifier, nlp: Language, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "my daughter Zelda can barely swallow"
    with caplog.at_level(logging.DEBUG):
        classifier.process([faq_message(secret, nlp)])
    assert "Zelda" not in caplog.text
    assert "barely" not in caplog.text
    assert "difficulty_swallowing" in caplog.text


class _Decided(SafetyNet):
    """The net's decision fixed, to test what the component does with each kind."""

    def __init__(self, assessment: Assessment) -> None:
        self._assessment = assessment

    def assess(self, text: str, doc: Any = None) -> Assessment:
        return self._assessment


def _with_net(assessment: Assessment, classifier: RedFlagClassifier) -> RedFlagClassifier:
    return RedFlagClassifier({}, classifier._detector, _Decided(assessment))


def test_an_unsure_net_asks_the_safety_question_and_keeps_the_answer(
    classifier: RedFlagClassifier,
) -> None:
    unsure = Assessment(ask_level="urgent", ask_symptoms=("ptosis",), language="en")
    message = faq_message("my eyelid feels a bit heavy, how long does it last?")
    _with_net(unsure, classifier).process([message])
    assert message.get("intent") == {"name": "red_flag_check_urgent", "confidence": 1.0}
    assert message.get("red_flag_check") == {
        "level": "urgent",
        "symptoms": ["ptosis"],
        "answer": "faq/side_effects",
    }
    assert "red_flag" not in message.output_properties  # not an escalation
    assert message.get("message_language") == "en"


def test_an_unsure_clarification_asks_without_an_answer(classifier: RedFlagClassifier) -> None:
    unsure = Assessment(ask_level="emergency", ask_symptoms=("difficulty_breathing",))
    message = faq_message("chest feels weird")
    message.set("intent", {"name": "nlu_fallback", "confidence": 0.3})
    _with_net(unsure, classifier).process([message])
    assert message.get("intent")["name"] == "red_flag_check_emergency"
    assert message.get("red_flag_check")["answer"] is None


@pytest.mark.parametrize(
    ("answer", "intent"),
    [("yes", "affirm"), ("no", "deny"), ("all_clear", "red_flag_all_clear")],
)
def test_a_bare_answer_becomes_the_intent_the_rules_read(
    classifier: RedFlagClassifier, answer: str, intent: str
) -> None:
    message = faq_message("sí, ahorita")
    _with_net(Assessment(answer=answer, language="es"), classifier).process([message])
    assert message.get("intent") == {"name": intent, "confidence": 1.0}
    assert message.get("intent_ranking")[0]["name"] == intent
    assert message.get("message_language") == "es"


@pytest.mark.parametrize(
    ("answer", "ends"), [("all_clear", "emergency"), ("clinic_contact", "urgent")]
)
def test_an_all_clear_says_what_it_ends(
    classifier: RedFlagClassifier, answer: str, ends: str
) -> None:
    message = faq_message("I called the clinic, they're seeing me today")
    _with_net(Assessment(answer=answer), classifier).process([message])
    assert message.get("intent")["name"] == "red_flag_all_clear"
    assert message.get("red_flag_all_clear_ends") == ends


def test_a_fired_net_escalates_with_its_language(classifier: RedFlagClassifier) -> None:
    fired = Assessment(level="emergency", symptoms=("difficulty_breathing",), language="es")
    message = faq_message("no puedo respirar desde la inyección")
    _with_net(fired, classifier).process([message])
    assert message.get("intent")["name"] == "red_flag_emergency"
    assert message.get("red_flag") == {"level": "emergency", "symptoms": ["difficulty_breathing"]}
    assert message.get("message_language") == "es"


def test_help_has_come_wins_over_a_safety_question(classifier: RedFlagClassifier) -> None:
    both = Assessment(ask_level="emergency", ask_symptoms=("difficulty_breathing",))
    both = Assessment(**{**both.__dict__, "answer": "all_clear", "language": "es"})
    message = faq_message("ya estoy en urgencias, gracias")
    _with_net(both, classifier).process([message])
    assert message.get("intent")["name"] == "red_flag_all_clear"
    assert message.get("red_flag_check") is None


@pytest.mark.parametrize(
    ("chosen", "answered"),
    [
        ("faq/visit_going_home", "faq/serious_risks"),
        ("faq/side_effects", "faq/side_effects"),  # already a risk answer: kept
    ],
)
def test_a_risk_question_gets_the_risk_facts(
    classifier: RedFlagClassifier, chosen: str, answered: str
) -> None:
    message = faq_message("can it make it hard to swallow?")
    message.get("response_selector")["faq"]["response"]["intent_response_key"] = chosen
    _with_net(Assessment(risk_question=True), classifier).process([message])
    response = message.get("response_selector")["faq"]["response"]
    assert response["intent_response_key"] == answered
    assert message.get("intent")["name"] == "faq"
    assert "red_flag" not in message.output_properties


def test_a_risk_question_inside_a_clarification_is_answered_too(
    classifier: RedFlagClassifier,
) -> None:
    message = faq_message("is double vision a side effect")
    message.set("intent", {"name": "nlu_fallback", "confidence": 0.3})
    _with_net(Assessment(risk_question=True), classifier).process([message])
    assert message.get("intent")["name"] == "faq"
    assert message.get("response_selector")["faq"]["response"]["utter_action"] == (
        "utter_faq/serious_risks"
    )
