"""How the Rasa server process loads the trained model.

:func:`install` makes ``SpacyNLP.load_model`` load each spaCy pipeline once per
process (:func:`clinic_assistant.nlp.pipeline.shared_pipeline`): Rasa's graph loads
it once per node (``provide`` and ``run``), and the red-flag detector shares the
same one, so the pipeline's vocabulary and lemma table are in memory once.

It also makes a tracker store failure an error of the message (:func:`_strict_stores`).
Rasa wraps the tracker store in a ``FailSafeTrackerStore`` that, when PostgreSQL or
SQLite cannot be reached, reads the conversation as a new, empty one and keeps what
it saves in memory: during an outage an escalated patient would be answered as if
nothing had been said (no reminder of the emergency), and those turns would never
reach the database nor the other replicas. With the error raised instead, the channel
reads the message for danger signs and tells the patient what to do
(:mod:`clinic_assistant.channels.unhandled`); once the database is back, the
conversation goes on where it was.

And it remembers Rasa's event-class lookup per type name (:func:`_fast_event_lookup`),
which cost a growing share of each turn as a conversation grew, and gives the
dialogue policies only the recent part of the conversation
(:func:`_recent_policy_input`, :mod:`clinic_assistant.trackers.window`), which
they replayed in full two or three times a turn, and has the SQL tracker store read
only the rows that are new since the last turn (:func:`_incremental_sql_store`,
:mod:`clinic_assistant.trackers.store`).

``python -m clinic_assistant.runtime run ...`` is ``rasa run ...`` with this in
place; :func:`clinic_assistant.servers.rasa_server` starts the server that way.
Training and ``rasa test`` are unchanged (they do not call this).

DIET and the ResponseSelector are built without an optimizer (:func:`_lean_tf_models`):
Rasa builds them by training one example (``RasaModel.load``), which leaves Adam's
slot variables and the training graph in memory. Measured in process after
``Agent.load`` and three parses: 1,525 -> 1,070 MiB resident (1,220 -> 768 MiB
anonymous); loading the two models adds 232 + 581 -> 91 + 150 MiB and takes
6.2 + 4.6 -> 3.1 + 0.6 s. Every parse of ``bench/parse_dump.py`` is byte-identical.
An earlier attempt, building them by a prediction before reading the weights,
changed every parse; a prediction caches the label embeddings computed from the
weights as they are then (not yet restored), and creates neither the loss layers
nor their variables, which is the likely cause.
"""

from __future__ import annotations

import sys
from typing import Any, Awaitable, Callable, Dict, Optional, Sequence

_installed = False


def install() -> None:
    """Put the lean loading in place (idempotent); call before loading a model."""
    global _installed
    if _installed:
        return
    from rasa.nlu.utils.spacy_utils import SpacyModel, SpacyNLP

    from clinic_assistant.nlp.pipeline import shared_pipeline

    original_spacy = SpacyNLP.load_model

    def load_model(spacy_model_name: str) -> SpacyModel:
        """Rasa's own loading and checks, once per pipeline path and process."""
        if not spacy_model_name:
            return original_spacy(spacy_model_name)  # Rasa's error message
        language = shared_pipeline(
            spacy_model_name, loader=lambda: original_spacy(spacy_model_name).model
        )
        return SpacyModel(model=language, model_name=spacy_model_name)

    SpacyNLP.load_model = staticmethod(load_model)  # type: ignore[method-assign,assignment]
    _strict_stores()
    _fast_event_lookup()
    _recent_policy_input()
    _incremental_sql_store()
    _warm_start()
    _lean_tf_models()
    _installed = True


