"""The safety net with its learned second opinion (real sentence encoder, real bank):
danger signs told in new ways, look-alikes, long messages, Spanish, and the dev set.

These need the encoder's files (models/minilm): the ``net`` fixture makes them
``model`` tests (tests/conftest.py)."""

from __future__ import annotations

import pytest

from clinic_assistant.red_flags.net import SafetyNet, default_net
from evaluation.red_flags import BLIND_DEV, Outcome, load_set, score_cases


@pytest.fixture(scope="module")
def net() -> SafetyNet:
    return default_net()


@pytest.mark.parametrize(
    "text",
    [
        "since the shots I have to stop for air halfway through every sentence",
        "I can't lie flat in bed anymore, I wake up gasping",
        "when I drink, water comes out of my nose",
        "my words come out all wrong since yesterday",
        "my left eyelid keeps closing on its own since the injection",
        "my chest is tight and I'm hungry for air",
    ],
)
def test_indirect_signs_escalate_or_ask(net: SafetyNet, text: str) -> None:
    assessment = net.assess(text)
    assert assessment.fired or assessment.ask_level is not None, text


@pytest.mark.parametrize(
    "text",
    [
        "my dad has COPD, can he drive me to the appointment?",
        "my dog is wheezing a lot this week",
        "I had bronchitis two years ago, does that matter?",
        "I was so worried about a droopy eyelid but it never came",
        "is slurred speech ever a side effect?",
        "can it affect my vision?",
    ],
)
def test_look_alikes_do_not_escalate(net: SafetyNet, text: str) -> None:
    assert not net.assess(text).fired, text


def test_a_risk_question_is_marked_for_the_risk_answer(net: SafetyNet) -> None:
    assessment = net.assess("can botox cause trouble swallowing?")
    assert not assessment.fired and assessment.risk_question


def test_a_sign_at_the_end_of_a_long_message(net: SafetyNet) -> None:
    text = (
        "Hi, I wanted to ask about moving my next appointment because of a work trip, and "
        "whether I should bring my medication list again. Also, is parking free? One more "
        "thing: since Tuesday I cannot finish a sentence without stopping to breathe."
    )
    assessment = net.assess(text)
    assert assessment.level == "emergency" or assessment.ask_level == "emergency"


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("no puedo respirar desde la inyección", "emergency"),
        ("mi mamá no puede tragar nada", "emergency"),
        ("veo doble desde ayer", "urgent"),
    ],
)
def test_spanish_danger_signs(net: SafetyNet, text: str, level: str) -> None:
    assessment = net.assess(text)
    assert assessment.level == level and assessment.language == "es"


def test_spanish_risk_question_is_not_escalated(net: SafetyNet) -> None:
    assert not net.assess("¿puede causar problemas para tragar?").fired


def test_dev_set_figures_hold(net: SafetyNet) -> None:
    """A regression guard at the figures measured on the dev set (tuned on it)."""
    cases, _ = load_set(BLIND_DEV)

    def system(text: str) -> Outcome:
        assessment = net.assess(text)
        return Outcome(assessment.level or "none", assessment.ask_level is not None)

    scores = score_cases(cases, system)
    assert scores.recall_or_asked is not None and scores.recall_or_asked >= 0.95
    assert scores.false_alarm_rate is not None and scores.false_alarm_rate <= 0.10


def test_the_classifier_decides_with_the_net(net: SafetyNet) -> None:
    """In the pipeline: a flag from the second opinion escalates; an unsure one adds
    the safety check the reply renderer turns into the safety line."""
    from rasa.shared.nlu.training_data.message import Message

    from clinic_assistant.components.red_flag_classifier import RedFlagClassifier, get_detector
    from clinic_assistant.contract import RED_FLAG_CHECK_KEY, red_flag_of

    classifier = RedFlagClassifier({"second_opinion": True}, get_detector(), net)
    flagged = Message(data={"text": "my left eyelid keeps closing on its own since the botox"})
    unsure = Message(data={"text": "talking makes me a bit puffed"})
    plain = Message(data={"text": "how long does it last?"})
    classifier.process([flagged, unsure, plain])
    red_flag = red_flag_of(flagged.as_dict())
    assert red_flag is not None and red_flag.level == "urgent"
    assert "drooping_eyelids" in red_flag.symptoms
    assert red_flag_of(unsure.as_dict()) is None
    assert unsure.get(RED_FLAG_CHECK_KEY)["level"] == "emergency"
    assert red_flag_of(plain.as_dict()) is None and plain.get(RED_FLAG_CHECK_KEY) is None
