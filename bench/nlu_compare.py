"""Answer accuracy of three designs, side by side on the same sets.

This pipeline, the pipeline of main before the semantic NLU work (9106d50, its
own config and data) and a TF-IDF + logistic regression baseline on today's data,
each scored on the untouched blind FAQ set (overall and its text-message slice),
the untouched blind conversations (turns right, through the agent with a
tracker) and the old held-out set, now a regression set.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path
from typing import Callable, Dict, List, Tuple

from clinic_assistant.settings import PROJECT_ROOT
from evaluation.blind_sets import (
    BLIND_CONVERSATIONS,
    BLIND_NLU,
    label_of_response,
    load_conversations,
    load_phrasings,
    score_conversations,
    score_phrasings,
)
from evaluation.scoring import answer_of, load_nlu_examples, score

DATA = PROJECT_ROOT / "data"
RASA = str(Path(__import__("sys").executable).parent / "rasa")


def train_rasa_nlu(config: Path, out: Path, name: str) -> Tuple[Path, float]:
    """Train an NLU-only model with ``config``; (model path, seconds)."""
    started = time.monotonic()
    # No training cache: the figure is a full training, as in a fresh clone.
    env = {**os.environ, "RASA_MAX_CACHE_SIZE": "0"}
    subprocess.run(
        [
            RASA,
            "train",
            "nlu",
            "--config",
            str(config),
            "--nlu",
            str(DATA / "nlu"),
            "--domain",
            str(PROJECT_ROOT / "domain"),
            "--out",
            str(out),
            "--fixed-model-name",
            name,
        ],
        check=True,
        cwd=PROJECT_ROOT,
        capture_output=True,
        env=env,
    )
    return out / f"{name}.tar.gz", time.monotonic() - started


def rasa_predictor(model: Path) -> Callable[[str], str]:
    """text -> answer with a trained Rasa model, in this process."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    loop = asyncio.new_event_loop()
    return lambda text: answer_of(loop.run_until_complete(agent.parse_message(text)))


