"""The context rules' word tables, from ``lexicons/red_flag_context_rules.yml``.

Read and validated once, at import: a malformed file fails the start with the table
and the reason, never later on a patient's message. Each table becomes the module
constant the rules read (a frozenset of words, or a tuple of phrases in file order).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, FrozenSet, List, Mapping, Set, Tuple

import yaml

RULES_PATH = (
    Path(__file__).resolve().parent.parent.parent / "lexicons" / "red_flag_context_rules.yml"
)
FORMS: FrozenSet[str] = frozenset({"key", "text"})
Phrase = Tuple[str, ...]
# A word is one token: no space (a newline is a token of its own: "\n").
_WORD = re.compile(r"^[^ ]{1,40}$")


class ContextWordsError(ValueError):
    """The tables file is malformed; the message says which table and why."""


@dataclass(frozen=True)
class Table:
    """One table: its form ("key" or "text") and its entries in file order."""

    form: str
    words: Tuple[str, ...] = ()
    phrases: Tuple[Phrase, ...] = ()


class ContextWords:
    """The validated tables; each is read once by name, and every one must be read."""

    def __init__(self, tables: Mapping[str, Table], where: str) -> None:
        self.tables = dict(tables)
        self.where = where
        self._unread: Set[str] = set(tables)

    def _table(self, name: str, kind: str) -> Table:
        table = self.tables.get(name)
        if table is None:
            raise ContextWordsError(f"{self.where}: table {name} is missing")
        if (kind == "words") != bool(table.words):
            raise ContextWordsError(f"{self.where}: table {name} must have {kind}")
        self._unread.discard(name)
        return table

    def words(self, name: str) -> FrozenSet[str]:
        return frozenset(self._table(name, "words").words)

    def phrases(self, name: str) -> Tuple[Phrase, ...]:
        return self._table(name, "phrases").phrases

    def check_all_read(self) -> None:
        """A table nobody reads is a typo in its name or a rule that was removed."""
        if self._unread:
            raise ContextWordsError(f"{self.where}: unknown tables {sorted(self._unread)}")


def _entries(name: str, items: Any, where: str, phrases: bool) -> List[str]:
    if not isinstance(items, list) or not items:
        raise ContextWordsError(f"{where}: table {name}: a non-empty list is needed")
    seen: Set[str] = set()
    for item in items:
        if not isinstance(item, str) or item != item.lower():
            raise ContextWordsError(
                f"{where}: table {name}: bad entry {item!r} (lowercase text; quote "
                "no/yes/on/off and numbers, which YAML reads otherwise)"
            )
        parts = item.split(" ") if phrases else [item]
        if not all(_WORD.match(part) for part in parts):
            raise ContextWordsError(
                f"{where}: table {name}: bad entry {item!r} "
                + ("(words separated by single spaces)" if phrases else "(one word)")
            )
        if item in seen:
            raise ContextWordsError(f"{where}: table {name}: {item!r} twice")
        seen.add(item)
    return items


def parse_words(data: Any, where: str = "<memory>") -> ContextWords:
    """Validates the loaded YAML: version, and per table a form and words or phrases."""
    if not isinstance(data, Mapping) or data.get("version") != 1:
        raise ContextWordsError(f"{where}: a mapping with 'version: 1' is needed")
    raw = data.get("tables")
    if not isinstance(raw, Mapping) or not raw:
        raise ContextWordsError(f"{where}: 'tables' must be a mapping of name -> table")
    tables: Dict[str, Table] = {}
    for name, spec in raw.items():
        if not isinstance(spec, Mapping) or spec.get("form") not in FORMS:
            raise ContextWordsError(f"{where}: table {name}: 'form' must be key or text")
        kinds = set(spec) - {"form"}
        if kinds not in ({"words"}, {"phrases"}):
            raise ContextWordsError(f"{where}: table {name}: exactly one of words, phrases")
        if "words" in spec:
            words = _entries(name, spec["words"], where, phrases=False)
            tables[name] = Table(spec["form"], words=tuple(words))
        else:
            items = _entries(name, spec["phrases"], where, phrases=True)
            tables[name] = Table(spec["form"], phrases=tuple(tuple(p.split(" ")) for p in items))
    return ContextWords(tables, where)


def load_words(path: Path = RULES_PATH) -> ContextWords:
    """Reads and validates the tables file."""
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ContextWordsError(f"{path}: cannot read the tables ({error})") from error
    return parse_words(data, str(path))


WORDS = load_words()
_w, _p = WORDS.words, WORDS.phrases

# ---------------------------------------------------------------- boundaries
SENTENCE_END = _w("sentence_end")
CLAUSE_PUNCT = _w("clause_punct") | SENTENCE_END
CONTRAST = _w("contrast")
SUBJECTS = _w("subjects")
PERSONAL_SUBJECTS = _w("personal_subjects")
POSSESSIVES = _w("possessives")
PEOPLE = _w("people")
PERSONAL = PERSONAL_SUBJECTS | POSSESSIVES | _w("personal")
AUX = _w("aux")
REPORT_VERBS = _w("report_verbs")
CAN_REPORT = _w("can_report")
NOT_REPORT = _w("not_report")
CAUSING = _w("causing")
LIST_CONTINUATION = _w("list_continuation")
RISK_TO_SELF = _p("risk_to_self")
LIKELIHOOD = _w("likelihood")
QUESTION_START = _w("question_start")
QUESTION_WITHOUT_MARK = _w("question_without_mark")
DISCOURSE = _w("discourse")

# ---------------------------------------------------------------- negation
NEGATION_PRE = _p("negation_pre")
PSEUDO_NEGATION = _p("pseudo_negation")
NEGATION_POST = _p("negation_post")
NEGATION_POST_PHRASE = _p("negation_post_phrase")
NEGATION_UNDONE = _p("negation_undone")
BELIEF_VERBS = _w("belief_verbs")
LIST_WORDS = _w("list_words")
NEGATION_STOP = CONTRAST | SUBJECTS | _w("negation_stop")

# ---------------------------------------------------------------- hypothetical
STRONG_HYPOTHETICAL = _p("strong_hypothetical")
IF_AS_WHETHER = _p("if_as_whether")
CLAUSE_JOINERS = _w("clause_joiners")
WEAK_HYPOTHETICAL = _p("weak_hypothetical")
WEAK_HYPOTHETICAL_POST = _p("weak_hypothetical_post")
RISK_FRAME = _p("risk_frame")
TRUTH_QUESTION = _p("truth_question")
SAME_TO_ME = _p("same_to_me")
ACQUAINTANCES = _w("acquaintances")
NUMBER_WORDS = _w("number_words")
DURATION_UNITS = _w("duration_units")
FUTURE_BEFORE = _p("future_before")

# ---------------------------------------------------------------- actuality
ACTUALITY = _p("actuality")
HYPOTHETICAL_UNDONE = _p("hypothetical_undone")
GENERIC_SUBJECTS = _w("generic_subjects")
STATEMENT_OPENERS = _w("statement_openers")
DETERMINERS = _w("determiners")
ACTUALITY_TEXT = _w("actuality_text")
NOT_ACTUAL_AFTER = _p("not_actual_after")

# ---------------------------------------------------------------- historical
DISTANT_PAST = _p("distant_past")
RESOLVED_TEXT = _p("resolved_text")
RESOLUTION_NEGATORS = _w("resolution_negators")
EARLIER_FINAL = _w("earlier_final")
TOLD_PAST = _w("told_past")
RESOLVED_WORD = _w("resolved_word")
RESOLVED_SUBJECT = _w("resolved_subject")
ANAPHORA = _w("anaphora")
RECURRENCE = _p("recurrence")
RECURRED = _p("recurred")
# Resolution phrases by their first word, longest first (the first match wins).
RESOLVED_BY_FIRST: Dict[str, List[Phrase]] = {}
for _phrase in sorted(RESOLVED_TEXT, key=len, reverse=True):
    RESOLVED_BY_FIRST.setdefault(_phrase[0], []).append(_phrase)

# ---------------------------------------------------------------- verb forms
NOT_PROGRESSIVE = _w("not_progressive")
HEARSAY = _w("hearsay")
FEEL_LIKE = _p("feel_like")
DROPPED_SUBJECT = _w("dropped_subject")
MODALS = _w("modals")

WORDS.check_all_read()
