"""AnswerGate: decides whether the NLU's answer is trustworthy enough to give.

It runs after the intent classifier and the ResponseSelector and does five things:

* button payloads ``/faq/<topic>`` become that exact answer (Rasa's own payload
  parser knows no retrieval intents);
* input with no words, or with too few English words (gibberish, another
  language), becomes the intent ``unreadable_input``;
* the answer is checked by meaning: the DIET/ResponseSelector scores of every
  answer (P(intent) x P(answer)) are mixed with those of a classifier on the
  message's sentence embedding (:mod:`clinic_assistant.answers.semantic`; text-message
  shorthand spelled out first), and a short follow-up gives the previous answer of
  the session extra weight (:mod:`clinic_assistant.answers.follow_up`, read from the
  tracker Rasa passes in). The best mixed answer is given;
* below ``combined_threshold`` the message becomes ``nlu_fallback`` with the two
  likeliest answers attached as ``answer_options`` for the clarification buttons.

With ``semantic_weight: 0`` the gate checks the NLU's own choice as before: a low
intent confidence, a low confidence of the chosen answer itself (the
FallbackClassifier only looks at the intent, rasa issues 9723/9751) or two answers
too close to call become ``nlu_fallback``.

The known vocabulary is learned from the training data at train time, and English
words come from spaCy's lookup tables (spacy-lookups-data), so no word list is
kept by hand.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Protocol, Sequence, Set

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, INTENT_RESPONSE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from clinic_assistant import contract
from clinic_assistant.answers.follow_up import is_follow_up, previous_answer
from clinic_assistant.answers.semantic import SemanticAnswers, mix
from clinic_assistant.text.shorthand import SHORTHAND_PATH, expand_shorthand

FALLBACK_INTENT = contract.FALLBACK_INTENT
UNREADABLE_INTENT = contract.UNREADABLE_INTENT
ANSWER_OPTIONS = contract.ANSWER_OPTIONS_KEY
RESPONSE_SELECTOR = contract.RESPONSE_SELECTOR_KEY
WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
VOCABULARY_FILE = "vocabulary.json"
ANSWERS_DIR = Path(__file__).resolve().parent.parent / "answers"


class Encoder(Protocol):
    """What the gate needs of the sentence encoder."""

    def encode(self, texts: Sequence[str]) -> np.ndarray:  # pragma: no cover - protocol
        """Unit-length embeddings, one row per text."""
        ...


def shared_encoder() -> Encoder:
    """The process's one sentence encoder (shared with the red-flag second opinion)."""
    from clinic_assistant.embeddings.encoder import get_encoder

    return get_encoder()


def encoder_text(text: str) -> str:
    """What the encoder reads of a message: shorthand spelled out, ends stripped."""
    return expand_shorthand(text).strip()


