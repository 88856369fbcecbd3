"""Text-message shorthand spelled out, for the sentence encoder.

"wen do i come bak" and "b4 the shots" are how many patients text, and the
pretrained encoder learned its English from edited text, so such words land far
from their meaning. :func:`expand_shorthand` replaces each whole word found in
``lexicons/text_shorthand.yml`` by its plain form ("b4" -> "before") in one pass,
in time linear in the text's length. Only the text given to the encoder is
expanded; the patient's own words are what is stored, shown and read by the other
components.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Mapping

import yaml

SHORTHAND_PATH = Path(__file__).resolve().parent.parent / "lexicons" / "text_shorthand.yml"
#: A word as texted: letters and digits, with an inner "/" ("w/o") or a final one ("w/").
_WORD = re.compile(r"(?<![\w/'\u2019])[^\W_]+(?:/[^\W_]*)?(?![\w])", re.UNICODE)
_KEY = re.compile(r"^[a-z0-9]+(?:/[a-z0-9]*)?$")


class ShorthandError(ValueError):
    """The shorthand file is malformed; the message says where and why."""


def parse_shorthand(data: Any, where: str = "") -> Dict[str, str]:
    """Validates loaded shorthand data: ``{version: 1, words: {short: plain}}``."""
    if (
        not isinstance(data, Mapping)
        or data.get("version") != 1
        or set(data)
        != {
            "version",
            "words",
        }
    ):
        raise ShorthandError(f"{where}: a mapping with 'version: 1' and 'words' is needed")
    words = data["words"]
    if not isinstance(words, Mapping) or not words:
        raise ShorthandError(f"{where}: 'words' must be a non-empty mapping")
    table: Dict[str, str] = {}
    for short, plain in words.items():
        key = str(short).lower()
        if not _KEY.match(key):
            raise ShorthandError(f"{where}: bad shorthand {short!r}")
        if not isinstance(plain, str) or not plain.strip():
            raise ShorthandError(f"{where}: {short!r} needs a plain form")
        table[key] = plain.strip()
    return table


@lru_cache(maxsize=1)
def shorthand_table(path: Path = SHORTHAND_PATH) -> Dict[str, str]:
    """The validated table, read once per process."""
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except yaml.YAMLError as error:
        raise ShorthandError(f"{path}: not valid YAML ({error})") from error
    return parse_shorthand(data, str(path))


def expand_shorthand(text: str, table: Mapping[str, str] | None = None) -> str:
    """``text`` with every whole shorthand word replaced by its plain form."""
    words = shorthand_table() if table is None else table

    def plain(match: re.Match[str]) -> str:
        word = match.group()
        return words.get(word.lower(), word)

    return _WORD.sub(plain, text)
