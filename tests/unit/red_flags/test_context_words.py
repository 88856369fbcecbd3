"""The context rules' word tables (lexicons/red_flag_context_rules.yml) load and validate."""

from __future__ import annotations

import copy
from typing import Any, Callable, Dict

import pytest
import yaml

from clinic_assistant.red_flags.context import words
from clinic_assistant.red_flags.context.words import (
    RULES_PATH,
    ContextWordsError,
    load_words,
    parse_words,
)


def _raw() -> Dict[str, Any]:
    data: Dict[str, Any] = yaml.safe_load(RULES_PATH.read_text("utf-8"))
    return data


def test_the_file_loads_and_every_table_is_read() -> None:
    loaded = load_words()
    assert set(loaded.tables) == set(words.WORDS.tables)
    loaded.words("sentence_end")
    assert loaded.phrases("negation_pre")[:2] == (("no",), ("not",))
    # The surface-text tables are exactly those the rules compare with the words.
    text_form = {name for name, table in loaded.tables.items() if table.form == "text"}
    assert text_form == {
        "actuality_text",
        "resolved_text",
        "resolution_negators",
        "resolved_word",
        "earlier_final",
        "told_past",
        "resolved_subject",
        "not_progressive",
    }


def test_derived_tables_hold_their_parts() -> None:
    assert words.SENTENCE_END < words.CLAUSE_PUNCT
    assert words.PERSONAL_SUBJECTS | words.POSSESSIVES < words.PERSONAL
    assert words.CONTRAST | words.SUBJECTS < words.NEGATION_STOP
    assert words.RESOLVED_BY_FIRST["went"][0] == ("went", "away", "on", "its", "own")


def _set(path: str, value: Any) -> Callable[[Dict[str, Any]], None]:
    def change(data: Dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node[part]
        node[last] = value

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set("version", 2), "'version: 1' is needed"),
        (_set("tables", []), "'tables' must be a mapping"),
        (_set("tables.aux.form", "lemma"), "table aux: 'form' must be key or text"),
        (_set("tables.aux.phrases", ["will i"]), "table aux: exactly one of words, phrases"),
        (_set("tables.aux.words", []), "table aux: a non-empty list is needed"),
        (_set("tables.aux.words", ["can", False]), "table aux: bad entry False"),
        (_set("tables.aux.words", ["Can"]), "table aux: bad entry 'Can'"),
        (_set("tables.aux.words", ["can not"]), r"bad entry 'can not' \(one word\)"),
        (_set("tables.feel_like.phrases", ["feel  like"]), "single spaces"),
        (_set("tables.aux.words", ["can", "can"]), "table aux: 'can' twice"),
    ],
)
def test_a_broken_file_fails_with_the_reason(change: Any, message: str) -> None:
    data = copy.deepcopy(_raw())
    change(data)
    with pytest.raises(ContextWordsError, match=message):
        parsed = parse_words(data)
        parsed.words("aux")
        parsed.phrases("feel_like")


def test_a_missing_an_unknown_or_a_wrongly_kinded_table_fails() -> None:
    data = _raw()
    del data["tables"]["aux"]
    with pytest.raises(ContextWordsError, match="table aux is missing"):
        parse_words(data).words("aux")
    parsed = parse_words(_raw())
    with pytest.raises(ContextWordsError, match="table aux must have phrases"):
        parsed.phrases("aux")
    with pytest.raises(ContextWordsError, match="unknown tables"):
        parsed.check_all_read()  # nothing read yet
