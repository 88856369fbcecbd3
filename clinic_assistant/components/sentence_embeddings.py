"""SentenceEmbeddingFeaturizer: pretrained sentence embeddings as dense features.

Bag-of-n-gram features only know the words of the training data; a paraphrase in
other words ("am I conscious during it") shares none of them. The project's
sentence encoder (``clinic_assistant.embeddings``: all-MiniLM-L6-v2, hash-checked,
mean pooled, unit length) maps a whole message to 384 numbers in which
paraphrases lie close together. This component adds that vector as the message's
*sentence* feature, so DIET and the ResponseSelector see it beside the n-grams
(Rasa unifies the dimensions of sentence and sequence features itself).

Only sentence features: token-level vectors would need word-piece to spaCy token
alignment and cost more memory per message for no gain measured on the dev set.
The encoder is loaded once per process and shared; it has no trainable state, so
nothing is written to the model.
"""

from __future__ import annotations

from typing import Any, Dict, List, Protocol

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData


class Encoder(Protocol):
    """What this component needs of the sentence encoder."""

    def encode(self, texts: List[str]) -> np.ndarray:  # pragma: no cover - protocol
        """Unit-length embeddings, one row per text."""
        ...


def shared_encoder() -> Encoder:
    """The project's sentence encoder, loaded once per process and shared."""
    from clinic_assistant.embeddings.encoder import get_encoder

    return get_encoder()


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class SentenceEmbeddingFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds the message's sentence embedding as a dense sentence feature."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Batch size of the encoder at training time."""
        return {**DenseFeaturizer.get_default_config(), "batch_size": 64}

    @classmethod
    def validate_config(cls, config: Dict[str, Any]) -> None:
        """Nothing to validate beyond Rasa's own checks."""

    @staticmethod
    def required_packages() -> List[str]:
        """The encoder runs on TF `transformers` and `tokenizers`."""
        return ["transformers", "tokenizers"]

    def __init__(self, config: Dict[str, Any], name: str) -> None:
        super().__init__(name, {**self.get_default_config(), **config})

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEmbeddingFeaturizer:
        """A featurizer; the encoder itself is loaded on first use."""
        return cls(config, execution_context.node_name)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurizes every training example that has text."""
        self._featurize([m for m in training_data.training_examples if m.get(TEXT)])
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Featurizes incoming messages."""
        self._featurize([m for m in messages if m.get(TEXT) is not None])
        return messages

    def _featurize(self, messages: List[Message]) -> None:
        size = int(self._config["batch_size"])
        for start in range(0, len(messages), size):
            batch = messages[start : start + size]
            vectors = shared_encoder().encode([m.get(TEXT) or "" for m in batch])
            for message, vector in zip(batch, vectors, strict=True):
                vector = np.asarray(vector, dtype=np.float32)
                self.add_features_to_message(None, vector[np.newaxis, :], TEXT, message)
