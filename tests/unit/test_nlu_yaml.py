"""The one reader of Rasa NLU YAML examples."""

from __future__ import annotations

from pathlib import Path

from clinic_assistant.nlu_yaml import Example, read_examples


def test_examples_carry_their_intent_and_block_metadata(tmp_path: Path) -> None:
    path = tmp_path / "set.yml"
    path.write_text(
        'version: "3.1"\nnlu:\n'
        "- intent: faq/duration\n  metadata:\n    style: sms\n  examples: |\n"
        "    - how long it last\n    -   \n    not an example\n"
        "- intent: greet\n  examples: |\n    - hi [Ana](name)\n"
        "- synonym: botox\n",
        "utf-8",
    )
    assert read_examples(path) == [
        Example("how long it last", "faq/duration", {"style": "sms"}),
        Example("hi Ana", "greet", {}),
    ]


def test_an_empty_file_has_no_examples(tmp_path: Path) -> None:
    path = tmp_path / "empty.yml"
    path.write_text("", "utf-8")
    assert read_examples(path) == []
