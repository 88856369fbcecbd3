"""Shared by the accuracy tests and the benchmarks: load the test sets, score them.

"Answer" means what the patient would get: the retrieval topic for FAQ questions
(``faq/onset``), otherwise the intent. A clarification (``nlu_fallback``) counts
as a miss, because the patient did not get the answer yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Sequence, Tuple

import yaml

from clinic_assistant.contract import LEVELS
from clinic_assistant.nlu_yaml import read_examples
from clinic_assistant.settings import PROJECT_ROOT

NLU_TEST_SET = PROJECT_ROOT / "tests" / "nlu" / "test_set.yml"
RED_FLAG_CASES = PROJECT_ROOT / "tests" / "red_flags" / "cases.yml"


def load_nlu_examples(path: Path = NLU_TEST_SET) -> List[Tuple[str, str]]:
    """(text, expected answer) pairs from a Rasa NLU YAML file."""
    return [(example.text, example.intent) for example in read_examples(path)]


def answer_of(parse_data: Dict[str, Any]) -> str:
    """The answer a parse leads to: ``faq/<topic>`` or the intent name."""
    name = str((parse_data.get("intent") or {}).get("name"))
    if name == "faq":
        # A ResponseSelector without `retrieval_intent` (Rasa's default) files its
        # answer under "default" instead of "faq".
        selectors = parse_data.get("response_selector") or {}
        selector = selectors.get("faq") or selectors.get("default") or {}
        key = (selector.get("response") or {}).get("intent_response_key")
        return str(key or name)
    return name


@dataclass(frozen=True)
class Scores:
    """Accuracy and macro-F1 of predicted answers against expected ones."""

    accuracy: float
    macro_f1: float
    n: int
    errors: Tuple[Tuple[str, str, str], ...]  # (expected, predicted, text)


def score(examples: Sequence[Tuple[str, str]], predict: Callable[[str], str]) -> Scores:
    """Score ``predict`` on ``examples``."""
    expected: List[str] = []
    predicted: List[str] = []
    errors: List[Tuple[str, str, str]] = []
    for text, gold in examples:
        guess = predict(text)
        expected.append(gold)
        predicted.append(guess)
        if guess != gold:
            errors.append((gold, guess, text))
    return Scores(
        accuracy=sum(e == p for e, p in zip(expected, predicted, strict=True)) / len(expected),
        macro_f1=macro_f1(expected, predicted),
        n=len(expected),
        errors=tuple(errors),
    )


def macro_f1(expected: Sequence[str], predicted: Sequence[str]) -> float:
    """F1 averaged over the expected labels (a fallback is a wrong label)."""
    labels = sorted(set(expected))
    total = 0.0
    for label in labels:
        tp = sum(e == p == label for e, p in zip(expected, predicted, strict=True))
        fp = sum(p == label != e for e, p in zip(expected, predicted, strict=True))
        fn = sum(e == label != p for e, p in zip(expected, predicted, strict=True))
        total += 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)
    return total / len(labels)


@dataclass(frozen=True)
class RedFlagCase:
    """One labelled message of the red-flag test set."""

    text: str
    level: str  # "emergency", "urgent" or "none"
    symptoms: Tuple[str, ...]


def load_red_flag_cases(path: Path = RED_FLAG_CASES) -> List[RedFlagCase]:
    """The held-out red-flag test set."""
    data = yaml.safe_load(path.read_text("utf-8"))
    return [
        RedFlagCase(case["text"], case["level"], tuple(case.get("symptoms") or ()))
        for case in data["cases"]
    ]


@dataclass(frozen=True)
class RedFlagScores:
    """Recall on danger signs, false alarms on the rest, level agreement."""

    recall: float
    precision: float
    false_alarm_rate: float
    level_accuracy: float
    missed: Tuple[str, ...]
    false_alarms: Tuple[str, ...]
    wrong_level: Tuple[str, ...]


def score_red_flags(cases: Iterable[RedFlagCase], detect: Callable[[str], str]) -> RedFlagScores:
    """``detect`` maps a message to "emergency", "urgent" or "none"."""
    tp = fp = fn = tn = 0
    level_ok = 0
    missed: List[str] = []
    alarms: List[str] = []
    wrong: List[str] = []
    for case in cases:
        level = detect(case.text)
        positive, fired = case.level in LEVELS, level in LEVELS
        if positive and fired:
            tp += 1
            if level == case.level:
                level_ok += 1
            else:
                wrong.append(case.text)
        elif positive:
            fn += 1
            missed.append(case.text)
        elif fired:
            fp += 1
            alarms.append(case.text)
        else:
            tn += 1
    return RedFlagScores(
        recall=tp / max(tp + fn, 1),
        precision=tp / max(tp + fp, 1),
        false_alarm_rate=fp / max(fp + tn, 1),
        level_accuracy=level_ok / max(tp, 1),
        missed=tuple(missed),
        false_alarms=tuple(alarms),
        wrong_level=tuple(wrong),
    )
