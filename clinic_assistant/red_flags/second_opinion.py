"""The learned second opinion: is a piece of the message close to a known danger sign?

Beside the rules, each sentence and clause of a message (see
:mod:`clinic_assistant.red_flags.segments`) is embedded with the project's sentence
encoder (all-MiniLM-L6-v2, unit vectors) and compared with a curated bank of
danger-sign descriptions in patients' words (``lexicons/red_flag_bank.yml``), and with
a bank of look-alikes that are not danger signs. A piece votes for a symptom when it
is close to one of its descriptions and closer to it than to any look-alike. How the
vote is used (escalate, ask the safety question, or let the context rules lower it)
is decided in :mod:`clinic_assistant.red_flags.decision`.

Beside the bank's own look-alikes, every training example of the assistant's
ordinary intents (``data/nlu``: the FAQ questions, small talk, out of scope) is a
look-alike of kind ``ordinary`` (:func:`ordinary_messages`, :func:`with_look_alikes`).
Those files hold no danger sign happening now, by their own rule (their headers say
so, and ``tests/unit/red_flags/test_second_opinion.py`` checks that the rules flag
none of them), so a question that is nearer to one of them than to a danger sign is
not one. Chosen on the dev sets (blind_dev, blind_dev2, the regression set and the
FAQ dev phrasings, which are all harmless): questions asked on harmless messages
0.060 -> 0.030 and 0.058 -> 0.042, false alarms on the regression set
0.017 -> 0.006, FAQ dev questions that got a safety question 9 -> 1, and no danger
sign of those sets lost its flag or its question.

The bank's vectors are computed once per bank and encoder and cached beside the
encoder's files (``models/``), so a server start does not re-embed the bank.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Protocol, Sequence, Tuple

import numpy as np
import yaml

from clinic_assistant.nlu_yaml import read_examples
from clinic_assistant.red_flags.segments import Piece, pieces

BANK_PATH = Path(__file__).resolve().parent.parent / "lexicons" / "red_flag_bank.yml"
NLU_DATA = Path(__file__).resolve().parent.parent.parent / "data" / "nlu"
ORDINARY = "ordinary"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# Rasa's inline entity markup: [text](entity) or [text]{...}


class BankError(ValueError):
    """The bank file is malformed; the message says where and why."""


class Encoder(Protocol):
    """What the second opinion needs of a sentence encoder."""

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One unit-length vector per text."""
        ...


@dataclass(frozen=True)
class Bank:
    """Descriptions of danger signs by symptom, and look-alikes by kind."""

    positives: Tuple[Tuple[str, str], ...]  # (symptom, description)
    negatives: Tuple[Tuple[str, str], ...]  # (kind, look-alike)
    digest: str  # sha256 of the file's text: the vector cache's key