def common_english_words(min_log_prob: float) -> Set[str]:
    """Words at least this frequent in spaCy's English web-text table (lowercase
    ASCII letters only). Read once at training time, which takes seconds; the
    model then carries the set, so serving never loads the million-row table."""
    from importlib.resources import files

    import srsly

    # The raw table: spaCy's own Table keeps only hashes of the words.
    path = files("spacy_lookups_data") / "data" / "en_lexeme_prob.json.gz"
    table: Dict[str, float] = srsly.read_gzip_json(str(path))
    return {
        word
        for word, log_prob in table.items()
        if isinstance(word, str)
        and log_prob >= min_log_prob
        and word.isascii()
        and word.isalpha()
        and word.islower()
    }


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class AnswerGate(GraphComponent):
    """Checks input and confidences after classification; see the module docstring."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Thresholds are set and explained in config.yml."""
        return {
            "intent_threshold": 0.4,
            "answer_threshold": 0.3,
            "ambiguity_margin": 0.0,
            "min_known_word_share": 0.6,
            # Words rarer than this in English web text (Spanish "cuánto",
            # keyboard mash) do not count as known unless patients used them
            # in the training data ("botox", "emg").
            "min_word_log_prob": -14.5,
            "retrieval_intent": "faq",
            # Non-FAQ intents worth offering as a choice when unsure.
            "offerable_intents": ["human_handoff"],
            # An option less likely than this is not offered as a button; with
            # none left the patient is asked to rephrase instead.
            "min_option_score": 0.05,
            # The answer check by meaning (0 turns it off): weight of the embedding
            # classifier's scores against DIET/ResponseSelector's, its inverse
            # regularisation, and the least mixed score of an answer that is given.
            "semantic_weight": 0.6,
            "semantic_c": 20.0,
            "combined_threshold": 0.3,
            # A follow-up (at most this many words, or pointing back) gives the
            # previous answer this share of the score.
            "follow_up_weight": 0.3,
            "follow_up_max_words": 5,
            # Answers to the assistant's own questions: given only when DIET read
            # them too, never from likeness alone ("what about the other thing" is
            # not a "no").
            "nlu_only_intents": ["affirm", "deny"],
            "random_seed": 42,
        }

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        vocabulary: Optional[Set[str]] = None,
        topics: Optional[Set[str]] = None,
        semantic: Optional[SemanticAnswers] = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._vocabulary = vocabulary or set()
        self._topics = topics or set()
        self._semantic = semantic
        self._encoder: Optional[Encoder] = None

    @property
    def semantic_on(self) -> bool:
        """True when answers are checked by meaning."""
        return float(self._config["semantic_weight"]) > 0.0

    def encoder(self) -> Encoder:
        """The shared encoder, loaded on first use."""
        if self._encoder is None:
            self._encoder = shared_encoder()
        return self._encoder

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        """The shorthand table and the answer code shape what is trained, so a change
        to them retrains the gate (Rasa's cache otherwise sees only config and data)."""
        digest = hashlib.sha256()
        for path in (SHORTHAND_PATH, *sorted(ANSWERS_DIR.glob("*.py"))):
            digest.update(path.read_bytes())
        return digest.hexdigest()

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> AnswerGate:
        """Creates an untrained gate."""
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> AnswerGate:
        """Loads the vocabulary and topics learned at training time.

        A model without them fails here, loudly: an empty vocabulary would turn every
        message into "Sorry, I couldn't read that".
        """
        try:
            with model_storage.read_from(resource) as directory:
                data = json.loads((directory / VOCABULARY_FILE).read_text("utf-8"))
                vocabulary, topics = set(data["vocabulary"]), set(data["topics"])
                semantic = None
                if float({**cls.get_default_config(), **config}["semantic_weight"]) > 0:
                    semantic = SemanticAnswers.load(directory)
        except (ValueError, KeyError, TypeError, OSError) as error:
            raise ValueError(
                f"The trained model has no usable AnswerGate {VOCABULARY_FILE} or "
                f"semantic answers ({error}); retrain it (`make setup`)."
            ) from error
        gate = cls(config, model_storage, resource, vocabulary, topics, semantic)
        if semantic is not None:
            gate.encoder()  # loaded with the model, not on a patient's first message
        return gate

    def train(self, training_data: TrainingData) -> Resource:
        """Learns the words patients use, common English words and the answer topics."""
        prefix = f"{self._config['retrieval_intent']}/"
        vocabulary: Set[str] = set()
        topics: Set[str] = set()
        for example in training_data.intent_examples:
            vocabulary.update(w.lower() for w in WORD.findall(example.get(TEXT) or ""))
        vocabulary |= common_english_words(self._config["min_word_log_prob"])
        for key in training_data.responses:
            name = key.split("utter_", 1)[-1]
            if name.startswith(prefix):
                topics.add(name[len(prefix) :])
        self._vocabulary, self._topics = vocabulary, topics
        if self.semantic_on:
            self._semantic = self._fit_semantic(training_data)
        with self._model_storage.write_to(self._resource) as directory:
            (directory / VOCABULARY_FILE).write_text(
                json.dumps({"vocabulary": sorted(vocabulary), "topics": sorted(topics)}),
                "utf-8",
            )
            if self._semantic is not None:
                self._semantic.save(directory)
        return self._resource

    def _fit_semantic(self, training_data: TrainingData) -> SemanticAnswers:
        """The embedding classifier over every answer of the training examples."""
        texts: List[str] = []
        labels: List[str] = []
        for example in training_data.intent_examples:
            label = example.get(INTENT_RESPONSE_KEY) or example.get(INTENT)
            if label and example.get(TEXT):
                texts.append(encoder_text(example.get(TEXT)))
                labels.append(str(label))
        vectors = self.encoder().encode(texts)
        return SemanticAnswers.fit(
            vectors, labels, float(self._config["semantic_c"]), int(self._config["random_seed"])
        )

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Nothing to add to the training data."""
        return training_data

    def process(
        self, messages: List[Message], tracker: Optional[DialogueStateTracker] = None
    ) -> List[Message]:
        """Applies the gate to each message in place.

        ``tracker`` is the conversation so far (Rasa passes it in when serving; the
        new message is not in it yet); it is read only for the previous answer.
        """
        previous = previous_answer(tracker)
        for message in messages:
            self._process_one(message, previous)
        return messages

    # -- the decisions -------------------------------------------------------

    def _process_one(self, message: Message, previous: Optional[str] = None) -> None:
        text = (message.get(TEXT) or "").strip()
        if text.startswith("/"):
            self._apply_payload(message, text)
            return
        if not self._readable(text):
            set_intent(message, UNREADABLE_INTENT, 1.0)
            return
        if self._semantic is not None and self.semantic_on:
            self._choose_by_meaning(message, text, previous)
            return
        intent = message.get(INTENT) or {}
        name, confidence = intent.get("name"), float(intent.get("confidence") or 0.0)
        answers = self._answer_ranking(message)
        unsure = confidence < self._config["intent_threshold"]
        if name == self._config["retrieval_intent"] and answers:
            top = answers[0]["confidence"]
            second = answers[1]["confidence"] if len(answers) > 1 else 0.0
            unsure = (
                unsure
                or top < self._config["answer_threshold"]
                or top - second < self._config["ambiguity_margin"]
            )
        if unsure:
            message.set(ANSWER_OPTIONS, self._options(message), add_to_output=True)
            set_intent(message, FALLBACK_INTENT, confidence)

    def _choose_by_meaning(self, message: Message, text: str, previous: Optional[str]) -> None:
        """Gives the best answer of the mixed scores, or offers the two likeliest."""
        assert self._semantic is not None
        vector = self.encoder().encode([encoder_text(text)])[0]
        scores = mix(
            self._nlu_scores(message),
            self._semantic.probabilities(vector),
            float(self._config["semantic_weight"]),
        )
        if previous in scores and is_follow_up(text, int(self._config["follow_up_max_words"])):
            scores = mix(scores, {previous: 1.0}, float(self._config["follow_up_weight"]))
        best, score = max(scores.items(), key=lambda item: item[1])
        read_by_nlu = (message.get(INTENT) or {}).get("name") == best
        if score < self._config["combined_threshold"] or (
            best in self._config["nlu_only_intents"] and not read_by_nlu
        ):
            options = self._best_options({f"/{name}": value for name, value in scores.items()})
            message.set(ANSWER_OPTIONS, options, add_to_output=True)
            intent = message.get(INTENT) or {}
            set_intent(message, FALLBACK_INTENT, float(intent.get("confidence") or 0.0))
        elif best.startswith(f"{self._config['retrieval_intent']}/"):
            set_answer(message, best, score)
        else:
            set_intent(message, best, score)

    def _nlu_scores(self, message: Message) -> Dict[str, float]:
        """P(intent) x P(answer) for every answer; P(intent) for the other intents."""
        retrieval = self._config["retrieval_intent"]
        answers = self._answer_ranking(message)
        scores: Dict[str, float] = {}
        for entry in message.get(INTENT_RANKING_KEY) or []:
            name, confidence = entry.get("name"), float(entry.get("confidence") or 0.0)
            if name == retrieval:
                for answer in answers:
                    key = str(answer.get("intent_response_key", ""))
                    scores[key] = confidence * float(answer.get("confidence") or 0.0)
            elif name:
                scores[str(name)] = confidence
        return scores

    def _apply_payload(self, message: Message, text: str) -> None:
        """``/faq/<topic>`` from a button becomes that answer with full confidence."""
        retrieval = self._config["retrieval_intent"]
        match = re.fullmatch(rf"/{re.escape(retrieval)}/(\w+)", text)
        if not match or match.group(1) not in self._topics:
            return
        set_answer(message, f"{retrieval}/{match.group(1)}")

    def _readable(self, text: str) -> bool:
        """True when the text has words and enough of them are English or known."""
        words = [w.lower() for w in WORD.findall(text)]
        if not words:
            return False
        known = sum(1 for w in words if self._is_known(w))
        return known / len(words) >= self._config["min_known_word_share"]

    def _is_known(self, word: str) -> bool:
        return word in self._vocabulary

    def _answer_ranking(self, message: Message) -> List[Dict[str, Any]]:
        selector = (message.get(RESPONSE_SELECTOR) or {}).get(self._config["retrieval_intent"], {})
        return list(selector.get("ranking") or [])

    def _options(self, message: Message) -> List[Dict[str, Any]]:
        """The two likeliest answers, each scored by P(intent) x P(answer)."""
        return self._best_options({f"/{k}": v for k, v in self._nlu_scores(message).items()})

    def _best_options(self, scores: Dict[str, float]) -> List[Dict[str, Any]]:
        """The two likeliest offerable payloads worth a button."""
        retrieval = self._config["retrieval_intent"]
        offerable = {f"/{name}" for name in self._config["offerable_intents"]}
        scores = {
            payload: score
            for payload, score in scores.items()
            if payload.startswith(f"/{retrieval}/") or payload in offerable
        }
        floor = self._config["min_option_score"]
        worth = [item for item in scores.items() if item[1] >= floor]
        best = sorted(worth, key=lambda item: item[1], reverse=True)[:2]
        return [{"payload": payload, "score": round(score, 4)} for payload, score in best]


def set_intent(message: Message, name: str, confidence: float = 1.0) -> None:
    """``name`` becomes the message's intent, first in its ranking (no repeat)."""
    ranking = [
        entry for entry in (message.get(INTENT_RANKING_KEY) or []) if entry.get("name") != name
    ]
    message.set(INTENT, {"name": name, "confidence": confidence}, add_to_output=True)
    message.set(
        INTENT_RANKING_KEY,
        [{"name": name, "confidence": confidence}, *ranking],
        add_to_output=True,
    )


def set_answer(message: Message, key: str, confidence: float = 1.0) -> None:
    """The curated answer ``key`` ("faq/onset") is chosen (with full confidence by default).

    Written as the ResponseSelector writes its choice, so Rasa's retrieval action
    utters it; the intent becomes the key's retrieval intent.
    """
    retrieval = key.split("/", 1)[0]
    selector = dict(message.get(RESPONSE_SELECTOR) or {})
    selector.setdefault("all_retrieval_intents", [retrieval])
    selector[retrieval] = {
        "response": {
            "responses": [],
            "confidence": confidence,
            "intent_response_key": key,
            "utter_action": f"utter_{key}",
        },
        "ranking": [{"confidence": confidence, "intent_response_key": key}],
    }
    message.set(RESPONSE_SELECTOR, selector, add_to_output=True)
    set_intent(message, retrieval, confidence)
