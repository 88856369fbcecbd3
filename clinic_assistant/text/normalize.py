"""Unicode normalisation of a patient's message, once, before anything reads it.

Danger signs must be found however the text was typed or pasted: a zero-width space
or a soft hyphen inside "breathing", a right-to-left mark in front, fullwidth letters,
a combining accent, a line break between "trouble" and "breathing", a lone surrogate
from a broken client. :func:`normalize_text` maps all of these to the plain text a
reader sees, in time linear in the input's length:

1. lone surrogates (not valid Unicode; they break encoders and the JSON store) become
   spaces; valid surrogate pairs from UTF-16 clients are joined;
2. format characters (Unicode category Cf: zero-width space/joiners, soft hyphen,
   bidi marks and embeddings, word joiner, BOM, tag characters) are dropped;
3. compatibility forms are folded (NFKC): fullwidth and mathematical letters,
   ligatures, superscripts;
4. combining marks written as separate characters on an ASCII letter are dropped
   ("brea\u0301thing" -> "breathing"); precomposed letters of other languages
   ("cuánto") are kept, so Spanish and names are not mangled;
5. control characters become spaces and every run of whitespace (line breaks, tabs,
   no-break and other Unicode spaces) becomes one space; the ends are stripped.

Every channel calls it (``clinic_assistant.channels``), and the NLU pipeline's first
component (:class:`clinic_assistant.components.text_normalizer.TextNormalizer`) calls
it again, so a channel that forgot cannot hide a danger sign. It is idempotent.
"""

from __future__ import annotations

import re
import unicodedata

#: Messages longer than this (in characters, after normalisation) are not read in
#: full: the patient is asked for a shorter message, and only this much is checked
#: for danger signs. The widget caps input at 500 characters and an SMS is at most
#: 1,600, so only a misbehaving client reaches it.
MAX_MESSAGE_CHARS = 2000

_SPACES = re.compile(r"\s+")
_MARKS = frozenset(("Mn", "Me"))


def _repair_surrogates(text: str) -> str:
    """Join valid surrogate pairs; replace lone surrogates with a space."""
    if not any("\ud800" <= ch <= "\udfff" for ch in text):
        return text
    joined = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return joined.replace("\ufffd", " ")


def normalize_text(text: str) -> str:
    """The message as a reader sees it; see the module docstring for the steps."""
    text = _repair_surrogates(text)
    out: list[str] = []
    last = ""
    for ch in text:
        category = unicodedata.category(ch)
        if category == "Cf":
            continue
        if category in _MARKS:
            if last.isascii() and last.isalpha():
                continue  # a mark typed on an ASCII letter hides the word
            out.append(ch)
            continue
        if category == "Cc":
            ch = " "  # NUL, ESC, DEL ...; tab and line breaks fold below anyway
        else:
            # Per character first, so that a fullwidth letter is an ASCII letter
            # before the test above sees the mark that follows it.
            ch = unicodedata.normalize("NFKC", ch)
        out.append(ch)
        last = ch[-1:] if ch else last
    folded = unicodedata.normalize("NFKC", "".join(out))
    return _SPACES.sub(" ", folded).strip()


def truncate(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """The first ``limit`` characters, cut at a space when there is one near the end."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    cut = head.rfind(" ", limit - 100)
    return head[:cut] if cut > 0 else head
