"""Context rules on normalised tokens: negation, hypotheticals, questions, the past.

Sentences are written as the detector's keys (lowercase lemmas), with the symptom
match in [brackets]; ``key=text`` gives a surface form where the rule needs it
("be=am have=having").
"""

from __future__ import annotations

from typing import List, Optional, Tuple

import pytest

from clinic_assistant.red_flags.context import (
    HISTORICAL,
    HYPOTHETICAL,
    NEGATED,
    QUESTION,
    Context,
    Token,
    suppression_reason,
)


def parse(sentence: str) -> Tuple[List[Token], int, int]:
    """Tokens and the [bracketed] match span of a written sentence."""
    tokens: List[Token] = []
    start = end = -1
    for word in sentence.split():
        if word.startswith("["):
            start, word = len(tokens), word[1:]
        closing = word.endswith("]")
        word = word.rstrip("]")
        key, _, text = word.partition("=")
        tokens.append(Token(key, text or key))
        if closing:
            end = len(tokens)
    assert 0 <= start < end, sentence
    return tokens, start, end


def reason(sentence: str) -> Optional[str]:
    tokens, start, end = parse(sentence)
    covered = [start <= i < end for i in range(len(tokens))]
    return suppression_reason(tokens, start, end, covered)


@pytest.mark.parametrize(
    "sentence",
    [
        "no [trouble breathe]",
        "i be not have any [problem swallow]",
        "i do not have [trouble breathe] or swallow",
        "i have never have [double vision]",
        "without any [trouble swallow]",
        "deny [dysphagia]",
        "my husband do not have [trouble breathe]",
        "[trouble swallow] ? no",
        "[choke] - none",
        "[trouble swallow] be not a issue",  # keys: "an" -> "a"
        "no symptom , like [trouble breathe]",
        "deny [dysphagia] , [dyspnea] , or [dysarthria]",
        "no nausea , dizziness , or [trouble swallow]",
        "i do not think i be have any [trouble swallow]",
        "i do not feel like i be [choke] or anything",
        "the nurse ask me to report any [breathe or swallow issue]",  # asked about, not had
    ],
)
def test_negated(sentence: str) -> None:
    assert reason(sentence) == NEGATED


@pytest.mark.parametrize(
    "sentence",
    [
        "no pain but i [can not swallow]",  # the scope ends at "but"
        "no pain , [trouble swallow]",  # ... and at a comma
        "no fever and i [can not breathe]",  # ... and at a new subject
        "no i [can not breathe]",  # "no" as an answer
        "no , [choke]",
        "not sure why i [can not swallow]",  # pseudo-negation
        "i can not stop [choke]",
        "i do not know if i [have trouble swallow]",
        "i [can not swallow]",  # the "not" is part of the symptom
        "no pain just [trouble swallow]",
        "no fever , [trouble breathe]",  # no "or": maybe a report, so it fires
        "i have no [trouble swallow] until yesterday",  # negation undone
        "i never have [trouble swallow] before but now i do",
        "no problem at all with my neck or my arm or my leg , but i [can not breathe]",
        "i [can not swallow] any food",  # "any" after the sign
        "any noise and i [can not breathe]",  # ... or before another clause
    ],
)
def test_not_negated(sentence: str) -> None:
    assert reason(sentence) is None


def test_negation_window_is_limited() -> None:
    assert reason("no one at the clinic call me back about my [trouble swallow]") is None
    assert reason("not that i know of but my neck and shoulder and head [droop]") is None


@pytest.mark.parametrize(
    "sentence",
    [
        "what if it spread and i [can not breathe]",
        "if i [have trouble swallow] should i go to the er ?",
        "in case my [throat close] who do i call",
        "will i [have trouble swallow] after the injection ?",
        "should i worry about [droopy eyelid]",
        "can botox cause [trouble swallow] ?",
        "i read that botox can cause [breathe problem]",
        "i be worry about [choke]",
        "i be worry i may=might [have trouble swallow]",
        "be [choke] a side effect ?",
        "[trouble swallow] be rare",
        "can it make my [eyelid droop] ?",
        "i be afraid i will [choke]",
        "how would i know if i be=am have=having an [allergic reaction] ?",
        "my neighbour have [droopy eyelid] after botox , what be the odds for me ?",
        "patient sometimes have [trouble breathe] after botox , right ?",
        "the leaflet say [trouble breathe] can happen",
        "my neighbor say botox can make you [choke]",
        "my friend say she [can not swallow] after botox , will that happen to me ?",
        "what should i watch for , like [trouble breathe] ?",
        "be [choke] normal after botox ?",
        "do botox make you [choke] ?",
    ],
)
def test_hypothetical(sentence: str) -> None:
    assert reason(sentence) == HYPOTHETICAL


