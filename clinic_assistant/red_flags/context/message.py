"""One message's tokens, with its sentence, segment and clause bounds and a phrase index.

Computed once per message; the rules of the other modules ask it per match.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from typing import Dict, Iterable, List, Sequence, Tuple

from clinic_assistant.red_flags.context.words import (
    CLAUSE_PUNCT,
    CONTRAST,
    LIST_CONTINUATION,
    SENTENCE_END,
    Phrase,
)


@dataclass(frozen=True)
class Token:
    """One token: ``key`` is the lowercase lemma (after typo fixes), ``text`` the word."""

    key: str
    text: str


def _boundaries(stops: Sequence[bool]) -> Tuple[List[int], List[int]]:
    """For each position: where the run without stops begins, and the next stop."""
    n = len(stops)
    begin = [0] * (n + 1)
    for i in range(1, n + 1):
        begin[i] = i if stops[i - 1] else begin[i - 1]
    nxt = [n] * (n + 1)
    for i in range(n - 1, -1, -1):
        nxt[i] = i if stops[i] else nxt[i + 1]
    return begin, nxt


class Message:
    """A message's keys and texts, their bounds, and where each phrase occurs."""

    def __init__(self, tokens: Sequence[Token], covered: Sequence[bool] = ()) -> None:
        self.keys = [token.key for token in tokens]
        self.texts = [token.text for token in tokens]
        # Tokens inside any symptom match: a trigger there belongs to the symptom
        # ("not able to swallow", "my voice went away").
        self.covered = list(covered) if covered else [False] * len(tokens)
        # Positions of every key, and the boundaries, computed once per message.
        self._positions: Dict[str, List[int]] = {}
        for i, key in enumerate(self.keys):
            self._positions.setdefault(key, []).append(i)
        n = len(self.keys)
        self._sentence = _boundaries([key in SENTENCE_END for key in self.keys])
        self._segment = _boundaries([self._contrast_stop(i) for i in range(n)])
        self._clause = _boundaries([self._clause_stop(i) for i in range(n)])

    def sentence(self, start: int, end: int) -> Tuple[int, int]:
        """Bounds of the sentence holding [start, end); the end marks are included."""
        begin, nxt = self._sentence
        hi = nxt[min(end, len(self.keys))]
        while hi < len(self.keys) and self.keys[hi] in SENTENCE_END:
            hi += 1
        return begin[max(0, min(start, len(self.keys)))], hi

    def segment(self, start: int, end: int) -> Tuple[int, int]:
        """The part of the sentence between contrast words ("but", ";") around the match."""
        begin, nxt = self._segment
        return begin[max(0, start)], nxt[min(end, len(self.keys))]

    def clause(self, start: int, end: int) -> Tuple[int, int]:
        """The clause around the match: between punctuation and contrast words."""
        begin, nxt = self._clause
        return begin[max(0, start)], nxt[min(end, len(self.keys))]

    def _find(self, phrase: Phrase, lo: int, hi: int) -> Iterable[int]:
        """Start positions of ``phrase`` wholly inside [lo, hi)."""
        positions = self._positions.get(phrase[0])
        if not positions:
            return
        n = len(phrase)
        keys = self.keys
        for i in positions[bisect_left(positions, max(lo, 0)) :]:
            if i + n > hi:
                break
            if n == 1 or tuple(keys[i : i + n]) == phrase:
                yield i

    def _contrast_stop(self, i: int) -> bool:
        key = self.keys[i]
        return not self.covered[i] and (key in SENTENCE_END or key in CONTRAST or key == ";")

    def _clause_stop(self, i: int) -> bool:
        key = self.keys[i]
        if key == "," and i + 1 < len(self.keys) and self.keys[i + 1] in LIST_CONTINUATION:
            return False  # "watch for, like, trouble breathing": still the same clause
        return not self.covered[i] and (key in CLAUSE_PUNCT or key in CONTRAST)

    def _occurs(self, phrases: Sequence[Phrase], lo: int, hi: int) -> Iterable[Tuple[int, int]]:
        """(start, end) of every occurrence of a phrase inside [lo, hi) outside matches."""
        hi = min(hi, len(self.keys))
        for phrase in phrases:
            for i in self._find(phrase, lo, hi):
                if not any(self.covered[i : i + len(phrase)]):
                    yield i, i + len(phrase)

    def _any(self, phrases: Sequence[Phrase], lo: int, hi: int) -> bool:
        return next(iter(self._occurs(phrases, lo, hi)), None) is not None

    def _preceded_by(self, phrases: Sequence[Phrase], i: int, reach: int = 3) -> bool:
        """Whether one of ``phrases`` ends at most ``reach`` tokens before position i."""
        return any(i - end <= reach for _, end in self._occurs(phrases, max(0, i - reach - 4), i))
