"""The second opinion's look-alikes: the bank's, and the assistant's ordinary messages."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Mapping, Sequence

import numpy as np

from clinic_assistant.red_flags.detector import RedFlagDetector
from clinic_assistant.red_flags.second_opinion import (
    ORDINARY,
    Bank,
    SecondOpinion,
    ordinary_messages,
    with_look_alikes,
)


class TableEncoder:
    """Unit vectors looked up by text; any other text is orthogonal to all of them."""

    def __init__(self, table: Dict[str, Sequence[float]]) -> None:
        self.table = {
            k: np.asarray(v, dtype=np.float32) / np.linalg.norm(v) for k, v in table.items()
        }

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self.table.get(t, np.array([0.0, 0.0, 1.0], np.float32)) for t in texts])


def test_ordinary_messages_are_the_examples_without_markup(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: faq/prepare_medicines\n  examples: |\n'
        "    - do I stop [warfarin](BLOOD_THINNER) before?\n    - how long does it last\n"
        "- intent: greet\n  examples: |\n    - hi\n    - how long does it last\n",
        "utf-8",
    )
    (tmp_path / "b.yml").write_text('version: "3.1"\nnlu:\n- regex: x\n  examples: |\n', "utf-8")
    (tmp_path / "notes.txt").write_text("- not read", "utf-8")
    assert ordinary_messages(tmp_path) == (
        "do I stop warfarin before?",
        "how long does it last",
        "hi",
    )


# Messages of data/nlu the rules flag as a danger sign now; none since the shots'
# purpose ("so the shots paralyze the muscle or what?") is an expected effect. Any
# training message the rules flag stops this test for a review.
RULE_FALSE_ALARMS: set[str] = set()


def test_the_project_has_ordinary_messages_and_the_rules_flag_none_as_a_danger_now(
    detector: RedFlagDetector,
) -> None:
    """data/nlu holds no danger sign happening now, so none may be a look-alike."""
    messages = ordinary_messages()
    assert len(messages) > 1000
    flagged = {m for m in messages if detector.detect(detector.nlp.make_doc(m)).fired}
    assert flagged == RULE_FALSE_ALARMS


def test_look_alikes_are_added_with_their_kind_and_a_new_cache_key() -> None:
    bank = Bank(
        positives=(("difficulty_breathing", "I can't breathe"),),
        negatives=(("negation", "I can breathe"),),
        digest="d",
    )
    extended = with_look_alikes(bank, ORDINARY, ["how long does it last"])
    assert extended.positives == bank.positives
    assert extended.negatives[-1] == (ORDINARY, "how long does it last")
    assert extended.digest != bank.digest
    assert with_look_alikes(bank, ORDINARY, ["other"]).digest != extended.digest


def test_a_piece_nearer_an_ordinary_question_loses_its_margin() -> None:
    encoder = TableEncoder(
        {
            "I can't breathe": [1.0, 0.0, 0.0],
            "I can breathe": [-1.0, 0.0, 0.0],
            "is it hard to breathe after": [0.9, 0.45, 0.0],
            "is it hard to breathe after?": [0.8, 0.6, 0.0],
        }
    )
    bank = Bank(
        positives=(("difficulty_breathing", "I can't breathe"),),
        negatives=(("negation", "I can breathe"),),
        digest="d",
    )
    alone = SecondOpinion(encoder, bank).votes("is it hard to breathe after?")[0]
    extended = with_look_alikes(bank, ORDINARY, ["is it hard to breathe after"])
    beside = SecondOpinion(encoder, extended).votes("is it hard to breathe after?")[0]
    assert alone.score == beside.score
    assert alone.margin > 0.5 and beside.margin < 0


class CountingEncoder(TableEncoder):
    """A TableEncoder that counts the texts it was asked to embed."""

    def __init__(self, table: Mapping[str, Sequence[float]]) -> None:
        super().__init__(dict(table))
        self.encoded = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.encoded += len(texts)
        return super().encode(texts)


def test_the_bank_vectors_are_cached_and_an_older_banks_are_removed(tmp_path: Path) -> None:
    table = {"I can't breathe": [1.0, 0.0, 0.0], "I can breathe": [0.0, 1.0, 0.0]}
    bank = Bank(
        positives=(("difficulty_breathing", "I can't breathe"),),
        negatives=(("negation", "I can breathe"),),
        digest="d",
    )
    first = CountingEncoder(table)
    SecondOpinion(first, bank, tmp_path)
    (old,) = tmp_path.glob("red_flag_bank-*.npy")
    again = CountingEncoder(table)
    SecondOpinion(again, bank, tmp_path)
    assert (first.encoded, again.encoded) == (2, 0)

    SecondOpinion(CountingEncoder(table), with_look_alikes(bank, ORDINARY, ["hi"]), tmp_path)
    (new,) = tmp_path.glob("red_flag_bank-*.npy")
    assert new != old


def test_an_unreadable_cache_is_embedded_anew(tmp_path: Path) -> None:
    table = {"I can't breathe": [1.0, 0.0, 0.0]}
    bank = Bank(positives=(("difficulty_breathing", "I can't breathe"),), negatives=(), digest="d")
    SecondOpinion(CountingEncoder(table), bank, tmp_path)
    (path,) = tmp_path.glob("red_flag_bank-*.npy")
    path.write_bytes(b"not numpy")
    encoder = CountingEncoder(table)
    opinion = SecondOpinion(encoder, bank, tmp_path)
    assert encoder.encoded == 1
    assert opinion.votes("I can't breathe")[0].symptom == "difficulty_breathing"
