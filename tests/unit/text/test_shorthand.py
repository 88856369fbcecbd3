"""Text-message shorthand spelled out for the encoder, and its table validated."""

from __future__ import annotations

from typing import Any

import pytest

from clinic_assistant.text.shorthand import (
    ShorthandError,
    expand_shorthand,
    parse_shorthand,
    shorthand_table,
)


@pytest.mark.parametrize(
    ("texted", "plain"),
    [
        ("wen do u get the shots", "when do you get the shots"),
        ("can i eat b4 the appt?", "can i eat before the appointment?"),
        ("w/ or w/o my meds", "with or without my medicines"),
        ("THX!!", "thanks!!"),
        ("Y is this done", "why is this done"),
        ("how many wks til it works", "how many weeks until it works"),
        ("dont know abt the emg", "do not know about the emg"),
    ],
)
def test_shorthand_words_are_spelled_out(texted: str, plain: str) -> None:
    assert expand_shorthand(texted) == plain


@pytest.mark.parametrize(
    "text",
    [
        "every 4 months",  # a number, not "for"
        "I feel ill",  # sick, not "I will"
        "do I bring my id",
        "it's ok I don't mind",  # only whole words: "s" and "t" after an apostrophe stay
        "it\u2019s the EMG",
        "botox 2ml",
    ],
)
def test_words_that_may_mean_something_else_are_kept(text: str) -> None:
    expanded = expand_shorthand(text)
    assert expanded.replace("okay", "ok") == text


def test_the_shipped_table_is_valid_and_lowercase() -> None:
    table = shorthand_table()
    assert table["b4"] == "before"
    assert all(key == key.lower() for key in table)


@pytest.mark.parametrize(
    "data",
    [
        None,
        {"version": 2, "words": {"u": "you"}},
        {"version": 1, "words": {}},
        {"version": 1, "words": {"u": ""}},
        {"version": 1, "words": {"two words": "x"}},
        {"version": 1, "words": {"u": "you"}, "extra": 1},
    ],
)
def test_a_malformed_table_is_refused(data: Any) -> None:
    with pytest.raises(ShorthandError):
        parse_shorthand(data, "test")


def test_cost_is_linear_in_the_length() -> None:
    """A 100,000-character run of shorthand is one pass, not a backtracking search."""
    text = "u " * 50_000
    assert expand_shorthand(text).count("you") == 50_000
