"""The detector's cost is bounded by the input's size (issue 9).

A 1,400-letter "word" used to hold the worker for seconds: the typo corrector built
every two-letter deletion of any unknown word, however long (n**2 / 2 strings of n
letters). These tests count the work done, so they are deterministic; the wall-clock
limits are generous backstops that the old code exceeded by far.
"""

from __future__ import annotations

import itertools
import random
import string
import time
from typing import Any, List, Set

import pytest

from clinic_assistant.red_flags import detector as detector_module
from clinic_assistant.red_flags.context import Context
from clinic_assistant.red_flags.detector import (
    WINDOW_MARGIN,
    WINDOW_TOKENS,
    RedFlagDetector,
    TypoCorrector,
)


class _Budget:
    """Counts the letters the deletion index generates; fails past a budget."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.spent = 0

    def charge(self, word: str, depth: int) -> None:
        # What the lookup will build: about len(word) ** depth strings of that length.
        self.spent += len(word) ** depth * len(word)
        assert self.spent <= self.limit, f"typo lookup work {self.spent} > {self.limit}"


@pytest.fixture()
def budget(monkeypatch: pytest.MonkeyPatch) -> _Budget:
    """A deletion budget, charged before each deletion set is built."""
    spent = _Budget(limit=0)
    real = TypoCorrector._deletes

    def counted(word: str, depth: int) -> Set[str]:
        spent.charge(word, depth)
        return real(word, depth)

    monkeypatch.setattr(TypoCorrector, "_deletes", staticmethod(counted))
    return spent


def test_a_huge_word_costs_no_typo_lookup(detector: RedFlagDetector, budget: _Budget) -> None:
    corrector = detector.typos
    # Real lexicon words are short: the bound is their length plus the allowed edits.
    assert corrector.max_length <= 30
    corrector._cached.cache_clear()  # earlier tests in this process may have met the typo
    budget.limit = 10_000  # a few real-length words; a 5,000-letter word needs ~10**11
    word = "x" + "breathing" * 555  # 5,000 letters, looks like lexicon words inside
    assert corrector.correct(word) is None
    assert detector.normalise_text(word) == [word]
    assert budget.spent == 0
    assert corrector.correct("swalowing") == "swallow"  # real typos are still fixed
    assert 0 < budget.spent <= budget.limit


def test_huge_words_never_enter_the_typo_cache(detector: RedFlagDetector) -> None:
    before = detector.typos._cached.cache_info().currsize
    detector.normalise_text(" ".join(["q" * 40 + str(i) for i in range(50)]))
    detector.normalise_text("z" * 2_000)
    assert detector.typos._cached.cache_info().currsize == before


def test_typo_work_is_linear_in_the_message(detector: RedFlagDetector, budget: _Budget) -> None:
    """Many distinct unknown words of real length: each costs a bounded lookup."""
    rng = random.Random(7)
    words = [
        "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(5, 40)))
        for _ in range(2_000)
    ]
    text = " ".join(words)
    per_word = (detector.typos.max_length + 1) ** 3
    budget.limit = per_word * len(words)
    detector.normalise_text(text)
    assert budget.spent <= budget.limit


def _message(size: int, sentence: str) -> str:
    return (sentence * (size // len(sentence) + 1))[:size]


@pytest.mark.parametrize(
    "sentence",
    [
        "how long does it last and when does it start working ",  # no punctuation at all
        "no trouble breathing, no trouble swallowing ",  # many suppressed matches
        "I can't breathe. ",  # many standing matches
    ],
)
def test_context_work_is_bounded_per_window(
    detector: RedFlagDetector, monkeypatch: pytest.MonkeyPatch, sentence: str
) -> None:
    """Every Context the rules read is bounded, and together they read ~the message once."""
    sizes: List[int] = []
    real_init = Context.__init__

    def recording(self: Context, tokens: Any, covered: Any = ()) -> None:
        sizes.append(len(tokens))
        real_init(self, tokens, covered)

    monkeypatch.setattr(Context, "__init__", recording)
    text = _message(60_000, sentence)
    tokens = len(detector.nlp.make_doc(text))
    detector.detect(detector.nlp.make_doc(text))
    assert max(sizes) <= WINDOW_TOKENS + 2 * WINDOW_MARGIN
    assert sum(sizes) <= tokens * (1 + 2 * WINDOW_MARGIN / (WINDOW_TOKENS / 4)) + WINDOW_TOKENS


def test_a_sign_at_the_end_of_a_long_message_is_found(detector: RedFlagDetector) -> None:
    text = _message(50_000, "how long does it last, when does it start working? ")
    detection = detector.detect(detector.nlp.make_doc(text + " and now I can't breathe"))
    assert detection.level == "emergency"
    assert detection.matches[-1].start_char > 50_000
    # A denial across a window boundary is still read with its context.
    long_words = " ".join(["word"] * (WINDOW_TOKENS - 1))
    detection = detector.detect(detector.nlp.make_doc(f"{long_words} no trouble breathing"))
    assert not detection.fired


def test_windows_cover_the_message_once() -> None:
    keys = (["a"] * 150 + ["."]) * 7 + ["b"] * 450
    windows = list(detector_module._windows(keys, 200, 40))
    cores = [(lo, hi) for _, lo, hi, _ in windows]
    assert cores[0][0] == 0 and cores[-1][1] == len(keys)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(cores))
    assert all(hi - lo <= 200 for lo, hi in cores)
    assert all(keys[hi - 1] == "." for lo, hi in cores[:7])  # whole sentences where they fit
    assert list(detector_module._windows(["a"] * 10, 200, 40)) == [(0, 0, 10, 10)]


@pytest.mark.parametrize(
    ("text", "limit"),
    [
        ("x" * 5_000, 1.0),  # the old code: minutes and gigabytes
        (" ".join("q" * 1_400 + str(i) for i in range(700)), 5.0),  # ~1 MB of huge words
    ],
    ids=["5000-letter word", "1 MB of 1,400-letter words"],
)
def test_worst_case_messages_finish_in_bounded_time(
    detector: RedFlagDetector, text: str, limit: float
) -> None:
    """Generous CPU-time backstops (the old code took 6 s for one 1,400-letter word).

    A 1 MB message of ordinary words is linear (~1 s of CPU per 100 KB here); it is
    timed in `make bench`, and its work is counted in the window test above.
    """
    started = time.process_time()
    detection = detector.detect(detector.nlp.make_doc(text))
    assert time.process_time() - started < limit
    assert not detection.fired
