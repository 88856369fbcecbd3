"""Splits a message into the pieces the second opinion embeds: sentences and clauses.

A danger sign may hide at the end of a long message that starts as an ordinary
question, so the whole message is never embedded alone: each sentence is, and each
clause of a sentence that has several. The number and length of the pieces are
bounded (the embedding's cost is per piece), so the cost of any message is bounded;
the rules still read the whole message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List

#: At most this many pieces per message; past it, the LAST pieces are kept (a sign
#: told at the end of a long message matters more than a greeting at its start).
MAX_PIECES = 48
#: Characters per piece; a longer sentence is cut (the encoder reads 128 tokens).
MAX_PIECE_CHARS = 300
MIN_PIECE_CHARS = 3

_SENTENCE = re.compile(r"[^.!?¡¿\n;]+[.!?;]*", re.UNICODE)
# Clause breaks inside a sentence: commas and the words that start a new clause.
_CLAUSE = re.compile(
    r",|\s(?:but|and then|and now|although|though|because|so|pero|porque|y ahora|aunque)\s",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Piece:
    """A sentence or clause of a message, with its character offsets."""

    text: str
    start: int
    end: int
    sentence: int  # index of the sentence it belongs to
    is_sentence: bool


def _cut(text: str, start: int) -> List[tuple[str, int]]:
    """Splits an over-long stretch into pieces of at most MAX_PIECE_CHARS (at spaces)."""
    out: List[tuple[str, int]] = []
    while len(text) > MAX_PIECE_CHARS:
        cut = text.rfind(" ", MAX_PIECE_CHARS // 2, MAX_PIECE_CHARS)
        cut = cut if cut > 0 else MAX_PIECE_CHARS
        out.append((text[:cut], start))
        text, start = text[cut:], start + cut
    out.append((text, start))
    return out


def pieces(text: str) -> List[Piece]:
    """Sentences and (for sentences with several) their clauses, in order, bounded."""
    found: List[Piece] = []
    for index, match in enumerate(_SENTENCE.finditer(text)):
        for sentence, start in _cut(match.group(), match.start()):
            stripped = sentence.strip()
            if len(stripped) < MIN_PIECE_CHARS:
                continue
            offset = start + sentence.index(stripped)
            found.append(Piece(stripped, offset, offset + len(stripped), index, True))
            parts = [(m.start(), m.end()) for m in _CLAUSE.finditer(stripped)]
            if not parts:
                continue
            begin = 0
            for cut_start, cut_end in [*parts, (len(stripped), len(stripped))]:
                clause = stripped[begin:cut_start].strip()
                if len(clause) >= MIN_PIECE_CHARS and clause != stripped:
                    at = offset + stripped.index(clause, begin)
                    found.append(Piece(clause, at, at + len(clause), index, False))
                begin = cut_end
    return found[-MAX_PIECES:]
