"""Loads and validates the red-flag lexicon (``clinic_assistant/lexicons/red_flags.yml``).

The lexicon is data: canonical symptoms with their level and the phrases patients use
for them, reusable word classes, explicit misspellings, and "expected effects" (such
as neck weakness) that mask a red flag they look like. This module knows nothing of
spaCy; :mod:`clinic_assistant.red_flags.detector` compiles the patterns.

Pattern syntax (one pattern is a string of space-separated items; words are matched
by lemma, case-insensitively, so "swallow" also matches "swallowing" and "swallowed"):

``word``            a word; ``a|b|c`` any one of them; ``a_b`` a phrase ("kind_of")
``@name``           any member of the word class ``name`` (members may be phrases)
``[a|@name]``       optional, at most once
``{a|@name}``       a filler: any number (also none) of these single words
                    ("is getting really")
``*``               a gap of up to three words inside the clause
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Sequence, Tuple, Union

import yaml

LEXICON_PATH = Path(__file__).resolve().parent / "red_flags.yml"
# Highest first. Fixed in code: the dialogue has one intent per level
# (red_flag_emergency, red_flag_urgent), so a new level needs code and domain changes.
LEVELS: Tuple[str, ...] = ("emergency", "urgent")
GAP_WORDS = 3
# Guards against a pattern whose phrase alternatives multiply into a huge matcher.
MAX_EXPANSIONS = 2000

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_WORD = re.compile(r"^[^\s\[\]{}|@*]+$")


class LexiconError(ValueError):
    """The lexicon file is malformed; the message says where and why."""


@dataclass(frozen=True)
class Slot:
    """One position in a pattern: any of ``alternatives`` (each a phrase of words).

    A ``filler`` slot takes any number (also none) of its single words.
    """

    alternatives: Tuple[Tuple[str, ...], ...]
    optional: bool = False
    filler: bool = False


@dataclass(frozen=True)
class Gap:
    """Up to ``words`` arbitrary words (the detector keeps them inside one clause)."""

    words: int = GAP_WORDS


Item = Union[Slot, Gap]


@dataclass(frozen=True)
class Pattern:
    """A parsed pattern; ``requires`` lists symptoms one of which must also fire."""

    source: str
    items: Tuple[Item, ...]
    requires: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Symptom:
    """A canonical red-flag symptom."""

    name: str
    level: str
    patterns: Tuple[Pattern, ...]
    description: str = ""


@dataclass(frozen=True)
class ExpectedEffect:
    """A harmless look-alike (e.g. neck weakness): its matches mask ``masks``."""

    name: str
    masks: Tuple[str, ...]
    patterns: Tuple[Pattern, ...]
    description: str = ""


@dataclass(frozen=True)
class Lexicon:
    """The whole lexicon, validated."""

    symptoms: Tuple[Symptom, ...]
    expected: Tuple[ExpectedEffect, ...] = ()
    spellings: Mapping[str, str] = field(default_factory=dict)
    source: str = "<memory>"

    def symptom(self, name: str) -> Symptom:
        """The symptom called ``name`` (KeyError if there is none)."""
        for symptom in self.symptoms:
            if symptom.name == name:
                return symptom
        raise KeyError(name)

    @property
    def symptom_names(self) -> Tuple[str, ...]:
        """Canonical names in lexicon order."""
        return tuple(symptom.name for symptom in self.symptoms)

    def words(self) -> List[str]:
        """Every word the patterns mention (for the typo normaliser)."""
        found: List[str] = []
        entries: List[Union[Symptom, ExpectedEffect]] = [*self.symptoms, *self.expected]
        for entry in entries:
            for pattern in entry.patterns:
                for item in pattern.items:
                    if isinstance(item, Slot):
                        for alternative in item.alternatives:
                            found.extend(alternative)
        return found


def level_rank(level: str) -> int:
    """0 for the most serious level; used to pick the highest level that fired."""
    return LEVELS.index(level)


def load_lexicon(path: Union[Path, str] = LEXICON_PATH) -> Lexicon:
    """Reads and validates the lexicon file; raises LexiconError with the reason."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except OSError as error:
        raise LexiconError(f"{path}: cannot read the lexicon ({error.strerror})") from error
    except yaml.YAMLError as error:
        raise LexiconError(f"{path}: not valid YAML ({error})") from error
    return parse_lexicon(data, source=str(path))


