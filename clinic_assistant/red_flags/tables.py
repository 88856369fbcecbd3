"""Loads and validates the word tables of ``lexicons/red_flag_context.yml``.

The tables are data (phrases, English and Spanish), read once; a malformed file
fails at start-up with the reason, never later on a patient's message.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, FrozenSet, Mapping, Tuple

import yaml

TABLES_PATH = Path(__file__).resolve().parent.parent / "lexicons" / "red_flag_context.yml"
#: Every table the code reads; the file must have exactly these.
TABLE_NAMES: FrozenSet[str] = frozenset(
    {
        "not_now", "now", "question_openers", "risk_words", "hearsay", "conditional",
        "hypothetical", "young_children", "child_normal",
        "negation", "long_ago", "idioms", "past",
        "relief", "others", "long_standing", "pets", "people_affected", "spanish_words",
        "english_words", "answer_yes", "answer_no", "all_clear",
        "help_people", "help_here", "help_places", "help_at", "clinic_contact", "not_yet",
        "not_reached",
    }
)  # fmt: skip
_PHRASE = re.compile(r"^[^\s].{0,60}$")


class TablesError(ValueError):
    """The tables file is malformed; the message says where and why."""


@dataclass(frozen=True)
class Tables:
    """Phrase tables by name; each phrase a tuple of lowercase words."""

    phrases: Mapping[str, Tuple[Tuple[str, ...], ...]]

    def __getitem__(self, name: str) -> Tuple[Tuple[str, ...], ...]:
        return self.phrases[name]

    def words(self, name: str) -> FrozenSet[str]:
        """The single-word phrases of a table."""
        return frozenset(p[0] for p in self.phrases[name] if len(p) == 1)


def words_of(text: str) -> Tuple[str, ...]:
    """Lowercase words of a text, apostrophes kept ("can't", "i'm"), accents kept."""
    return tuple(re.findall(r"[\w']+", text.lower().replace("\u2019", "'")))


def parse_tables(data: Any, where: str = "<memory>") -> Tables:
    """Validates loaded table data."""
    if not isinstance(data, Mapping) or data.get("version") != 1:
        raise TablesError(f"{where}: a mapping with 'version: 1' is needed")
    raw = data.get("tables")
    if not isinstance(raw, Mapping):
        raise TablesError(f"{where}: 'tables' must be a mapping of name -> phrases")
    missing, unknown = TABLE_NAMES - set(raw), set(raw) - TABLE_NAMES
    if missing or unknown:
        raise TablesError(f"{where}: missing tables {sorted(missing)}, unknown {sorted(unknown)}")
    phrases: Dict[str, Tuple[Tuple[str, ...], ...]] = {}
    for name, items in raw.items():
        if not isinstance(items, list) or not items:
            raise TablesError(f"{where}: table {name} must be a non-empty list")
        parsed = []
        for item in items:
            if not isinstance(item, str) or not _PHRASE.match(item) or item != item.lower():
                raise TablesError(
                    f"{where}: table {name}: bad phrase {item!r} (lowercase text; quote "
                    "yes/no/on/off, which YAML reads as booleans)"
                )
            words = words_of(item)
            if not words:
                raise TablesError(f"{where}: table {name}: no words in {item!r}")
            parsed.append(words)
        phrases[name] = tuple(dict.fromkeys(parsed))
    return Tables(phrases)


@functools.lru_cache(maxsize=4)
def load_tables(path: Path = TABLES_PATH) -> Tables:
    """Reads and validates the tables file (once per path)."""
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise TablesError(f"{path}: cannot read the tables ({error})") from error
    return parse_tables(data, str(path))
