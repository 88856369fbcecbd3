"""Context judgments on whole sentences: when a possible danger sign is not one now.

The rules' own context handling (:mod:`clinic_assistant.red_flags.context`) judges
each rule match by the words around it. A second-opinion vote has no match, only a
sentence or clause that resembles a danger sign, so it is judged here, on the words
of its sentence, with the tables of ``lexicons/red_flag_context.yml``: a general
question about risks (or what the patient read or heard about one), a condition or
worry, a denial, a past episode that is over, relief that it never came, someone
else's long-standing condition given as background, a pet or a small child doing
what is normal for them, a figure of speech, an episode told as long over. Rule
matches are also checked for those, which the rules do not know. A sign that it is
happening now (see the ``now`` table, after ``not_now`` phrases such as "now and
then" are taken out) keeps any flag up, except for a pet. Also here: the message's
language and short yes/no answers.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

from clinic_assistant.red_flags.tables import Tables, words_of

QUESTION = "question"
HYPOTHETICAL = "hypothetical"
NEGATED = "negated"
HISTORICAL = "historical"
RELIEF = "relief"
BACKGROUND = "background"
PET = "pet"
IDIOM = "idiom"
LONG_AGO = "long_ago"
#: Reasons that may lower a rule match too (the rules judge the others themselves;
#: the whole ``past`` table would also lower "it hasn't cleared up", so only the
#: ``long_ago`` one does).
FOR_RULES = frozenset({RELIEF, BACKGROUND, PET, IDIOM, LONG_AGO})
YES, NO, ALL_CLEAR = "yes", "no", "all_clear"
#: The patient has reached the clinic: ends an urgent state only.
CLINIC_CONTACT = "clinic_contact"
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


def without(words: Sequence[str], phrases: Sequence[Tuple[str, ...]]) -> Tuple[str, ...]:
    """``words`` with every occurrence of ``phrases`` taken out."""
    out: List[str] = []
    i = 0
    while i < len(words):
        hit = next((p for p in phrases if tuple(words[i : i + len(p)]) == p), None)
        if hit is None:
            out.append(words[i])
            i += 1
        else:
            i += len(hit)
    return tuple(out)


def says_now(sentence: str, tables: Tables) -> bool:
    """Whether ``sentence`` says it is happening now ("right now", "since the shots")."""
    return contains(without(words_of(sentence), tables["not_now"]), tables["now"])


def lowering(sentence: str, piece: str, tables: Tables) -> Optional[str]:
    """Why a danger sign told in ``piece`` (of ``sentence``) is not one now, or None."""
    words = words_of(sentence)
    clause = words_of(piece)
    if not contains(words, tables["people_affected"]) and (
        contains(words, tables["pets"])
        or (contains(words, tables["young_children"]) and contains(words, tables["child_normal"]))
    ):
        return PET
    if says_now(sentence, tables):
        return None
    question = is_question(sentence, words, tables)
    if (question or contains(words, tables["hearsay"])) and contains(words, tables["risk_words"]):
        return QUESTION
    if contains(words, tables["relief"]):
        return RELIEF
    if contains(words, tables["idioms"]):
        return IDIOM
    if contains(words, tables["others"]) and contains(words, tables["long_standing"]):
        return BACKGROUND
    # A sentence cut at "," is the condition of a "¿...?" that follows it.
    conditioned = question or sentence.rstrip().endswith(",")
    if contains(words, tables["hypothetical"]) or (
        conditioned and contains(words, tables["conditional"])
    ):
        return HYPOTHETICAL
    if contains(words, tables["long_ago"]):
        return LONG_AGO
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
    """ "yes" / "no" for a bare answer, "all_clear" for "help is here" (or "it has
    passed"), "clinic_contact" for "I called the clinic", else None."""
    words = words_of(text)
    if not words:
        return None
    if words in tables["answer_yes"]:
        return YES
    if words in tables["answer_no"]:
        return NO
    if len(words) > MAX_ALL_CLEAR_WORDS or "?" in text:
        return None
    if contains(words, tables["all_clear"]):
        return ALL_CLEAR
    if is_question(text, words, tables):
        return None  # "is it at the hospital or the clinic": asked, not told
    if not contains(words, tables["not_yet"]) and (
        (contains(words, tables["help_people"]) and contains(words, tables["help_here"]))
        or _at_place(words, tables)
    ):
        return ALL_CLEAR
    if contains(words, tables["clinic_contact"]) and not contains(words, tables["not_reached"]):
        return CLINIC_CONTACT
    return None


def _at_place(words: Sequence[str], tables: Tables) -> bool:
    """ "we're in the ER now", "im at the er getting checked": at a place of care."""
    for place in tables["help_places"]:
        n = len(place)
        for i in range(len(words) - n + 1):
            if tuple(words[i : i + n]) != place:
                continue
            if any(tuple(words[max(0, i - len(at)) : i]) == at for at in tables["help_at"]):
                return True
    return False
