"""The embedding classifier: fit, probabilities, save and load, mixing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from clinic_assistant.answers.semantic import SemanticAnswers, mix


def vectors() -> tuple[np.ndarray, list[str]]:
    """Two well separated clusters of unit vectors, one per answer."""
    rng = np.random.default_rng(0)
    a = rng.normal([1.0, 0.0, 0.0], 0.05, size=(10, 3))
    b = rng.normal([0.0, 1.0, 0.0], 0.05, size=(10, 3))
    data = np.vstack([a, b])
    return data / np.linalg.norm(data, axis=1, keepdims=True), ["faq/a"] * 10 + ["greet"] * 10


def test_fit_learns_which_answer_a_vector_is_near() -> None:
    data, labels = vectors()
    model = SemanticAnswers.fit(data, labels, c=10.0, seed=0)
    probs = model.probabilities(np.array([0.99, 0.1, 0.0]))
    assert set(probs) == {"faq/a", "greet"}
    assert probs["faq/a"] > 0.9
    assert sum(probs.values()) == pytest.approx(1.0)


def test_fit_is_deterministic() -> None:
    data, labels = vectors()
    first = SemanticAnswers.fit(data, labels, c=10.0, seed=0)
    second = SemanticAnswers.fit(data, labels, c=10.0, seed=0)
    assert np.array_equal(first.weights, second.weights)


def test_one_answer_only_is_refused() -> None:
    data, _ = vectors()
    with pytest.raises(ValueError, match="two answers"):
        SemanticAnswers.fit(data, ["faq/a"] * len(data), c=1.0, seed=0)


def test_save_and_load_give_the_same_probabilities(tmp_path: Path) -> None:
    data, labels = vectors()
    model = SemanticAnswers.fit(data, labels, c=10.0, seed=0)
    model.save(tmp_path)
    loaded = SemanticAnswers.load(tmp_path)
    vector = np.array([0.5, 0.5, 0.1])
    assert loaded.labels == model.labels
    assert loaded.probabilities(vector) == pytest.approx(model.probabilities(vector))


def test_weights_that_do_not_match_their_labels_are_refused(tmp_path: Path) -> None:
    data, labels = vectors()
    SemanticAnswers.fit(data, labels, c=10.0, seed=0).save(tmp_path)
    (tmp_path / "semantic_answers.json").write_text('["only one"]', "utf-8")
    with pytest.raises(ValueError, match="do not match"):
        SemanticAnswers.load(tmp_path)


def test_mix_weights_the_second_distribution() -> None:
    mixed = mix({"a": 1.0}, {"a": 0.0, "b": 1.0}, 0.25)
    assert mixed == pytest.approx({"a": 0.75, "b": 0.25})
