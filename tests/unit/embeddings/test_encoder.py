"""The sentence encoder on the verified model files (needs `make setup` to have built them)."""

from __future__ import annotations

import numpy as np
import pytest

from clinic_assistant.embeddings.encoder import DIMENSIONS, MAX_TOKENS, SentenceEncoder, get_encoder
from clinic_assistant.embeddings.files import DEFAULT_DIR, ModelFilesError

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    try:
        return get_encoder(DEFAULT_DIR)
    except ModelFilesError as error:
        pytest.fail(f"{error} (make setup builds models/minilm)")


def test_vectors_are_unit_length(encoder: SentenceEncoder) -> None:
    vectors = encoder.encode(["how long does it last?", "hi", "¿cuánto dura?"])
    assert vectors.shape == (3, DIMENSIONS)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_paraphrases_are_closer_than_unrelated_questions(encoder: SentenceEncoder) -> None:
    lying, trouble, unrelated = encoder.encode(
        [
            "I can't catch my breath when I lie down",
            "I have trouble breathing",
            "how long does the botox last?",
        ]
    )
    assert float(lying @ trouble) > 0.5
    assert float(lying @ unrelated) < 0.3


def test_the_same_text_gives_the_same_vector_alone_or_in_a_batch(encoder: SentenceEncoder) -> None:
    alone = encoder.encode_one("when does it start working")
    batch = encoder.encode(
        ["a much longer message that pads the batch out", "when does it start working"]
    )
    np.testing.assert_allclose(alone, batch[1], atol=1e-5)


def test_empty_input_gives_no_rows(encoder: SentenceEncoder) -> None:
    assert encoder.encode([]).shape == (0, DIMENSIONS)


def test_a_huge_message_costs_no_more_than_max_tokens(encoder: SentenceEncoder) -> None:
    huge = "breathing " * 50_000
    assert len(encoder.token_ids(huge)) == MAX_TOKENS
    assert encoder.encode([huge, "x" * 100_000]).shape == (2, DIMENSIONS)


def test_the_encoder_is_shared_per_process() -> None:
    assert get_encoder(DEFAULT_DIR) is get_encoder(DEFAULT_DIR)


def test_a_recent_text_is_not_run_again(
    encoder: SentenceEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = encoder.encode(["does the injection hurt a lot"])
    runs: list = []
    original = encoder._run

    def counted(texts: list) -> np.ndarray:
        runs.append(list(texts))
        return original(texts)

    monkeypatch.setattr(encoder, "_run", counted)
    again = encoder.encode(["does the injection hurt a lot", "a new text", "a new text"])
    assert np.array_equal(again[0], first[0])
    assert runs == [["a new text"]]  # only the unseen text, once
    assert np.array_equal(again[1], again[2])