def load_bank(path: Path = BANK_PATH, symptoms: Sequence[str] = ()) -> Bank:
    """Reads and validates the bank; ``symptoms`` (if given) are the only names allowed."""
    text = path.read_text("utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise BankError(f"{path}: not valid YAML ({error})") from error
    return parse_bank(data, hashlib.sha256(text.encode()).hexdigest(), symptoms, str(path))


def parse_bank(data: Any, digest: str, symptoms: Sequence[str] = (), where: str = "") -> Bank:
    """Validates loaded bank data."""
    if not isinstance(data, Mapping) or data.get("version") != 1:
        raise BankError(f"{where}: a mapping with 'version: 1' is needed")
    if set(data) - {"version", "positives", "negatives"}:
        raise BankError(f"{where}: unknown keys {sorted(set(data) - {'version'})}")

    def entries(key: str, names_allowed: Sequence[str]) -> Tuple[Tuple[str, str], ...]:
        raw = data.get(key)
        if not isinstance(raw, Mapping) or not raw:
            raise BankError(f"{where}: '{key}' must be a non-empty mapping")
        out: List[Tuple[str, str]] = []
        for name, lines in raw.items():
            if not isinstance(name, str) or not _NAME.match(name):
                raise BankError(f"{where}: {key}: bad name {name!r}")
            if names_allowed and name not in names_allowed:
                raise BankError(f"{where}: {key}: unknown symptom {name!r}")
            if not isinstance(lines, list) or not lines:
                raise BankError(f"{where}: {key}.{name} must be a non-empty list")
            for line in lines:
                if not isinstance(line, str) or not line.strip() or len(line) > 200:
                    raise BankError(f"{where}: {key}.{name}: bad line {line!r}")
                out.append((name, line.strip()))
        return tuple(out)

    return Bank(entries("positives", symptoms), entries("negatives", ()), digest)


def ordinary_messages(data_dir: Path = NLU_DATA) -> Tuple[str, ...]:
    """Every training example under ``data_dir`` (Rasa NLU YAML), markup removed."""
    found = [
        example.text
        for path in sorted(data_dir.glob("*.yml"))
        for example in read_examples(path)
        if len(example.text) <= 200
    ]
    return tuple(dict.fromkeys(found))


def with_look_alikes(bank: Bank, kind: str, lines: Sequence[str]) -> Bank:
    """``bank`` with ``lines`` added as look-alikes of ``kind`` (a new cache key)."""
    digest = hashlib.sha256("\n".join([bank.digest, kind, *lines]).encode()).hexdigest()
    return Bank(bank.positives, bank.negatives + tuple((kind, line) for line in lines), digest)


@dataclass(frozen=True)
class Vote:
    """The best danger sign a piece of a message resembles."""

    symptom: str
    score: float  # cosine to the closest description of ``symptom``
    negative: float  # cosine to the closest look-alike
    piece: Piece
    nearest: str  # the closest description (for tools; never logged)
    look_alike: str = ""  # the kind of the closest look-alike ("risk_question", ...)

    @property
    def margin(self) -> float:
        """How much closer the piece is to the danger sign than to any look-alike."""
        return self.score - self.negative


class SecondOpinion:
    """Compares a message's pieces with the bank (see the module docstring)."""

    def __init__(self, encoder: Encoder, bank: Bank, cache_dir: Optional[Path] = None) -> None:
        self.encoder = encoder
        self.bank = bank
        texts = [line for _, line in bank.positives] + [line for _, line in bank.negatives]
        vectors = self._cached(cache_dir, texts)
        n = len(bank.positives)
        self._positive = vectors[:n]
        self._negative = vectors[n:]
        self._symptoms = [name for name, _ in bank.positives]

    def _cached(self, cache_dir: Optional[Path], texts: List[str]) -> np.ndarray:
        """The bank's vectors, from the cache when it is of this bank and encoder."""
        if cache_dir is None:
            return np.asarray(self.encoder.encode(texts), dtype=np.float32)
        key = hashlib.sha256(f"{self.bank.digest}:{_encoder_key(self.encoder)}".encode())
        path = cache_dir / f"red_flag_bank-{key.hexdigest()[:16]}.npy"
        try:
            cached = np.load(path, allow_pickle=False)
            if cached.shape[0] == len(texts):
                return np.asarray(cached, dtype=np.float32)
        except (OSError, ValueError):
            pass  # none yet, or unreadable: embedded anew below
        vectors = np.asarray(self.encoder.encode(texts), dtype=np.float32)
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
            # Written whole, then renamed: servers starting together never read half a file.
            partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.npy")
            np.save(partial, vectors, allow_pickle=False)
            os.replace(partial, path)
            # One bank is live at a time: an older bank's or encoder's vectors are dead weight.
            for stale in cache_dir.glob("red_flag_bank-*.npy"):
                if stale != path:
                    stale.unlink(missing_ok=True)
        except OSError:
            pass  # a read-only models/ only costs the bank's embedding at each start
        return vectors

    def votes(self, text: str) -> List[Vote]:
        """One vote per piece of ``text``: the closest danger sign and look-alike."""
        found = pieces(text)
        if not found:
            return []
        vectors = np.asarray(self.encoder.encode([p.text for p in found]), dtype=np.float32)
        positive = vectors @ self._positive.T
        negative = vectors @ self._negative.T if len(self._negative) else None
        out: List[Vote] = []
        for row, piece in enumerate(found):
            best = int(np.argmax(positive[row]))
            closest = int(np.argmax(negative[row])) if negative is not None else -1
            worst = float(negative[row, closest]) if negative is not None else -1.0
            out.append(
                Vote(
                    symptom=self._symptoms[best],
                    score=float(positive[row, best]),
                    negative=worst,
                    piece=piece,
                    nearest=self.bank.positives[best][1],
                    look_alike=self.bank.negatives[closest][0] if closest >= 0 else "",
                )
            )
        return out


def _encoder_key(encoder: Encoder) -> str:
    """What identifies an encoder's vectors: its folder when it has one, else its type."""
    folder: Dict[str, Any] = getattr(encoder, "__dict__", {})
    return str(folder.get("folder") or type(encoder).__name__)