def _lean_tf_models() -> None:
    """DIET and the ResponseSelector are built without an optimizer (:func:`lean_load`).

    Rasa's ``RasaModel.load`` builds a model's variables by training it on one
    example (``compile(Adam)`` + ``fit``) before reading the trained weights: that
    leaves Adam's slot variables (twice the weights) and the traced training graph
    in memory for as long as the model lives, and freeing them afterwards does not
    work (the checkpoint and Keras's compile state still hold them). Loading for
    fine-tuning (``finetune_mode``) still goes to Rasa's own code, which needs the
    optimizer.
    """
    from rasa.utils.tensorflow.models import RasaModel

    original = RasaModel.load.__func__  # type: ignore[attr-defined]

    def load(
        cls: type,
        model_file_name: str,
        model_data_example: Any,
        predict_data_example: Any = None,
        finetune_mode: bool = False,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        if finetune_mode:
            args = (model_file_name, model_data_example, predict_data_example, True, *args)
            return original(cls, *args, **kwargs)
        example = predict_data_example
        return lean_load(cls, model_file_name, model_data_example, example, *args, **kwargs)

    RasaModel.load = classmethod(load)  # type: ignore[method-assign,assignment]


def lean_load(
    model_class: type,
    model_file_name: str,
    model_data_example: Any,
    predict_data_example: Any = None,
    *args: Any,
    **kwargs: Any,
) -> Any:
    """A Rasa TensorFlow model with its trained weights, built without training it.

    The variables are created by one eager call of the model's own training loss on
    the same one-example batch Rasa trains on (the same code path as ``fit``'s
    step, so the same layers, loss layers included, at the same object paths), but
    without a gradient tape, an optimizer or a ``tf.function``. Then the checkpoint
    is read, and every variable of the model must have been found in it
    (``assert_existing_objects_matched``); the checkpoint's other entries, the
    optimizer's, are not read (``expect_partial``). The prediction after that, as
    in Rasa, traces the prediction graph and computes the label embeddings from the
    restored weights. That the checkpoint has no other entries and that every one is
    restored exactly is checked by ``tests/unit/test_runtime.py`` (on the trained
    model too); that every parse is unchanged, by ``bench/parse_dump.py``.
    """
    from rasa.utils.tensorflow.constants import RUN_EAGERLY
    from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator

    model = model_class(*args, **kwargs)
    model.run_eagerly = kwargs.get("config", {}).get(RUN_EAGERLY)
    batch_in = RasaBatchDataGenerator(model_data_example, batch_size=1)[0][0]
    model._training = True  # as in train_step: the variables of training's path
    model.batch_loss(batch_in)
    model._training = None
    status = model.load_weights(model_file_name)
    status.assert_existing_objects_matched()
    status.expect_partial()
    if predict_data_example:
        model.run_inference(predict_data_example)
    return model


#: What the server reads once after loading the model, before it takes messages.
WARM_UP_TEXT = "hello"


def _warm_start() -> None:
    """The server parses one message right after loading the model, before it is ready.

    The first parse builds TensorFlow's graphs of DIET, the ResponseSelector and the
    sentence encoder: 7.6 s measured here, with the event loop blocked. Done on the
    first patient's message, that patient waited as long, and the load balancer's
    health checks timed out meanwhile, so a fresh replica was taken out of rotation
    (the cluster test that kills a replica saw 503s from the survivor).
    """
    import rasa.core.agent as agent_module

    agent_module.load_agent = warm_loader(agent_module.load_agent)  # type: ignore[assignment]


def warm_loader(load: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """``load`` (Rasa's ``load_agent``), then one parse of :data:`WARM_UP_TEXT`."""

    async def load_agent(*args: Any, **kwargs: Any) -> Any:
        agent = await load(*args, **kwargs)
        if agent is not None and agent.is_ready():
            await agent.parse_message(WARM_UP_TEXT)
        return agent

    return load_agent


def _incremental_sql_store() -> None:
    """``tracker_store: {type: SQL}`` makes a :class:`CachingSQLTrackerStore`.

    Rasa builds its SQL store from the name in its own module; replacing that name is
    what keeps ``endpoints.yml`` (and the cluster's) unchanged. A custom ``type:``
    path would do it too, but Rasa answers any error importing or building a custom
    store with a silent in-memory store, which must never happen here.
    """
    import rasa.core.tracker_store as stores

    from clinic_assistant.trackers.store import CachingSQLTrackerStore

    stores.SQLTrackerStore = CachingSQLTrackerStore  # type: ignore[misc]


def _recent_policy_input() -> None:
    """The policies predict from :func:`~clinic_assistant.trackers.window.policy_view`.

    A follow-up action goes to Rasa's own code with the real tracker, which clears
    it there; everything else the processor does (applying the prediction's events,
    saving) still works on the real tracker.
    """
    from rasa.core.policies.policy import PolicyPrediction
    from rasa.core.processor import MessageProcessor
    from rasa.shared.core.trackers import DialogueStateTracker

    from clinic_assistant.trackers.window import policy_view

    original = MessageProcessor._predict_next_with_tracker

    def predict(self: MessageProcessor, tracker: DialogueStateTracker) -> PolicyPrediction:
        if tracker.followup_action:
            return original(self, tracker)
        return original(self, policy_view(tracker))

    MessageProcessor._predict_next_with_tracker = predict  # type: ignore[method-assign]


def _fast_event_lookup() -> None:
    """Rasa's event-class lookup, remembered per type name.

    ``Event.resolve_by_type`` walks every subclass of ``Event`` (recursively, with an
    ``inspect.isabstract`` per class) for each event it reads back, so loading a
    tracker of 1,000 events cost about 180 ms (profiled at turn 200 of one
    conversation), and that cost grew with every turn. A hit is remembered; a miss
    (a class defined later, an unknown name, a default) goes to Rasa's own lookup
    every time, so its answers and errors are unchanged.
    """
    from rasa.shared.core.events import Event

    original = Event.resolve_by_type
    known: Dict[str, type] = {}

    def resolve_by_type(type_name: str, default: Optional[type] = None) -> Optional[type]:
        found = known.get(type_name)
        if found is not None:
            return found
        resolved = original(type_name, default)
        if resolved is not None and resolved is not default:
            known[type_name] = resolved
        return resolved

    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[method-assign,assignment]


def _raise(error: Exception) -> None:
    raise error


def _strict_stores() -> None:
    """The agent's tracker store raises its errors (see the module docstring)."""
    from rasa.core.agent import Agent
    from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore, TrackerStore
    from rasa.shared.core.domain import Domain

    def create(store: Optional[TrackerStore], domain: Domain) -> TrackerStore:
        if store is not None:
            store.domain = domain
        else:
            store = InMemoryTrackerStore(domain)
        return FailSafeTrackerStore(store, on_tracker_store_error=_raise)

    Agent._create_tracker_store = staticmethod(create)  # type: ignore[method-assign,assignment]


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``rasa`` with the lean loading: ``python -m clinic_assistant.runtime run ...``."""
    install()
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *(sys.argv[1:] if argv is None else argv)]
    rasa_main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
