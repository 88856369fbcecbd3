"""AnswerGate: button payloads, unreadable input and the two confidence checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from clinic_assistant.components.answer_gate import VOCABULARY_FILE, AnswerGate

TRAINING = TrainingData(
    training_examples=[
        Message(data={"text": "how long does botax last", "intent": "faq"}),
        Message(data={"text": "is it sore after the jabs", "intent": "faq"}),
        Message(data={"text": "hello there", "intent": "greet"}),
    ],
    responses={
        "utter_faq/duration": [{"text": "Duration: ..."}],
        "utter_faq/onset": [{"text": "Onset of relief: ..."}],
        "utter_greet": [{"text": "Hello"}],
    },
)


# Explicit thresholds, so these tests do not move when config.yml is retuned.
# The NLU's own choice checked (semantic_weight 0): the check by meaning has its own
# tests in test_answer_gate_semantic.py.
CONFIG = {
    "intent_threshold": 0.55,
    "answer_threshold": 0.45,
    "ambiguity_margin": 0.08,
    "semantic_weight": 0.0,
}


@pytest.fixture(scope="module")
def gate(tmp_path_factory: pytest.TempPathFactory) -> AnswerGate:
    """A gate trained on a tiny data set, then loaded back as Rasa would."""
    storage = LocalModelStorage(tmp_path_factory.mktemp("gate"))
    resource = Resource("answer_gate")
    context = ExecutionContext(GraphSchema({}), "test")
    AnswerGate.create(CONFIG, storage, resource, context).train(TRAINING)
    return AnswerGate.load(CONFIG, storage, resource, context)


def message(
    text: str,
    intent: str = "faq",
    confidence: float = 0.95,
    answers: Optional[List[tuple[str, float]]] = None,
    ranking: Optional[List[tuple[str, float]]] = None,
) -> Message:
    """A message as the classifiers before the gate would leave it."""
    answers = answers if answers is not None else [("faq/duration", 0.9), ("faq/onset", 0.05)]
    data: Dict[str, Any] = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": [
            {"name": n, "confidence": c} for n, c in (ranking or [(intent, confidence)])
        ],
        "response_selector": {
            "all_retrieval_intents": ["faq"],
            "faq": {
                "response": {
                    "intent_response_key": answers[0][0] if answers else None,
                    "confidence": answers[0][1] if answers else 0.0,
                },
                "ranking": [{"intent_response_key": k, "confidence": c} for k, c in answers],
            },
        },
    }
    return Message(data=data)


def intent_of(msg: Message) -> str:
    return str(msg.get("intent")["name"])


def test_a_confident_answer_passes_unchanged(gate: AnswerGate) -> None:
    msg = gate.process([message("how long does botox last?")])[0]
    assert intent_of(msg) == "faq"
    assert msg.get("answer_options") is None


def test_a_button_payload_becomes_exactly_that_answer(gate: AnswerGate) -> None:
    msg = gate.process([message("/faq/onset", intent="greet", confidence=0.3)])[0]
    assert intent_of(msg) == "faq"
    assert msg.get("intent")["confidence"] == 1.0
    response = msg.get("response_selector")["faq"]["response"]
    assert response["utter_action"] == "utter_faq/onset"


def test_an_unknown_topic_payload_is_left_to_rasa(gate: AnswerGate) -> None:
    msg = gate.process([message("/faq/made_up", intent="greet", confidence=0.3)])[0]
    assert intent_of(msg) == "greet"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "🙂🙂🙂",
        "????!!!",
        "12345",
        "asdkfj qwpoeiru zxmcnv",
        "¿Cuánto tiempo tarda en hacer efecto?",
        "ボトックスはどのくらい続きますか",
    ],
)
def test_unreadable_input_is_flagged(gate: AnswerGate, text: str) -> None:
    assert intent_of(gate.process([message(text)])[0]) == "unreadable_input"


@pytest.mark.parametrize(
    "text", ["how long does botax last", "is it sore after the jabs?", "hello there 🙂"]
)
def test_english_with_typos_is_readable(gate: AnswerGate, text: str) -> None:
    assert intent_of(gate.process([message(text)])[0]) == "faq"


def test_low_intent_confidence_offers_the_two_likeliest(gate: AnswerGate) -> None:
    msg = gate.process(
        [
            message(
                "hmm my neck thing question",
                confidence=0.4,
                answers=[("faq/onset", 0.7), ("faq/duration", 0.2)],
                ranking=[("faq", 0.4), ("human_handoff", 0.35), ("greet", 0.25)],
            )
        ]
    )[0]
    assert intent_of(msg) == "nlu_fallback"
    payloads = [option["payload"] for option in msg.get("answer_options")]
    assert payloads == ["/human_handoff", "/faq/onset"]


def test_confident_intent_but_unsure_answer_is_not_given(gate: AnswerGate) -> None:
    """The case FallbackClassifier misses: the intent is sure, the answer is not."""
    msg = gate.process(
        [
            message(
                "when is it over",
                confidence=0.99,
                answers=[("faq/duration", 0.40), ("faq/onset", 0.35)],
            )
        ]
    )[0]
    assert intent_of(msg) == "nlu_fallback"
    assert [o["payload"] for o in msg.get("answer_options")] == ["/faq/duration", "/faq/onset"]


def test_two_answers_too_close_to_call(gate: AnswerGate) -> None:
    msg = gate.process(
        [message("timing?", confidence=0.99, answers=[("faq/duration", 0.50), ("faq/onset", 0.46)])]
    )[0]
    assert intent_of(msg) == "nlu_fallback"


def test_low_confidence_on_another_intent_falls_back_too(gate: AnswerGate) -> None:
    msg = gate.process([message("hello there", intent="greet", confidence=0.3)])[0]
    assert intent_of(msg) == "nlu_fallback"
    assert msg.get("intent_ranking")[0]["name"] == "nlu_fallback"


@pytest.mark.parametrize("content", [None, "{not json", '{"topics": []}'])
def test_a_model_without_its_vocabulary_fails_to_load(
    tmp_path: Path, content: Optional[str]
) -> None:
    storage = LocalModelStorage(tmp_path)
    resource = Resource("answer_gate")
    with storage.write_to(resource) as directory:
        if content is not None:
            (directory / VOCABULARY_FILE).write_text(content, "utf-8")
    context = ExecutionContext(GraphSchema({}), "test")
    with pytest.raises(ValueError, match="retrain"):
        AnswerGate.load(CONFIG, storage, resource, context)


def test_options_too_unlikely_are_not_offered(gate: AnswerGate) -> None:
    msg = gate.process(
        [message("hmm", confidence=0.99, answers=[("faq/duration", 0.2), ("faq/onset", 0.01)])]
    )[0]
    assert intent_of(msg) == "nlu_fallback"
    assert [o["payload"] for o in msg.get("answer_options")] == ["/faq/duration"]
