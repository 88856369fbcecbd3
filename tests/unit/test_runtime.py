"""The server's model loading (clinic_assistant.runtime): one spaCy pipeline per process.

That the server's parse of every test text is what Rasa's own load gives is checked
by ``bench/parse_dump.py`` (a trained model is needed; see bench/report/lean_server.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.nlu.utils.spacy_utils import SpacyNLP

from clinic_assistant import runtime
from clinic_assistant.nlp.pipeline import save_pipeline, shared_pipeline


@pytest.fixture(scope="module", autouse=True)
def installed() -> None:
    runtime.install()


def test_install_is_idempotent() -> None:
    load = SpacyNLP.load_model
    runtime.install()
    assert SpacyNLP.load_model == load


def test_spacy_nlp_loads_each_pipeline_once_and_shares_it(tmp_path: Path) -> None:
    path = save_pipeline(tmp_path / "spacy_pipeline")
    first = SpacyNLP.load_model(str(path))
    second = SpacyNLP.load_model(str(path))
    assert first.model is second.model is shared_pipeline(path)
    assert first.model_name == str(path)


def test_spacy_nlp_still_refuses_a_missing_model_name() -> None:
    from rasa.nlu.model import InvalidModelError

    with pytest.raises(InvalidModelError):
        SpacyNLP.load_model("")


class BrokenStore(InMemoryTrackerStore):
    """A tracker store whose database cannot be reached."""

    async def retrieve(self, sender_id: str) -> Any:
        raise ConnectionRefusedError("the database is down")

    async def save(self, tracker: Any) -> None:
        raise ConnectionRefusedError("the database is down")


async def test_a_tracker_store_failure_is_raised_not_hidden_behind_an_empty_conversation() -> None:
    from rasa.core.agent import Agent
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    store = Agent._create_tracker_store(BrokenStore(Domain.empty()), Domain.empty())
    with pytest.raises(ConnectionRefusedError):
        await store.retrieve("patient-1")
    with pytest.raises(ConnectionRefusedError):
        await store.save(DialogueStateTracker("patient-1", []))


def test_event_lookup_gives_rasas_answers_and_errors() -> None:
    from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered

    for _ in range(2):  # the second round comes from the remembered classes
        assert Event.resolve_by_type("user") is UserUttered
        assert Event.resolve_by_type("slot") is SlotSet
        assert Event.resolve_by_type("action") is ActionExecuted
    assert Event.resolve_by_type("no_such_event", default=SlotSet) is SlotSet
    assert Event.resolve_by_type("topic") is None
    with pytest.raises(ValueError):
        Event.resolve_by_type("no_such_event")
    event = Event.from_parameters({"event": "slot", "name": "s", "value": 1})
    assert isinstance(event, SlotSet) and event.value == 1


def test_the_sql_store_of_the_endpoints_reads_incrementally(tmp_path: Path) -> None:
    from rasa.core.tracker_store import TrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.utils.endpoints import EndpointConfig

    from clinic_assistant.trackers.store import CachingSQLTrackerStore

    config = EndpointConfig(type="SQL", dialect="sqlite", db=str(tmp_path / "t.db"))
    assert isinstance(TrackerStore.create(config, Domain.empty()), CachingSQLTrackerStore)


class FakeAgent:
    def __init__(self, ready: bool) -> None:
        self.ready = ready
        self.parsed: list = []

    def is_ready(self) -> bool:
        return self.ready

    async def parse_message(self, text: str) -> dict:
        self.parsed.append(text)
        return {}


async def test_the_loaded_model_reads_one_message_before_the_server_takes_any() -> None:
    import rasa.core.agent as agent_module

    assert agent_module.load_agent.__qualname__.startswith("warm_loader")
    loaded = FakeAgent(ready=True)

    async def load(model_path: str) -> FakeAgent:
        return loaded

    assert await runtime.warm_loader(load)("models/clinic.tar.gz") is loaded
    assert loaded.parsed == [runtime.WARM_UP_TEXT]
    unready = FakeAgent(ready=False)

    async def load_unready(model_path: str) -> FakeAgent:
        return unready

    assert await runtime.warm_loader(load_unready)("x") is unready
    assert unready.parsed == []
