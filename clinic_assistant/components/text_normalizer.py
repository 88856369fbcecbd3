"""TextNormalizer: the NLU pipeline's first component, so the NLU never reads raw text.

Every channel already normalises a message and screens "/" payloads
(:func:`clinic_assistant.text.incoming.prepare`). This component does it again, as
defence in depth, for a channel that forgot (a new one, Rasa's HTTP API in a
deployment, ``rasa shell``): a zero-width space or a leading "/" must never hide a
danger sign, and a typed ``/red_flag_emergency`` must never become an escalation
through Rasa's ``RegexMessageHandler``, which runs after the whole pipeline and
trusts any "/intent" it finds in the text.

The pipeline does not see the domain, so the payloads it lets through are learned
from the training data: ``/<intent>`` for an intent with examples and
``/faq/<topic>`` for a curated answer, never a red-flag intent, never with entities
or a confidence (the channels' rule is stricter: exact domain button payloads).
"""

from __future__ import annotations

import json
from typing import Any, Dict, FrozenSet, List, Optional

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from clinic_assistant.text.normalize import normalize_text, truncate
from clinic_assistant.text.payloads import (
    EXTRA_PAYLOADS,
    RETRIEVAL_INTENT,
    acceptable,
    screen_payload,
)

PAYLOADS_FILE = "payloads.json"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class TextNormalizer(GraphComponent):
    """Normalises each message's text and screens its "/" payload; see the module doc."""

    def __init__(
        self,
        model_storage: ModelStorage,
        resource: Resource,
        payloads: Optional[FrozenSet[str]] = None,
    ) -> None:
        """Keeps the storage (for training) and the payloads it lets through."""
        self._model_storage = model_storage
        self._resource = resource
        self._payloads = payloads if payloads is not None else EXTRA_PAYLOADS

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> TextNormalizer:
        """An untrained normaliser (it lets only :data:`EXTRA_PAYLOADS` through)."""
        return cls(model_storage, resource)

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> TextNormalizer:
        """Loads the payloads learned at training time."""
        try:
            with model_storage.read_from(resource) as directory:
                payloads = json.loads((directory / PAYLOADS_FILE).read_text("utf-8"))
        except (ValueError, FileNotFoundError):
            payloads = sorted(EXTRA_PAYLOADS)
        return cls(model_storage, resource, frozenset(payloads))

    def train(self, training_data: TrainingData) -> Resource:
        """Learns ``/<intent>`` and ``/faq/<topic>`` payloads from the training data."""
        found = set(EXTRA_PAYLOADS)
        found.update(f"/{intent}" for intent in training_data.intents if intent != RETRIEVAL_INTENT)
        prefix = f"utter_{RETRIEVAL_INTENT}/"
        found.update(
            f"/{key[len('utter_') :]}" for key in training_data.responses if key.startswith(prefix)
        )
        self._payloads = frozenset(p for p in found if acceptable(p))
        with self._model_storage.write_to(self._resource) as directory:
            (directory / PAYLOADS_FILE).write_text(json.dumps(sorted(self._payloads)), "utf-8")
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Training examples get the same normalisation as patients' messages."""
        for example in training_data.training_examples:
            text = example.get(TEXT)
            if isinstance(text, str):
                example.set(TEXT, normalize_text(text))
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Normalises, bounds and screens each message's text, in place."""
        for message in messages:
            text = message.get(TEXT)
            if isinstance(text, str):
                message.set(TEXT, screen_payload(truncate(normalize_text(text)), self._payloads))
        return messages
