"""normalize_text: what hides a danger sign is removed, and nothing else changes."""

from __future__ import annotations

import pytest

from clinic_assistant.text.normalize import MAX_MESSAGE_CHARS, normalize_text, truncate


@pytest.mark.parametrize(
    "typed",
    [
        "trouble\nbreathing",
        "trouble\r\n\tbreathing",
        "trouble\u2028breathing",
        "trouble\u00a0breathing",
        "trouble brea\u200bthing",
        "trouble brea\u00adthing",
        "trouble brea\u2060thing",
        "\u200ftrouble breathing",
        "\u202etrouble breathing\u202c",
        "\ufefftrouble breathing",
        "trouble brea\u0301thing",
        "trouble b\u0308reathing",
        "ｔｒｏｕｂｌｅ ｂｒｅａｔｈｉｎｇ",  # noqa: RUF001
        "𝐭𝐫𝐨𝐮𝐛𝐥𝐞 𝐛𝐫𝐞𝐚𝐭𝐡𝐢𝐧𝐠",  # noqa: RUF001
        "  trouble   breathing  ",
        "trouble\x00breathing",
        "trouble\x1b[2Jbreathing",
    ],
)
def test_hidden_forms_of_a_danger_sign_read_as_the_plain_words(typed: str) -> None:
    assert normalize_text(typed).replace("[2J", "") in ("trouble breathing",)


def test_lone_surrogates_become_spaces_and_pairs_are_joined() -> None:
    assert normalize_text("I can\ud800t breathe") == "I can t breathe"
    assert normalize_text("ok \ud83d\ude42") == "ok \U0001f642"
    normalize_text("\udfff" * 10).encode("utf-8")  # encodable: no exception


@pytest.mark.parametrize(
    "kept",
    [
        "¿Cuánto tiempo dura el efecto del botox?",
        "I can't swallow 🙂",
        "Dr. Sader",
        "straße",
        "it's 3 weeks",
        "日本語のテキスト",
    ],
)
def test_ordinary_text_is_unchanged(kept: str) -> None:
    assert normalize_text(kept) == kept


def test_it_is_idempotent_on_the_hidden_forms() -> None:
    text = "ｂｒｅａ\u200bthing\u0301\n\n x"  # noqa: RUF001
    assert normalize_text(normalize_text(text)) == normalize_text(text)


def test_truncate_cuts_at_a_space_near_the_limit() -> None:
    text = "word " * 1000
    cut = truncate(text)
    assert len(cut) <= MAX_MESSAGE_CHARS and text.startswith(cut) and not cut.endswith("wor")
    assert truncate("x" * 5000) == "x" * MAX_MESSAGE_CHARS
    assert truncate("short") == "short"
