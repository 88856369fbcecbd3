"""Context judgments on whole sentences: when a possible danger sign is not one now.

The rules' own context handling (:mod:`clinic_assistant.red_flags.context`) judges
each rule match by the words around it. A second-opinion vote has no match, only a
sentence or clause that resembles a danger sign, so it is judged here, on the words
of its sentence, with the tables of ``lexicons/red_flag_context.yml``: a general
question about risks, a condition or worry, a denial, a past episode that is over,
relief that it never came, someone else's long-standing condition given as
background, a pet. Rule matches are also checked for the last three, which the rules
do not know. A sign that it is happening now (see the ``now`` table) keeps any flag
up, except for a pet. Also here: the message's language and short yes/no answers.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

from clinic_assistant.red_flags.tables import Tables, words_of

QUESTION = "question"
HYPOTHETICAL = "hypothetical"
NEGATED = "negated"
HISTORICAL = "historical"
RELIEF = "relief"
BACKGROUND = "background"
PET = "pet"
#: Reasons that may lower a rule match too (the rules judge the others themselves;
#: a past-episode table would also lower "it hasn't cleared up").
FOR_RULES = frozenset({RELIEF, BACKGROUND, PET})
YES, NO, ALL_CLEAR = "yes", "no", "all_clear"
#: An all-clear is a short message, not a story that mentions one.
MAX_ALL_CLEAR_WORDS = 16


def contains(words: Sequence[str], phrases: Sequence[Tuple[str, ...]]) -> bool:
    """Whether one of ``phrases`` occurs in ``words`` as whole words, in order."""
    for phrase in phrases:
        n = len(phrase)
        first = phrase[0]
        for i, word in enumerate(words):
            if word == first and tuple(words[i : i + n]) == phrase:
                return True
    return False


def is_question(sentence: str, words: Sequence[str], tables: Tables) -> bool:
    """A question: a "?" or "¿", or a question opener first."""
    return (
        "?" in sentence
        or "¿" in sentence
        or (bool(words) and words[0] in tables.words("question_openers"))
    )


def lowering(sentence: str, piece: str, tables: Tables) -> Optional[str]:
    """Why a danger sign told in ``piece`` (of ``sentence``) is not one now, or None."""
    words = words_of(sentence)
    clause = words_of(piece)
    if contains(words, tables["pets"]) and not contains(words, tables["people_affected"]):
        return PET
    if contains(words, tables["now"]):
        return None
    if is_question(sentence, words, tables) and contains(words, tables["risk_words"]):
        return QUESTION
    if contains(words, tables["relief"]):
        return RELIEF
    if contains(words, tables["others"]) and contains(words, tables["long_standing"]):
        return BACKGROUND
    if contains(words, tables["hypothetical"]):
        return HYPOTHETICAL
    if contains(words, tables["past"]):
        return HISTORICAL
    if contains(clause, tables["negation"]):
        return NEGATED
    return None


def language(text: str, tables: Tables) -> str:
    """ "es" when the message reads as Spanish, else "en"."""
    words = words_of(text)
    spanish = sum(word in tables.words("spanish_words") for word in words)
    english = sum(word in tables.words("english_words") for word in words)
    marked = any(char in text for char in "¿¡ñ") and spanish >= 1
    return "es" if (spanish >= 2 and spanish > english) or (marked and english == 0) else "en"


def short_answer(text: str, tables: Tables) -> Optional[str]:
    """ "yes" / "no" for a bare answer, "all_clear" for "help is here", else None."""
    words = words_of(text)
    if not words:
        return None
    if words in tables["answer_yes"]:
        return YES
    if words in tables["answer_no"]:
        return NO
    if (
        len(words) <= MAX_ALL_CLEAR_WORDS
        and "?" not in text
        and contains(words, tables["all_clear"])
    ):
        return ALL_CLEAR
    return None
