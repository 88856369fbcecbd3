"""Answers by meaning: a linear classifier on the message's sentence embedding.

DIET and the ResponseSelector see word and character n-grams, which do not carry
over to a paraphrase in other words ("am I conscious during it" shares nothing with
"will I be awake"). The pretrained encoder (all-MiniLM-L6-v2) puts paraphrases
close together, so a multinomial logistic regression on its 384-d vectors, trained
on the same examples, gives a second distribution over the answers. The AnswerGate
mixes the two (:func:`mix`); see config.yml for the weights and how they were chosen.

Trained in seconds with scikit-learn (already a Rasa dependency); only the weights
(labels x 384 float32) are kept, so serving is one matrix product and a softmax.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Mapping, Sequence, Tuple

import numpy as np

WEIGHTS_FILE = "semantic_answers.npz"
LABELS_FILE = "semantic_answers.json"


@dataclass(frozen=True)
class SemanticAnswers:
    """Softmax(W x + b) over ``labels`` ("faq/<topic>" or an intent name)."""

    labels: Tuple[str, ...]
    weights: np.ndarray  # (len(labels), dimensions)
    bias: np.ndarray  # (len(labels),)

    @classmethod
    def fit(
        cls, vectors: np.ndarray, labels: Sequence[str], c: float, seed: int
    ) -> SemanticAnswers:
        """Fits the classifier on one vector per training example and its label."""
        from sklearn.linear_model import LogisticRegression

        names = tuple(sorted(set(labels)))
        if len(names) < 2:
            raise ValueError("semantic answers need examples of at least two answers")
        index = {name: i for i, name in enumerate(names)}
        target = np.array([index[label] for label in labels])
        model = LogisticRegression(C=c, max_iter=3000, random_state=seed)
        model.fit(np.asarray(vectors, dtype=np.float64), target)
        weights, bias = np.asarray(model.coef_), np.asarray(model.intercept_)
        if len(names) == 2:
            # Two classes are one logit (the second's); a softmax over (0, logit) is the same.
            weights = np.vstack([np.zeros_like(weights), weights])
            bias = np.concatenate([np.zeros_like(bias), bias])
        return cls(names, weights.astype(np.float32), bias.astype(np.float32))

    def probabilities(self, vector: np.ndarray) -> Dict[str, float]:
        """P(answer | message) for one message vector."""
        logits = self.weights @ np.asarray(vector, dtype=np.float32) + self.bias
        logits -= logits.max()
        exp = np.exp(logits)
        probs = exp / exp.sum()
        return {name: float(p) for name, p in zip(self.labels, probs, strict=True)}

    def save(self, directory: Path) -> None:
        """Writes the weights (npz, no pickle) and the labels (JSON)."""
        np.savez(directory / WEIGHTS_FILE, weights=self.weights, bias=self.bias)
        (directory / LABELS_FILE).write_text(json.dumps(list(self.labels)), "utf-8")

    @classmethod
    def load(cls, directory: Path) -> SemanticAnswers:
        """Reads what :meth:`save` wrote; a mismatch of shapes is an error."""
        with np.load(directory / WEIGHTS_FILE, allow_pickle=False) as data:
            weights, bias = data["weights"], data["bias"]
        labels = tuple(json.loads((directory / LABELS_FILE).read_text("utf-8")))
        if weights.shape[0] != len(labels) or bias.shape != (len(labels),):
            raise ValueError("semantic answer weights do not match their labels")
        return cls(labels, weights, bias)


def mix(first: Mapping[str, float], second: Mapping[str, float], weight: float) -> Dict[str, float]:
    """``(1 - weight) * first + weight * second`` over the union of their answers."""
    names = set(first) | set(second)
    return {
        name: (1.0 - weight) * first.get(name, 0.0) + weight * second.get(name, 0.0)
        for name in names
    }