def parse_lexicon(data: Any, source: str = "<memory>") -> Lexicon:
    """Validates already-loaded lexicon data (a mapping) and builds the Lexicon."""
    where = source
    if not isinstance(data, Mapping):
        raise LexiconError(f"{where}: the lexicon must be a mapping, got {type(data).__name__}")
    unknown = set(data) - {"version", "classes", "spellings", "symptoms", "expected"}
    if unknown:
        raise LexiconError(f"{where}: unknown top-level keys {sorted(unknown)}")
    if data.get("version") != 1:
        raise LexiconError(f"{where}: 'version' must be 1, got {data.get('version')!r}")

    classes = _parse_classes(data.get("classes", {}), where)
    spellings = _parse_spellings(data.get("spellings", {}), where)

    raw_symptoms = data.get("symptoms")
    if not isinstance(raw_symptoms, list) or not raw_symptoms:
        raise LexiconError(f"{where}: 'symptoms' must be a non-empty list")
    symptoms = [_parse_symptom(raw, i, classes, where) for i, raw in enumerate(raw_symptoms)]
    names = [symptom.name for symptom in symptoms]
    _check_unique(names, f"{where}: symptoms")

    raw_expected = data.get("expected", [])
    if not isinstance(raw_expected, list):
        raise LexiconError(f"{where}: 'expected' must be a list")
    expected = [_parse_expected(raw, i, classes, where) for i, raw in enumerate(raw_expected)]
    _check_unique(names + [effect.name for effect in expected], f"{where}: symptom/expected")

    for symptom in symptoms:
        for pattern in symptom.patterns:
            for required in pattern.requires:
                if required not in names or required == symptom.name:
                    raise LexiconError(
                        f"{where}: symptom {symptom.name}: pattern {pattern.source!r} "
                        f"requires unknown symptom {required!r}"
                    )
    for effect in expected:
        for masked in effect.masks:
            if masked not in names:
                raise LexiconError(
                    f"{where}: expected {effect.name}: masks unknown symptom {masked!r}"
                )
    return Lexicon(tuple(symptoms), tuple(expected), spellings, source)


def parse_pattern(
    text: str, classes: Mapping[str, Sequence[Tuple[str, ...]]], requires: Sequence[str] = ()
) -> Pattern:
    """Parses one pattern string (syntax in the module docstring)."""
    if not isinstance(text, str) or not text.strip():
        raise LexiconError("empty pattern")
    items: List[Item] = []
    for raw in text.split():
        if raw == "*":
            items.append(Gap())
            continue
        optional, filler, body = False, False, raw
        if raw.startswith("[") or raw.endswith("]"):
            if not (raw.startswith("[") and raw.endswith("]")) or len(raw) < 3:
                raise LexiconError(f"unbalanced [ ] in {raw!r}")
            optional, body = True, raw[1:-1]
        elif raw.startswith("{") or raw.endswith("}"):
            if not (raw.startswith("{") and raw.endswith("}")) or len(raw) < 3:
                raise LexiconError(f"unbalanced {{ }} in {raw!r}")
            optional, filler, body = True, True, raw[1:-1]
        alternatives = _parse_alternatives(body, classes, raw)
        if filler and any(len(alternative) > 1 for alternative in alternatives):
            raise LexiconError(f"a filler {{ }} takes single words only: {raw!r}")
        items.append(Slot(tuple(alternatives), optional, filler))
    if not any(isinstance(item, Slot) and not item.optional for item in items):
        raise LexiconError("a pattern needs at least one required word")
    if isinstance(items[0], Gap) or isinstance(items[-1], Gap):
        raise LexiconError("a gap '*' must be between words")
    if any(isinstance(a, Gap) and isinstance(b, Gap) for a, b in itertools.pairwise(items)):
        raise LexiconError("two gaps in a row")
    if expansions(items) > MAX_EXPANSIONS:
        raise LexiconError(f"too many phrase combinations (> {MAX_EXPANSIONS})")
    return Pattern(text, tuple(items), tuple(requires))


