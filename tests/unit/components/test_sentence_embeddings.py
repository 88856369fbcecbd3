"""SentenceEmbeddingFeaturizer: one 384-d dense sentence feature per message."""

from __future__ import annotations

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from clinic_assistant.components.sentence_embeddings import SentenceEmbeddingFeaturizer
from clinic_assistant.embeddings.encoder import DIMENSIONS

# It runs the real encoder on the verified model files (`make setup` builds them).
pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def featurizer(tmp_path_factory: pytest.TempPathFactory) -> SentenceEmbeddingFeaturizer:
    storage = LocalModelStorage(tmp_path_factory.mktemp("embed"))
    context = ExecutionContext(GraphSchema({}), "test", node_name="embed")
    config = {"alias": "sentence_embeddings", "batch_size": 2}
    return SentenceEmbeddingFeaturizer.create(config, storage, Resource("embed"), context)


def sentence_vector(message: Message) -> np.ndarray:
    dense = [f for f in message.features if f.type == "sentence" and not f.is_sparse()]
    assert len(dense) == 1 and dense[0].origin == "sentence_embeddings"
    return np.asarray(dense[0].features)[0]


def test_each_message_gets_one_unit_sentence_vector(
    featurizer: SentenceEmbeddingFeaturizer,
) -> None:
    messages = [Message(data={"text": t}) for t in ("how long does it last?", "hi", "x")]
    featurizer.process(messages)
    for message in messages:
        vector = sentence_vector(message)
        assert vector.shape == (DIMENSIONS,)
        assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-4


def test_training_examples_are_featurized_in_batches(
    featurizer: SentenceEmbeddingFeaturizer,
) -> None:
    texts = ["does it hurt", "is it painful", "when does it start working", "hello"]
    data = TrainingData([Message(data={"text": t, "intent": "faq"}) for t in texts])
    featurizer.process_training_data(data)
    pain, painful, onset, _ = (sentence_vector(m) for m in data.training_examples)
    # A paraphrase lies nearer its twin than a question about something else.
    assert float(pain @ painful) > float(pain @ onset)
