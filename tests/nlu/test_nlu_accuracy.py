"""The trained model gives the right answer to held-out patient phrasings."""

from __future__ import annotations

from evaluation.scoring import answer_of, load_nlu_examples, score
from tests.conftest import Parser

MIN_ANSWER_ACCURACY = 0.92


def test_the_test_set_is_big_and_covers_every_answer() -> None:
    examples = load_nlu_examples()
    assert len(examples) >= 200
    faq_topics = {gold for _, gold in examples if gold.startswith("faq/")}
    assert len(faq_topics) >= 24


def test_answer_accuracy_on_the_held_out_set(parser: Parser) -> None:
    scores = score(load_nlu_examples(), lambda text: answer_of(parser.parse(text)))
    shown = "\n".join(f"{e} -> {p}: {t}" for e, p, t in scores.errors)
    assert scores.accuracy >= MIN_ANSWER_ACCURACY, (
        f"accuracy {scores.accuracy:.3f} (macro-F1 {scores.macro_f1:.3f}) on "
        f"{scores.n} examples; misses:\n{shown}"
    )


def test_test_set_lines_are_not_in_the_training_data() -> None:
    from clinic_assistant.settings import PROJECT_ROOT

    training: set[str] = set()
    for path in (PROJECT_ROOT / "data" / "nlu").glob("*.yml"):
        training.update(text.lower() for text, _ in load_nlu_examples(path))
    overlap = [text for text, _ in load_nlu_examples() if text.lower() in training]
    assert not overlap, f"held-out lines copied from the training data: {overlap}"


def test_medicine_names_are_recognised_and_mapped_to_the_sheets_groups(parser: Parser) -> None:
    parse = parser.parse("I take warfarin, baclofen and gentamicin, do I need to say?")
    groups = {(e["entity"], e["value"].lower()) for e in parse["entities"]}
    assert {
        ("BLOOD_THINNER", "warfarin"),
        ("MUSCLE_RELAXER", "baclofen"),
        ("ANTIBIOTIC", "gentamicin"),
    } <= groups
    assert answer_of(parse) == "faq/prepare_medicines"


def test_a_benign_side_effect_gets_the_side_effect_answer(parser: Parser) -> None:
    parse = parser.parse("my neck is a bit sore and bruised after the shots, is that normal?")
    assert answer_of(parse) == "faq/side_effects"