@pytest.mark.parametrize(
    "sentence",
    [
        "if i lie down i [can not breathe]",  # the main clause reports it
        "be it normal that i [can not swallow] since the shot ?",
        "i have=i've have=had [trouble swallow] since tuesday , how long do botox last ?",
        "should i worry that i [can not swallow] ?",
        "should i worry about my [droopy eyelid]",
        "i be afraid because i [can not swallow]",
        "i feel like i be go=going to [choke]",
        "what if i be=am have=having an [allergic reaction] right now",
        "i be not sure if i be=am have=having [trouble swallow]",
        "why [can not i swallow] ?",
        "am i have=having an [allergic reaction] ?",
        "people say i sound [drunk]",
        "dad say the tv look [doubled]",  # a person's report, not hearsay
        "my patient [can not breathe]",
        "the nurse say to call if i have [trouble breathe] , and i do",
        "should i be worried that [swallowing be hard] ?",
        "i be afraid to eat because [thing get stick]",
        "how do i stop [choke] on water ?",
        "my mom [can not breathe] , this be scary to me",
        "[see 2 of] everything lol be that normal",
    ],
)
def test_reported_now_despite_the_frame(sentence: str) -> None:
    assert reason(sentence) is None


@pytest.mark.parametrize(
    "sentence",
    [
        "how long do [double vision] last ?",
        "what be [dysphagia] ?",
        "be it normal to have [trouble swallow] after botox ?",
        "what be the warning sign ? [trouble swallow] ?",
        "my cousin say=said botox can spread and [paralyse] your throat . be=is that true ?",
    ],
)
def test_general_question(sentence: str) -> None:
    assert reason(sentence) == QUESTION


@pytest.mark.parametrize(
    "sentence",
    [
        "how long will my [double vision] last ?",
        "be it normal to feel like food get [stick in my throat] ?",
        "how long do [double vision] last ? i have=i've have=had it for 3 day",
        "[can not swallow] ?",  # a report with the subject left out
        "can=could [barely breathe] last night",
        "be my [eyelid droop=drooping] ?",
        "my husband say=says i be=am [slur=slurring] my word . be=is that true ?",
        "my cousin say=said botox can [paralyse] you . i [can not swallow] . be=is that true ?",
    ],
)
def test_question_that_reports_a_symptom(sentence: str) -> None:
    assert reason(sentence) is None


@pytest.mark.parametrize(
    "sentence",
    [
        "last year i have=had [trouble swallow] but it go=went away=away",
        "year ago i have=had [slur speech]",
        "i use to [choke] as a kid",
        "i have=had [blurry vision] for a day but it be=is go=gone now",
        "i have=had [trouble swallow] last week . it go=went away=away .",
        "my voice be=was [hoarse] but it be back=back to=to normal=normal",
        "i have always have [trouble swallow] pill",
        "i have=had [a bad reaction] to dysport once . do i need to tell the doctor ?",
        "have=had [a reaction] to dysport before , should i tell them",
    ],
)
def test_historical(sentence: str) -> None:
    assert reason(sentence) == HISTORICAL


@pytest.mark.parametrize(
    "sentence",
    [
        "last year i have=had trouble swallow but now i [can not breathe]",
        "i have=had [trouble swallow] , it go=went away=away , but now it be back",
        "i still have [trouble swallow] but the choke go=went away=away",
        "it have=has not=n't go=gone away=away , i [can not swallow]",
        "[trouble swallow] that have=has not=not go=gone away=away",
        "i have=had [trouble swallow] yesterday",  # past alone is not resolved
        "i [choke] and pass=passed out",  # "passed out" is no resolution
        "i get botox a year ago and now i [can not swallow]",
        "my [throat close=closed up] before i could call anyone",  # "before" opens a clause
        "i have=had [a bad reaction] once and now my throat be close=closing",
        "i be=was [have=having trouble breathe] before",  # progressive: maybe still now
    ],
)
def test_not_historical(sentence: str) -> None:
    assert reason(sentence) is None


def test_triggers_inside_a_match_are_ignored() -> None:
    # "went away" is part of a voice_changes match here, so it resolves nothing.
    tokens, start, end = parse("i [have trouble swallow] and my voice go=went away=away")
    covered = [start <= i < end for i in range(len(tokens))]
    covered[6] = covered[7] = covered[8] = True  # "voice go away" is matched too
    assert Context(tokens, covered).reason(start, end) is None


def test_boundaries() -> None:
    tokens, start, end = parse("hi . no pain , i [can not swallow] ; help")
    context = Context(tokens)
    assert context.sentence(start, end) == (2, 11)
    assert context.segment(start, end) == (2, 9)  # only "but", ";" and sentences end it
    assert context.clause(start, end) == (5, 9)
