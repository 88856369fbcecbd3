"""Fuzzing the input path: the normaliser, the payload screen and the REST body parser.

Properties that must hold for ANY input (text of every Unicode category, lone
surrogates included, and arbitrary bytes): no exception escapes, the result is
bounded, valid and stable, and nothing but a known payload starts with "/".
"""

from __future__ import annotations

import json
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from clinic_assistant.channels.rest import RequestRefused, parse_body
from clinic_assistant.text.incoming import prepare
from clinic_assistant.text.normalize import MAX_MESSAGE_CHARS, normalize_text
from clinic_assistant.text.payloads import EXTRA_PAYLOADS
from tests.fuzz import profiles  # noqa: F401 - loads the profile

ANY_TEXT = st.text(alphabet=st.characters(exclude_categories=[]), max_size=400)
KNOWN = frozenset({"/faq/onset", "/human_handoff"}) | EXTRA_PAYLOADS
#: Characters that hide a word from the detector, and the forms it is typed in.
HIDERS = st.sampled_from(
    [
        "\u200b",
        "\u200c",
        "\u200d",
        "\u00ad",
        "\u2060",
        "\ufeff",
        "\u200e",
        "\u200f",
        "\u202a",
        "\u202c",
        "\u0301",
        "\u0308",
    ]
)


@given(ANY_TEXT)
def test_normalised_text_is_valid_stable_and_clean(text: str) -> None:
    out = normalize_text(text)
    out.encode("utf-8")  # no lone surrogate left
    assert normalize_text(out) == out
    assert out == out.strip() and "  " not in out
    assert not any(unicodedata.category(ch) in ("Cf", "Cc", "Cs") for ch in out)
    assert len(out) <= 18 * len(text)  # NFKC's largest expansion


@given(ANY_TEXT, st.integers(min_value=0, max_value=5))
def test_prepared_text_is_bounded_and_only_known_payloads_keep_their_slash(
    text: str, repeat: int
) -> None:
    incoming = prepare(text * (repeat * 500 + 1), KNOWN)
    assert len(incoming.text) <= MAX_MESSAGE_CHARS
    assert not incoming.text.startswith("/") or incoming.text in KNOWN


@given(st.lists(HIDERS, max_size=6), st.integers(min_value=1, max_value=8))
def test_hidden_characters_inside_a_word_are_removed(hiders: list, at: int) -> None:
    word = "breathing"
    hidden = word[:at] + "".join(hiders) + word[at:]
    assert normalize_text(f"trouble {hidden}") == "trouble breathing"


@given(st.binary(max_size=300))
def test_any_body_is_parsed_or_refused_with_400(body: bytes) -> None:
    try:
        sender, message, metadata = parse_body(body)
    except RequestRefused as refused:
        assert refused.status == 400
        return
    assert isinstance(sender, str) and isinstance(message, str) and metadata == {}


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ANY_TEXT, inner, max_size=3),
    max_leaves=4,
)


@given(
    st.dictionaries(
        st.sampled_from(["sender", "message", "metadata", "input_channel"]), JSON, max_size=4
    )
)
def test_any_json_object_is_parsed_or_refused_with_400(data: dict) -> None:
    body = json.dumps(data).encode()
    try:
        sender, message, metadata = parse_body(body)
    except RequestRefused as refused:
        assert refused.status == 400
        return
    assert sender == data["sender"] and message == data["message"] and metadata == {}
