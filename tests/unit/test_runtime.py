"""The server's model loading (clinic_assistant.runtime): one spaCy pipeline per process.

That the server's parse of every test text is what Rasa's own load gives is checked
by ``bench/parse_dump.py`` (a trained model is needed; see bench/report/lean_server.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, List

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


def _toy_model_class() -> Any:
    """A small Rasa TensorFlow model shaped like DIET where it matters for loading.

    ``head`` is only used by the training loss (like DIET's loss layers), and
    ``prepare_for_predict`` caches a tensor computed from the weights (like DIET's
    label embeddings), which must come from the restored weights.
    """
    import tensorflow as tf
    from rasa.utils.tensorflow.models import RasaModel

    class Toy(RasaModel):
        def __init__(self, config: dict) -> None:
            super().__init__(random_seed=config["seed"])
            self.config = config
            self.dense = tf.keras.layers.Dense(
                4, kernel_regularizer=tf.keras.regularizers.l2(0.01), name="dense"
            )
            self.head = tf.keras.layers.Dense(1, name="head")
            self.cached: Any = None

        def batch_loss(self, batch_in: Any) -> Any:
            x = tf.reshape(tf.cast(batch_in[0], tf.float32), (-1, 3))
            return tf.reduce_mean(tf.square(self.head(self.dense(x)) - 1.0))

        def prepare_for_predict(self) -> None:
            self.cached = tf.reduce_sum(self.dense(tf.ones((1, 3))))  # "label embeddings"

        def batch_predict(self, batch_in: Any) -> Any:
            x = tf.reshape(tf.cast(batch_in[0], tf.float32), (-1, 3))
            return {"out": self.dense(x) + self.cached}

    return Toy


def _toy_data() -> Any:
    import numpy as np
    from rasa.utils.tensorflow.model_data import FeatureArray, RasaModelData

    x = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
    return RasaModelData(data={"text": {"sentence": [FeatureArray(x, number_of_dimensions=2)]}})


def test_tf_models_are_loaded_with_every_trained_weight_and_no_optimizer(tmp_path: Path) -> None:
    import numpy as np
    import tensorflow as tf
    from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator
    from rasa.utils.tensorflow.models import RasaModel

    toy, data = _toy_model_class(), _toy_data()
    trained = toy(config={"seed": 1})
    trained.compile(optimizer=tf.keras.optimizers.Adam(0.1))
    trained.fit(RasaBatchDataGenerator(data, batch_size=4), epochs=3, verbose=False)
    trained.save(str(tmp_path / "toy.tf_model"))
    expected = trained.run_inference(data)["out"]

    loaded = RasaModel.load.__func__(  # type: ignore[attr-defined]
        toy, str(tmp_path / "toy.tf_model"), data, data, config={"seed": 2}
    )
    assert loaded.optimizer is None
    assert [v.name for v in loaded.variables] == [v.name for v in trained.variables]
    for mine, theirs in zip(loaded.variables, trained.variables, strict=True):
        assert np.array_equal(mine.numpy(), theirs.numpy()), mine.name
    np.testing.assert_array_equal(loaded.run_inference(data)["out"], expected)


def test_a_tf_model_whose_checkpoint_lacks_a_weight_is_refused(tmp_path: Path) -> None:
    import numpy as np
    from rasa.utils.tensorflow.models import RasaModel

    toy, data = _toy_model_class(), _toy_data()
    partial = toy(config={"seed": 1})
    partial.dense(np.zeros((1, 3), np.float32))  # `head` has no weights to save
    partial.save(str(tmp_path / "toy.tf_model"))
    with pytest.raises(AssertionError):
        RasaModel.load.__func__(  # type: ignore[attr-defined]
            toy, str(tmp_path / "toy.tf_model"), data, data, config={"seed": 1}
        )


@pytest.mark.model
def test_the_trained_models_get_every_weight_of_their_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DIET and the ResponseSelector: every entry of their checkpoint but the optimizer's.

    What the loaded model would save has the same entries as what training saved,
    less the optimizer's, with the same values.
    """
    import numpy as np
    import tensorflow as tf
    from rasa.core.agent import Agent

    from tests.conftest import MODEL

    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make setup` (or `make test`) first")
    checked: List[str] = []
    lean_load = runtime.lean_load

    def checking_load(model_class: type, model_file_name: str, *args: Any, **kwargs: Any) -> Any:
        model = lean_load(model_class, model_file_name, *args, **kwargs)
        trained = str(model_file_name)
        names = {
            n for n, _ in tf.train.list_variables(trained) if not n.startswith("model/optimizer/")
        }
        saved = str(tmp_path / f"model{len(checked)}")
        model.save(saved)
        assert {n for n, _ in tf.train.list_variables(saved)} == names
        for name in names - {"_CHECKPOINTABLE_OBJECT_GRAPH"}:
            value = tf.train.load_variable(saved, name)
            assert np.array_equal(value, tf.train.load_variable(trained, name)), name
        assert model.optimizer is None
        checked.append(model_class.__name__)
        return model

    monkeypatch.setattr(runtime, "lean_load", checking_load)
    Agent.load(str(MODEL))
    assert sorted(checked) == ["DIET", "DIET2BOW"]
