"""Answer accuracy of three NLU designs trained on the same data (data/nlu)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path
from typing import Callable, Dict, List, Tuple

from clinic_assistant.settings import PROJECT_ROOT
from evaluation.scoring import Scores, answer_of, load_nlu_examples, score

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


def compare(out: Path) -> Dict[str, Dict[str, object]]:
    """Train and score the three designs; figures per design."""
    examples = load_nlu_examples()
    results: Dict[str, Dict[str, object]] = {}
    for name, config in (
        ("this pipeline", PROJECT_ROOT / "config.yml"),
        ("rasa init default", PROJECT_ROOT / "bench" / "default_config.yml"),
    ):
        model, seconds = train_rasa_nlu(config, out, name.replace(" ", "_"))
        scores: Scores = score(examples, rasa_predictor(model))
        results[name] = {"scores": scores, "train_s": seconds, "model": model}
    predict, seconds = tfidf_predictor()
    results["TF-IDF + logistic regression"] = {
        "scores": score(examples, predict),
        "train_s": seconds,
        "model": None,
    }
    return results