def expansions(items: Sequence[Item]) -> int:
    """How many token sequences the phrase alternatives multiply into."""
    total = 1
    for item in items:
        if isinstance(item, Slot):
            phrases = sum(1 for alternative in item.alternatives if len(alternative) > 1)
            total *= (1 if phrases < len(item.alternatives) else 0) + phrases + item.optional
    return total


def _parse_alternatives(
    body: str, classes: Mapping[str, Sequence[Tuple[str, ...]]], raw: str
) -> List[Tuple[str, ...]]:
    alternatives: List[Tuple[str, ...]] = []
    for part in body.split("|"):
        if not part:
            raise LexiconError(f"empty alternative in {raw!r}")
        if part.startswith("@"):
            if part[1:] not in classes:
                raise LexiconError(f"unknown class {part!r} in {raw!r}")
            alternatives.extend(classes[part[1:]])
        else:
            words = tuple(word for word in part.split("_") if word)
            if not words or not all(_WORD.match(word) for word in words):
                raise LexiconError(f"bad word {part!r} in {raw!r}")
            alternatives.append(tuple(word.lower() for word in words))
    # Keep order, drop duplicates.
    return list(dict.fromkeys(alternatives))


def _parse_classes(raw: Any, where: str) -> Dict[str, List[Tuple[str, ...]]]:
    if not isinstance(raw, Mapping):
        raise LexiconError(f"{where}: 'classes' must be a mapping of name -> list of phrases")
    classes: Dict[str, List[Tuple[str, ...]]] = {}
    for name, members in raw.items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise LexiconError(f"{where}: bad class name {name!r}")
        if not isinstance(members, list) or not members:
            raise LexiconError(f"{where}: class {name} must be a non-empty list")
        phrases: List[Tuple[str, ...]] = []
        for member in members:
            if not isinstance(member, str) or not member.split():
                raise LexiconError(
                    f"{where}: class {name} has an empty or non-text member {member!r} "
                    "(YAML reads bare yes/no/on/off as booleans: quote them)"
                )
            words = tuple(member.lower().split())
            if not all(_WORD.match(word) for word in words):
                raise LexiconError(f"{where}: class {name}: bad member {member!r}")
            phrases.append(words)
        classes[name] = list(dict.fromkeys(phrases))
    return classes


def _parse_spellings(raw: Any, where: str) -> Dict[str, str]:
    if not isinstance(raw, Mapping):
        raise LexiconError(f"{where}: 'spellings' must be a mapping of word -> misspellings")
    spellings: Dict[str, str] = {}
    for word, variants in raw.items():
        if not isinstance(word, str) or not _WORD.match(word):
            raise LexiconError(f"{where}: spellings: bad word {word!r}")
        if not isinstance(variants, list) or not variants:
            raise LexiconError(f"{where}: spellings: {word} needs a non-empty list")
        for variant in variants:
            if not isinstance(variant, str) or not _WORD.match(variant):
                raise LexiconError(f"{where}: spellings: {word}: bad misspelling {variant!r}")
            variant = variant.lower()
            if spellings.get(variant, word.lower()) != word.lower():
                raise LexiconError(
                    f"{where}: spellings: {variant!r} is listed for both "
                    f"{spellings[variant]!r} and {word!r}"
                )
            spellings[variant] = word.lower()
    return spellings


