"""`make bench`, red-flag section: the safety net on the blind sets, beside today's.

Systems, side by side on the same sets:

* ``today (9106d50)``: the detector as it was on main before issue 7, frozen in
  ``bench/legacy_red_flags`` (rules only, no dialogue state).
* ``rules + second opinion``: this tree's :class:`~clinic_assistant.red_flags.net.SafetyNet`
  (rules, sentence-embedding bank, context judgments, safety question).
* ``whole assistant (REST)``: the trained model and dialogue on real servers
  (:mod:`bench.red_flag_assistant`), for the figures only it has: the safety
  question, risk questions answered with the risk facts, and the sets'
  conversations (escalated turns, turns after an escalation that keep the
  instruction, "help has come" turns that end it).

``blind_test.yml`` is the untouched set: only aggregate figures of it are written,
never its messages. ``blind_dev.yml`` (tuned on) and ``cases.yml`` (the regression
set) also list the misses. Run alone: ``python -m bench.red_flags``.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from evaluation.red_flags import (
    BLIND_DEV,
    BLIND_DEV2,
    BLIND_DEV3,
    BLIND_TEST,
    REGRESSION,
    Case,
    CaseScores,
    ConversationScores,
    Outcome,
    load_set,
    score_cases,
    score_conversations,
)

REPORT = Path(__file__).resolve().parent / "report"
SETS = {"blind_test (untouched)": BLIND_TEST, "blind_dev (tuned on)": BLIND_DEV,
        "blind_dev2 (tuned on)": BLIND_DEV2, "blind_dev3 (tuned on)": BLIND_DEV3,
        "cases.yml (regression)": REGRESSION}  # fmt: skip
UNTOUCHED = "blind_test (untouched)"


def legacy_system() -> Callable[[str], Outcome]:
    """Today's detector (bench/legacy_red_flags)."""
    from bench.legacy_red_flags.detector import detect_text

    detect_text("warm up")
    return lambda text: Outcome(level=detect_text(text).level or "none")


def net_system() -> Callable[[str], Outcome]:
    """This tree's safety net (rules + second opinion), without the NLU."""
    from clinic_assistant.red_flags.net import default_net

    net = default_net()
    net.assess("warm up")

    def run(text: str) -> Outcome:
        assessment = net.assess(text)
        return Outcome(level=assessment.level or "none", asked=assessment.ask_level is not None)

    return run


def _row(name: str, s: CaseScores) -> str:
    def f(value: Optional[float]) -> str:
        return "-" if value is None else f"{value:.3f}"

    return (
        f"| {name} | {s.n} | {f(s.recall)} | {f(s.recall_or_asked)} | {f(s.right_level)} | "
        f"{f(s.false_alarm_rate)} | {f(s.asked_on_harmless)} | {f(s.spanish_recall)} | "
        f"{f(s.risk_answered)} | {s.risk_escalated} | {s.ms_per_message:.2f} |"
    )


HEADER = (
    "| system | n | recall | recall incl. question | right level | false alarms | "
    "question on harmless | Spanish recall | risk answered | risk escalated | ms/msg |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|"
)


def run_cases(
    systems: Dict[str, Callable[[str], Outcome]], sets: Dict[str, Path]
) -> Dict[str, Dict[str, CaseScores]]:
    """Scores every system on every set."""
    results: Dict[str, Dict[str, CaseScores]] = {}
    for set_name, path in sets.items():
        cases, _ = load_set(path)
        results[set_name] = {name: score_cases(cases, system) for name, system in systems.items()}
    return results


def misses(cases: Sequence[Case], scores: CaseScores) -> List[str]:
    """Readable misses and false alarms (never for the untouched set)."""
    out = [f"missed ({cases[i].kind}): {cases[i].text}" for i in scores.missed_ids]
    out += [f"false alarm ({cases[i].kind}): {cases[i].text}" for i in scores.false_alarm_ids]
    out += [f"wrong level ({cases[i].level}): {cases[i].text}" for i in scores.wrong_level_ids]
    return out


