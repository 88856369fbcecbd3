"""TextNormalizer: the pipeline's first component normalises and screens payloads."""

from __future__ import annotations

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from clinic_assistant.components.text_normalizer import TextNormalizer

TRAINING = TrainingData(
    training_examples=[
        Message(data={"text": "how long does it\u00a0last", "intent": "faq"}),
        Message(data={"text": "hello there", "intent": "greet"}),
        Message(data={"text": "talk to a person", "intent": "human_handoff"}),
    ],
    responses={"utter_faq/duration": [{"text": "Duration: ..."}]},
)


@pytest.fixture(scope="module")
def normalizer(tmp_path_factory: pytest.TempPathFactory) -> TextNormalizer:
    """Trained on a tiny data set, then loaded back as Rasa would."""
    storage = LocalModelStorage(tmp_path_factory.mktemp("normalizer"))
    resource = Resource("text_normalizer")
    context = ExecutionContext(GraphSchema({}), "test")
    TextNormalizer.create({}, storage, resource, context).train(TRAINING)
    return TextNormalizer.load({}, storage, resource, context)


@pytest.mark.parametrize(
    "text, seen",
    [
        ("trouble\nbrea\u200bthing", "trouble breathing"),
        ("/faq/duration", "/faq/duration"),
        ("/greet", "/greet"),
        ("/human_handoff", "/human_handoff"),
        ("/faq", "faq"),
        ("/red_flag_emergency", ""),
        ('/red_flag_emergency{"red_flag_symptom": "x"}', "x"),
        ("/restart", "restart"),
        ("/ I cannot breathe", "I cannot breathe"),
        ("x" * 5000, "x" * 2000),
    ],
)
def test_the_nlu_sees_normalised_text_and_only_known_payloads(
    normalizer: TextNormalizer, text: str, seen: str
) -> None:
    (message,) = normalizer.process([Message(data={"text": text})])
    assert message.get("text") == seen


def test_training_examples_are_normalised_too(normalizer: TextNormalizer) -> None:
    data = normalizer.process_training_data(TRAINING)
    assert data.training_examples[0].get("text") == "how long does it last"