def _parse_entry_patterns(
    raw: Any, classes: Mapping[str, Sequence[Tuple[str, ...]]], where: str
) -> Tuple[Pattern, ...]:
    if not isinstance(raw, list) or not raw:
        raise LexiconError(f"{where}: 'patterns' must be a non-empty list")
    patterns: List[Pattern] = []
    for entry in raw:
        requires: Sequence[str] = ()
        text: Any = entry
        if isinstance(entry, Mapping):
            text, requires = entry.get("pattern"), entry.get("requires", [])
            if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
                raise LexiconError(f"{where}: 'requires' must be a list of symptom names")
            if set(entry) - {"pattern", "requires"}:
                raise LexiconError(f"{where}: pattern keys are 'pattern' and 'requires'")
        if not isinstance(text, str):
            raise LexiconError(f"{where}: a pattern must be a string, got {text!r}")
        try:
            patterns.append(parse_pattern(text, classes, requires))
        except LexiconError as error:
            raise LexiconError(f"{where}: pattern {text!r}: {error}") from None
    return tuple(patterns)


def _parse_symptom(
    raw: Any, index: int, classes: Mapping[str, Sequence[Tuple[str, ...]]], where: str
) -> Symptom:
    here = f"{where}: symptoms[{index}]"
    if not isinstance(raw, Mapping):
        raise LexiconError(f"{here}: must be a mapping with name, level and patterns")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise LexiconError(f"{here}: 'name' must be a snake_case name, got {name!r}")
    here = f"{here} ({name})"
    unknown = set(raw) - {"name", "level", "description", "patterns"}
    if unknown:
        raise LexiconError(f"{here}: unknown keys {sorted(unknown)}")
    level = raw.get("level")
    if level not in LEVELS:
        raise LexiconError(f"{here}: unknown level {level!r} (known: {', '.join(LEVELS)})")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise LexiconError(f"{here}: 'description' must be text")
    patterns = _parse_entry_patterns(raw.get("patterns"), classes, here)
    return Symptom(name, level, patterns, description.strip())


def _parse_expected(
    raw: Any, index: int, classes: Mapping[str, Sequence[Tuple[str, ...]]], where: str
) -> ExpectedEffect:
    here = f"{where}: expected[{index}]"
    if not isinstance(raw, Mapping):
        raise LexiconError(f"{here}: must be a mapping with name, masks and patterns")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise LexiconError(f"{here}: 'name' must be a snake_case name, got {name!r}")
    here = f"{here} ({name})"
    unknown = set(raw) - {"name", "masks", "description", "patterns"}
    if unknown:
        raise LexiconError(f"{here}: unknown keys {sorted(unknown)}")
    masks = raw.get("masks")
    if not isinstance(masks, list) or not masks or not all(isinstance(m, str) for m in masks):
        raise LexiconError(f"{here}: 'masks' must be a non-empty list of symptom names")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise LexiconError(f"{here}: 'description' must be text")
    patterns = _parse_entry_patterns(raw.get("patterns"), classes, here)
    return ExpectedEffect(name, tuple(masks), patterns, description.strip())


def _check_unique(names: Sequence[str], where: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise LexiconError(f"{where}: duplicate name {name!r}")
        seen.add(name)


def describe(lexicon: Lexicon) -> str:
    """One line per symptom: name, level and number of patterns (for tools)."""
    return "\n".join(
        f"{symptom.name:24} {symptom.level:9} {len(symptom.patterns)} patterns"
        for symptom in lexicon.symptoms
    )


__all__ = [
    "LEVELS",
    "LEXICON_PATH",
    "ExpectedEffect",
    "Gap",
    "Lexicon",
    "LexiconError",
    "Pattern",
    "Slot",
    "Symptom",
    "describe",
    "level_rank",
    "load_lexicon",
    "parse_lexicon",
    "parse_pattern",
]