def report(results: Dict[str, Dict[str, CaseScores]], extra: str = "") -> str:
    """The markdown section."""
    lines = ["## Red flags (issue 7)", ""]
    for set_name, by_system in results.items():
        lines += [f"### {set_name}", "", HEADER]
        lines += [_row(name, scores) for name, scores in by_system.items()]
        for name, scores in by_system.items():
            if scores.missed_by_kind or scores.false_alarms_by_kind:
                lines.append(
                    f"\n{name}: missed by kind {scores.missed_by_kind}; "
                    f"false alarms by kind {scores.false_alarms_by_kind}"
                )
        lines.append("")
    return "\n".join(lines) + extra


def conversation_report(conversations: Dict[str, ConversationScores]) -> str:
    """The conversations table (the whole assistant only); dev failures by id."""
    if not conversations:
        return ""

    def f(value: Optional[float]) -> str:
        return "-" if value is None else f"{value:.3f}"

    lines = [
        "",
        "### Conversations (whole assistant over REST)",
        "",
        "| set | conversations | danger-sign turns escalated or asked | "
        "later turns keep the instruction | all-clear turns end it | failed |",
        "|---|---|---|---|---|---|",
    ]
    for name, c in conversations.items():
        failed = len(c.failed_ids) if name == UNTOUCHED else ", ".join(c.failed_ids) or "none"
        lines.append(
            f"| {name} | {c.conversations} | {f(c.escalated)} ({c.escalation_turns}) | "
            f"{f(c.kept)} ({c.sticky_turns}) | {f(c.released)} ({c.released_turns}) | {failed} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """Runs the section; writes bench/report/red_flags.md and .json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=["today", "net", "assistant"], default=None)
    args = parser.parse_args(argv)
    systems: Dict[str, Callable[[str], Outcome]] = {}
    if args.only in (None, "today"):
        systems["today (9106d50)"] = legacy_system()
    if args.only in (None, "net"):
        systems["rules + second opinion"] = net_system()
    started = time.perf_counter()
    stack = None
    conversations: Dict[str, ConversationScores] = {}
    if args.only in (None, "assistant"):
        from bench.red_flag_assistant import case_system, conversation_runner, running_assistant

        stack = running_assistant()
        assistant, reader = next(stack)
        systems["whole assistant (REST)"] = case_system(assistant, reader)
    try:
        results = run_cases(systems, SETS)
        if stack is not None:
            play = conversation_runner(assistant, reader)
            for set_name, path in SETS.items():
                _, talks = load_set(path)
                if talks:
                    conversations[set_name] = score_conversations(talks, play)
    finally:
        if stack is not None:
            stack.close()
    text = report(results) + conversation_report(conversations)
    dev_cases, _ = load_set(BLIND_DEV)
    for name, scores in results["blind_dev (tuned on)"].items():
        text += f"\n### blind_dev misses: {name}\n\n" + "\n".join(
            f"- {line}" for line in misses(dev_cases, scores)
        )
    REPORT.mkdir(parents=True, exist_ok=True)
    (REPORT / "red_flags.md").write_text(text + "\n", "utf-8")
    figures = {
        set_name: {name: {k: v for k, v in asdict(s).items() if not k.endswith("_ids")}
                   for name, s in by_system.items()}
        for set_name, by_system in results.items()
    }  # fmt: skip
    figures["conversations"] = {
        name: {k: v for k, v in asdict(c).items() if k != "failed_ids"}
        for name, c in conversations.items()
    }
    (REPORT / "red_flags.json").write_text(json.dumps(figures, indent=2), "utf-8")
    print(report(results) + conversation_report(conversations))
    print(f"({time.perf_counter() - started:.0f} s)")
    return figures


if __name__ == "__main__":
    main()