def tfidf_predictor() -> Tuple[Callable[[str], str], float]:
    """TF-IDF (words + character n-grams) and logistic regression; (predict, seconds)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    texts: List[str] = []
    labels: List[str] = []
    for path in sorted((DATA / "nlu").glob("*.yml")):
        for text, label in load_nlu_examples(path):
            texts.append(text)
            labels.append(label)
    started = time.monotonic()
    model = make_pipeline(
        make_union(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
        ),
        LogisticRegression(C=10, max_iter=3000, random_state=0),
    )
    model.fit(texts, labels)
    seconds = time.monotonic() - started
    return (lambda text: str(model.predict([text])[0])), seconds


#: The pipeline as it was before the semantic NLU work (issue 8), for "before" figures.
BEFORE = "9106d50"


def before_project(out: Path) -> Path:
    """config.yml, domain/ and data/ of main at :data:`BEFORE`, in a folder of their
    own (the project's code and spaCy pipeline are today's)."""
    folder = out / f"project-{BEFORE}"
    folder.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "archive", BEFORE, "config.yml", "domain", "data"],
        check=True,
        cwd=PROJECT_ROOT,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    (folder / "models").mkdir(exist_ok=True)
    link = folder / "models" / "spacy_pipeline"
    if not link.exists():
        link.symlink_to(PROJECT_ROOT / "models" / "spacy_pipeline")
    return folder


def train_rasa(project: Path, out: Path, name: str) -> Tuple[Path, float]:
    """Train a full model (NLU and rules) of ``project``; (model path, seconds)."""
    started = time.monotonic()
    env = {**os.environ, "RASA_MAX_CACHE_SIZE": "0"}  # a full training, as in a fresh clone
    subprocess.run(
        [
            RASA,
            "train",
            "--config",
            "config.yml",
            "--domain",
            "domain",
            "--data",
            "data",
            "--out",
            str(out),
            "--fixed-model-name",
            name,
        ],
        check=True,
        cwd=project,
        capture_output=True,
        env=env,
    )
    return out / f"{name}.tar.gz", time.monotonic() - started


def conversation_replier(model: Path) -> Callable[[str, str], str]:
    """(sender, text) -> the answer the patient got first, through the agent with
    a tracker (rules, slots and the in-process NLG as in the server)."""
    from rasa.core.agent import Agent
    from rasa.shared.core.events import BotUttered, UserUttered
    from rasa.utils.endpoints import EndpointConfig

    agent = Agent.load(str(model), generator=EndpointConfig(type="clinic_assistant.nlg.ClinicNLG"))
    loop = asyncio.new_event_loop()

    def reply(sender: str, text: str) -> str:
        loop.run_until_complete(agent.handle_text(text, sender_id=sender))
        tracker = loop.run_until_complete(agent.tracker_store.retrieve(sender))
        events = list(tracker.events) if tracker else []
        starts = [i for i, e in enumerate(events) if isinstance(e, UserUttered)]
        for event in events[starts[-1] if starts else 0 :]:
            if isinstance(event, BotUttered):
                return label_of_response(str(event.metadata.get("utter_action", "")))
        return "no_reply"

    return reply


def context_free_replier(predict: Callable[[str], str]) -> Callable[[str, str], str]:
    """A design without dialogue: each message on its own; a button payload is exact."""

    def reply(sender: str, text: str) -> str:
        return text[1:] if text.startswith("/faq/") else predict(text)

    return reply


def blind_figures(
    predict: Callable[[str], str], replier: Callable[[str, str], str]
) -> Dict[str, object]:
    """Scores on the untouched blind sets and on the regression set."""
    return {
        "scores": score(load_nlu_examples(), predict),
        "blind": score_phrasings(load_phrasings(BLIND_NLU["test"]), predict),
        "turns": score_conversations(load_conversations(BLIND_CONVERSATIONS["test"]), replier),
    }


def compare(out: Path) -> Dict[str, Dict[str, object]]:
    """Train and score the three designs on the same sets; figures per design."""
    results: Dict[str, Dict[str, object]] = {}
    for name, project in (
        ("this pipeline", PROJECT_ROOT),
        (f"main at {BEFORE}", before_project(out)),
    ):
        model, seconds = train_rasa(project, out, name.replace(" ", "_"))
        figures = blind_figures(rasa_predictor(model), conversation_replier(model))
        results[name] = {**figures, "train_s": seconds, "model": model}
    predict, seconds = tfidf_predictor()
    results["TF-IDF + logistic regression"] = {
        **blind_figures(predict, context_free_replier(predict)),
        "train_s": seconds,
        "model": None,
    }
    return results


def main(argv: List[str]) -> int:
    """``python -m bench.nlu_compare MODEL [MODEL ...]``: already trained models and the
    TF-IDF baseline on the untouched blind sets, aggregate figures only (no training;
    ``make bench`` runs :func:`compare`, which trains from scratch)."""
    designs: List[Tuple[str, Callable[[str], str], Callable[[str, str], str]]] = []
    for path in argv:
        designs.append((path, rasa_predictor(Path(path)), conversation_replier(Path(path))))
    predict, _ = tfidf_predictor()
    designs.append(("TF-IDF + logistic regression", predict, context_free_replier(predict)))
    for name, predict_one, replier in designs:
        figures = blind_figures(predict_one, replier)
        blind, turns, old = figures["blind"], figures["turns"], figures["scores"]
        print(
            f"{name}: blind test {blind.accuracy:.3f} (n={blind.n}), "  # type: ignore[attr-defined]
            f"sms {blind.sms_accuracy:.3f} (n={blind.n_sms}), "  # type: ignore[attr-defined]
            f"turns {turns.turns_right:.3f} (n={turns.n_turns}), "  # type: ignore[attr-defined]
            f"regression set {old.accuracy:.3f}"  # type: ignore[attr-defined]
        )
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
