"""AnswerGate's check by meaning: mixed scores, clarification, follow-ups, shorthand.

The sentence encoder is replaced by a tiny deterministic one (concept words ->
dimensions) so these tests need no model files; the real encoder is exercised by
the model tests and the running server.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.events import ActionExecuted, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from clinic_assistant.components import answer_gate
from clinic_assistant.components.answer_gate import AnswerGate

CONCEPTS = [
    {"last", "long", "wear", "weeks", "months"},
    {"work", "kick", "start", "soon", "days"},
    {"hello", "hi", "morning"},
    {"hurt", "pain", "sore"},
]


class ConceptEncoder:
    """Unit vectors from concept words; remembers what it was asked to encode."""

    def __init__(self) -> None:
        self.seen: List[str] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.seen.extend(texts)
        rows = []
        for text in texts:
            words = set(re.findall(r"[a-z]+", text.lower()))
            row = np.array([len(words & c) for c in CONCEPTS] + [0.3], dtype=np.float32)
            rows.append(row / np.linalg.norm(row))
        return np.vstack(rows) if rows else np.zeros((0, 4), dtype=np.float32)


def example(text: str, intent: str, key: Optional[str] = None) -> Message:
    data = {"text": text, "intent": intent}
    if key:
        data["intent_response_key"] = key
    return Message(data=data)


TRAINING = TrainingData(
    training_examples=[
        example("how long does it last", "faq", "faq/duration"),
        example("how many months does it wear", "faq", "faq/duration"),
        example("weeks it lasts", "faq", "faq/duration"),
        example("when does it start to work", "faq", "faq/onset"),
        example("how soon does it kick in", "faq", "faq/onset"),
        example("days until it works", "faq", "faq/onset"),
        example("does it hurt", "faq", "faq/visit_pain"),
        example("is it sore or painful", "faq", "faq/visit_pain"),
        example("pain of the needles", "faq", "faq/visit_pain"),
        example("hello", "greet"),
        example("hi good morning", "greet"),
    ],
    responses={
        "utter_faq/duration": [{"text": "D"}],
        "utter_faq/onset": [{"text": "O"}],
        "utter_faq/visit_pain": [{"text": "P"}],
    },
)
CONFIG = {
    "semantic_weight": 0.6,
    "semantic_c": 20.0,
    "combined_threshold": 0.3,
    "follow_up_weight": 0.3,
    "follow_up_max_words": 5,
}


@pytest.fixture()
def encoder(monkeypatch: pytest.MonkeyPatch) -> ConceptEncoder:
    fake = ConceptEncoder()
    monkeypatch.setattr(answer_gate, "shared_encoder", lambda: fake)
    return fake


@pytest.fixture()
def gate(encoder: ConceptEncoder, tmp_path: Path) -> AnswerGate:
    """Trained, then loaded back from the model storage as Rasa would."""
    storage = LocalModelStorage(tmp_path)
    resource = Resource("answer_gate")
    context = ExecutionContext(GraphSchema({}), "test")
    AnswerGate.create(CONFIG, storage, resource, context).train(TRAINING)
    return AnswerGate.load(CONFIG, storage, resource, context)


def nlu(text: str, answers: Dict[str, float], faq: float = 0.9, greet: float = 0.1) -> Message:
    """A message as DIET and the ResponseSelector leave it."""
    ranked = sorted(answers.items(), key=lambda item: -item[1])
    top = ranked[0][0]
    data: Dict[str, Any] = {
        "text": text,
        "intent": {"name": "faq" if faq >= greet else "greet", "confidence": max(faq, greet)},
        "intent_ranking": [
            {"name": "faq", "confidence": faq},
            {"name": "greet", "confidence": greet},
        ],
        "response_selector": {
            "all_retrieval_intents": ["faq"],
            "faq": {
                "response": {"intent_response_key": top, "confidence": ranked[0][1]},
                "ranking": [{"intent_response_key": k, "confidence": c} for k, c in ranked],
            },
        },
    }
    return Message(data=data)


def answer(msg: Message) -> str:
    name = str(msg.get("intent")["name"])
    if name == "faq":
        return str(msg.get("response_selector")["faq"]["response"]["intent_response_key"])
    return name


def with_previous(topic: str) -> DialogueStateTracker:
    parse = {
        "intent": {"name": "faq", "confidence": 1.0},
        "response_selector": {"faq": {"response": {"intent_response_key": topic}}},
    }
    events: List[Event] = [
        ActionExecuted("action_session_start"),
        UserUttered("earlier question", parse_data=parse),  # type: ignore[arg-type]
    ]
    return DialogueStateTracker.from_events("patient", events)


def test_the_meaning_overrules_an_n_gram_guess(gate: AnswerGate) -> None:
    """DIET leans to onset on shared words; the meaning (how long it lasts) wins."""
    msg = nlu("how many weeks and months will it wear", {"faq/onset": 0.6, "faq/duration": 0.4})
    gate.process([msg])
    assert answer(msg) == "faq/duration"
    assert msg.get("response_selector")["faq"]["response"]["utter_action"] == ("utter_faq/duration")
    assert 0.3 <= msg.get("intent")["confidence"] < 1.0


def test_agreeing_scores_give_the_answer(gate: AnswerGate) -> None:
    msg = gate.process([nlu("how soon will it start to work", {"faq/onset": 0.95})])[0]
    assert answer(msg) == "faq/onset"
    assert msg.get("answer_options") is None


SPREAD = {"faq/onset": 0.34, "faq/duration": 0.33, "faq/visit_pain": 0.33}


def test_unsure_on_both_sides_offers_the_two_likeliest(gate: AnswerGate) -> None:
    msg = nlu("long soon hurt", SPREAD, faq=0.5, greet=0.5)
    gate.process([msg])
    assert answer(msg) == "nlu_fallback"
    payloads = [option["payload"] for option in msg.get("answer_options")]
    assert len(payloads) == 2
    assert all(p.startswith("/faq/") for p in payloads)  # greet is not offerable


def test_a_short_follow_up_leans_on_the_previous_answer(gate: AnswerGate) -> None:
    text = "that: long soon hurt?"
    alone = gate.process([nlu(text, SPREAD, 0.5, 0.5)])[0]
    assert answer(alone) == "nlu_fallback"
    msg = nlu(text, SPREAD, 0.5, 0.5)
    gate.process([msg], tracker=with_previous("faq/duration"))
    assert answer(msg) == "faq/duration"


def test_a_full_new_question_is_not_pulled_to_the_previous_answer(gate: AnswerGate) -> None:
    msg = nlu("how soon after the injection does it start to work", {"faq/onset": 0.9})
    gate.process([msg], tracker=with_previous("faq/duration"))
    assert answer(msg) == "faq/onset"


def test_the_encoder_reads_shorthand_spelled_out(gate: AnswerGate, encoder: ConceptEncoder) -> None:
    gate.process([nlu("how many wks", {"faq/duration": 0.5, "faq/onset": 0.5})])
    assert encoder.seen[-1] == "how many weeks"


def test_payloads_and_unreadable_input_skip_the_encoder(
    gate: AnswerGate, encoder: ConceptEncoder
) -> None:
    before = len(encoder.seen)
    payload = gate.process([nlu("/faq/onset", {"faq/duration": 0.9})])[0]
    mash = gate.process([nlu("qwpoeiru zxmcnv", {"faq/duration": 0.9})])[0]
    assert answer(payload) == "faq/onset"
    assert answer(mash) == "unreadable_input"
    assert len(encoder.seen) == before


def test_a_model_without_its_semantic_weights_fails_to_load(
    encoder: ConceptEncoder, tmp_path: Path
) -> None:
    storage = LocalModelStorage(tmp_path)
    resource = Resource("answer_gate")
    context = ExecutionContext(GraphSchema({}), "test")
    off = {**CONFIG, "semantic_weight": 0.0}
    AnswerGate.create(off, storage, resource, context).train(TRAINING)
    with pytest.raises(ValueError, match="retrain"):
        AnswerGate.load(CONFIG, storage, resource, context)


def test_the_fingerprint_follows_the_shorthand_table() -> None:
    first = AnswerGate.fingerprint_addon(CONFIG)
    assert first and first == AnswerGate.fingerprint_addon(CONFIG)


def test_a_yes_or_no_is_never_read_from_likeness_alone(gate: AnswerGate) -> None:
    """Only DIET may read a message as an answer to the assistant's question."""
    config = {**CONFIG, "nlu_only_intents": ["greet"]}
    strict = AnswerGate(config, gate._model_storage, gate._resource, set(), set(), gate._semantic)
    strict._vocabulary, strict._encoder = gate._vocabulary, gate._encoder
    msg = nlu("hello hello good morning", {"faq/onset": 0.9}, faq=0.9, greet=0.1)
    strict.process([msg])
    assert answer(msg) == "nlu_fallback"
    agreed = nlu("hello hello good morning", {"faq/onset": 0.9}, faq=0.1, greet=0.9)
    strict.process([agreed])
    assert answer(agreed) == "greet"
