"""The sentence-level context tables (validated data) and judgments, and the pieces
the second opinion embeds. No encoder needed."""

from __future__ import annotations

from typing import Any, Dict

import pytest
import yaml

from clinic_assistant.red_flags import cues
from clinic_assistant.red_flags.lexicon import load_lexicon
from clinic_assistant.red_flags.second_opinion import BANK_PATH, BankError, load_bank, parse_bank
from clinic_assistant.red_flags.segments import MAX_PIECE_CHARS, MAX_PIECES, pieces
from clinic_assistant.red_flags.tables import (
    TABLE_NAMES,
    TABLES_PATH,
    Tables,
    TablesError,
    load_tables,
    parse_tables,
)


@pytest.fixture(scope="module")
def tables() -> Tables:
    return load_tables()


def test_the_tables_file_loads_with_every_table(tables: Tables) -> None:
    assert set(tables.phrases) == TABLE_NAMES
    assert all(tables[name] for name in TABLE_NAMES)


def _raw() -> Dict[str, Any]:
    return yaml.safe_load(TABLES_PATH.read_text("utf-8"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("version"), "version"),
        (lambda d: d["tables"].pop("pets"), "missing tables ['pets']"),
        (lambda d: d["tables"].update(extra=["x"]), "unknown ['extra']"),
        (lambda d: d["tables"].update(answer_yes=[True]), "bad phrase True"),
        (lambda d: d["tables"].update(pets=["Dog"]), "bad phrase 'Dog'"),
        (lambda d: d["tables"].update(pets=[]), "non-empty list"),
    ],
)
def test_a_broken_tables_file_fails_with_the_reason(change: Any, message: str) -> None:
    data = _raw()
    change(data)
    with pytest.raises(TablesError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_tables(data, "test")


def test_the_bank_names_only_canonical_symptoms() -> None:
    names = load_lexicon().symptom_names
    bank = load_bank(symptoms=names)
    assert {symptom for symptom, _ in bank.positives} == set(names)
    assert len(bank.negatives) >= 30
    with pytest.raises(BankError, match="unknown symptom 'sneezing'"):
        parse_bank({"version": 1, "positives": {"sneezing": ["achoo"]}, "negatives": {"x": ["y"]}},
                   "digest", names)  # fmt: skip
    assert BANK_PATH.is_file()


@pytest.mark.parametrize(
    ("sentence", "reason"),
    [
        ("is slurred speech ever a side effect?", cues.QUESTION),
        ("can it affect my vision?", cues.QUESTION),
        ("¿puede causar problemas para tragar?", cues.QUESTION),
        ("my dad has COPD, can he drive me?", cues.BACKGROUND),
        ("my wife has always had trouble swallowing", cues.BACKGROUND),
        ("my dog is wheezing and can't breathe right now", cues.PET),
        ("I had bronchitis two years ago", cues.LONG_AGO),
        ("my voice went hoarse back in 2020", cues.LONG_AGO),
        ("I had a sore throat and it cleared up", cues.HISTORICAL),
        ("I nearly choked when I saw the bill", cues.IDIOM),
        # "now and then" and "desde hace años" are not "now".
        ("my brother gets double vision now and then", cues.BACKGROUND),
        ("mi mamá tiene problemas para tragar desde hace años", cues.BACKGROUND),
        # A bare "if" tells what happens now; in a question it is a condition.
        ("if I lie down I can't breathe", None),
        ("should I call you if I can't breathe?", cues.HYPOTHETICAL),
        ("si tengo dificultad para tragar,", cues.HYPOTHETICAL),
        ("I was dreading a droopy eyelid but thankfully I didn't get one", cues.RELIEF),
        ("what if I can't swallow", cues.HYPOTHETICAL),
        ("no trouble breathing", cues.NEGATED),
        # A sign that it is happening now keeps the flag up.
        ("my dad has COPD and since his shot he can't breathe now", None),
        ("is it normal that I can't lie flat since the injection?", None),
        ("I can't finish a sentence without stopping for air", None),
        ("my son can't breathe", None),
        # A small child is like anyone, unless told as what is normal for them.
        ("my baby is choking on her milk shes turning blue", None),
        ("My 2 year old drools all day because she's teething", cues.PET),
        ("the toddler wet his pants again, potty training is rough", cues.PET),
        # A horse is no longer a pet: it is how "hoarse" is often spelled.
        ("my voise is horse and weak", None),
        # What the patient read or heard, with a risk word.
        ("Leí que puede causar problemas para respirar.", cues.QUESTION),
        ("I heard it can cause trouble swallowing", cues.QUESTION),
        ("cld the shots make my eyes blurry", cues.QUESTION),
        ("casi me ahogo de la risa con el video", cues.IDIOM),
        ("that price is hard to swallow ngl", cues.IDIOM),
        ("My throat felt tight for an hour after my first treatment in 2022.", cues.LONG_AGO),
        ("my grandma is incontinent and i take care of her", cues.BACKGROUND),
    ],
)
def test_sentence_judgments(tables: Tables, sentence: str, reason: str) -> None:
    assert cues.lowering(sentence, sentence, tables) == reason


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("no puedo respirar desde la inyección", "es"),
        ("¿tengo que llevar algo a la cita?", "es"),
        ("me cuesta tragar", "es"),
        ("I can't breathe since the shot", "en"),
        ("how long does it last", "en"),
        ("si", "en"),  # too short to tell: the NLG keeps the conversation's language
    ],
)
def test_language(tables: Tables, text: str, language: str) -> None:
    assert cues.language(text, tables) == language


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("yes", cues.YES),
        ("Yes, now!", cues.YES),
        ("sí, ahorita", cues.YES),
        ("no", cues.NO),
        ("not now", cues.NO),
        ("ok the ambulance is here", cues.ALL_CLEAR),
        ("ya estoy en urgencias, gracias", cues.ALL_CLEAR),
        ("the ambulance just got here, they're taking him", cues.ALL_CLEAR),
        ("no, it's gone, that was in the first week last time", cues.ALL_CLEAR),
        ("im ok now", cues.ALL_CLEAR),  # text-message spelling
        ("its calmed down, the paramedics checked me and said im ok", cues.ALL_CLEAR),
        (
            "it's gone but my husband says I should still ask you what to do about "
            "the pain in my neck and the bruise",
            None,  # a story that mentions it, not an all clear
        ),
        ("yes I can't breathe", None),
        ("it passed? what do I do if it comes back and how long should I wait", None),
        # Help that has come, in other words: who is here, or where the patient is.
        ("The EMTs are here checking me over.", cues.ALL_CLEAR),
        ("The paramedics just arrived.", cues.ALL_CLEAR),
        ("neighbor drove me, im at the er getting checked", cues.ALL_CLEAR),
        ("Fine, my husband took me, I'm being seen in the emergency room.", cues.ALL_CLEAR),
        ("the ambulance is not here yet", None),
        ("the ambulance will be here soon", None),
        ("my husband is driving me to the hospital", None),
        ("is it at the hospital or the clinic", None),  # a question, not an arrival
        # The clinic reached: ends an urgent state only (the classifier says so).
        ("I called and spoke to the nurse, they're seeing me this afternoon.", cues.CLINIC_CONTACT),
        ("ya me llamaron de la clinica, voy mañana temprano", cues.CLINIC_CONTACT),
        ("I called the clinic but nobody answered", None),
    ],
)
def test_short_answers(tables: Tables, text: str, answer: str) -> None:
    assert cues.short_answer(text, tables) == answer


def test_pieces_are_sentences_and_clauses_with_offsets() -> None:
    text = "How long does it last? Also, my chest is tight and I can't get air."
    found = pieces(text)
    assert [p.text for p in found if p.is_sentence] == [
        "How long does it last?",
        "Also, my chest is tight and I can't get air.",
    ]
    assert "my chest is tight and I can't get air." in [p.text for p in found]
    assert all(text[p.start : p.end] == p.text for p in found)


def test_pieces_are_bounded_and_keep_the_end() -> None:
    text = "hello there. " * 5_000 + "I can't swallow"
    found = pieces(text)
    assert len(found) == MAX_PIECES
    assert found[-1].text == "I can't swallow"
    assert all(len(p.text) <= MAX_PIECE_CHARS for p in pieces("word " * 10_000))
