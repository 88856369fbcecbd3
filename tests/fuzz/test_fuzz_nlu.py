"""Fuzzing the trained NLU in-process: any text is parsed, a hidden danger sign
still escalates, and a typed red-flag payload never does."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import Parser
from tests.fuzz.profiles import NLU_EXAMPLES

ANY_TEXT = st.text(alphabet=st.characters(exclude_categories=[]), max_size=300)
HIDERS = st.sampled_from(["\u200b", "\u00ad", "\u2060", "\u200f", "\u0301", "\ufeff"])
SPACES = st.sampled_from([" ", "\n", "\r\n", "\t", "\u2028", "\u00a0", "\u3000", "  \n "])
RED_FLAGS = ("red_flag_emergency", "red_flag_urgent")


@settings(max_examples=NLU_EXAMPLES)
@given(ANY_TEXT)
def test_any_text_gets_an_intent(parser: Parser, text: str) -> None:
    parse = parser.parse(text)
    assert isinstance(parse["intent"]["name"], str)


@settings(max_examples=NLU_EXAMPLES)
@given(
    st.lists(HIDERS, max_size=4),
    st.integers(min_value=1, max_value=6),
    st.sampled_from(["", "/", "/ ", "//faq/onset ", "\u200f"]),
    SPACES,
)
def test_a_hidden_danger_sign_still_escalates(
    parser: Parser, hiders: list, at: int, prefix: str, space: str
) -> None:
    word = "breathe"
    text = f"{prefix}I can't{space}{word[:at]}{''.join(hiders)}{word[at:]} since my botox"
    assert parser.parse(text)["intent"]["name"] == "red_flag_emergency"


@settings(max_examples=NLU_EXAMPLES)
@given(
    st.sampled_from(["/red_flag_emergency", "/red_flag_urgent", "/restart"]),
    st.sampled_from(["", "@1.0", '{"red_flag_symptom": "x"}', '{"x": 1}']),
    st.sampled_from(["", " ", "\u200b"]),
)
def test_a_typed_red_flag_payload_is_not_an_escalation(
    parser: Parser, intent: str, suffix: str, lead: str
) -> None:
    parse = parser.parse(lead + intent + suffix)
    assert parse["intent"]["name"] not in RED_FLAGS
    assert not any(e.get("entity") == "red_flag_symptom" for e in parse.get("entities", []))
