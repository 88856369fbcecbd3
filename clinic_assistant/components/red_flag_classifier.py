"""RedFlagClassifier: danger signs after Botox override whatever the NLU predicted.

It runs last in the NLU pipeline (after the classifiers, the ResponseSelector and
the AnswerGate). When :class:`~clinic_assistant.red_flags.detector.RedFlagDetector`
finds a red flag in the message, the intent becomes ``red_flag_emergency`` or
``red_flag_urgent`` with confidence 1.0 (first in the ranking), one
``red_flag_symptom`` entity is added per canonical symptom, and ``red_flag``
(``{"level", "symptoms"}``) is added to the parse result. A confident FAQ question
with a danger sign in it is therefore still escalated. Otherwise nothing changes.

With ``second_opinion`` on (the default), the decision is the safety net's
(:mod:`clinic_assistant.red_flags.net`): the rules and the sentence-embedding bank
can each raise a flag and the context tables can lower it. When the net is unsure
(a message fairly close to a danger sign), the intent becomes
``red_flag_check_<level>`` and ``red_flag_check`` (``{"level", "symptoms",
"answer"}``) is added: the rules ask the yes/no safety question, which starts with
what to do if it is happening now and keeps the answer the patient asked for
(ClinicNLG). A bare "yes" / "no" / "help is here" becomes ``affirm`` / ``deny`` /
``red_flag_all_clear``, read by the rules against the question just asked. The
message's language ("en" / "es") is added as ``message_language`` so replies can
be given in Spanish. Off, only the rules decide.

Button payloads (text starting with "/") are left alone. The detector reads the
spaCy Doc that ``SpacyNLP`` made; without one it tokenizes the text itself.
Message text is never logged (health information).
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Sequence, Type

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import SPACY_DOCS
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    INTENT,
    INTENT_NAME_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from clinic_assistant.components.answer_gate import set_answer, set_intent
from clinic_assistant.contract import (
    AFFIRM_INTENT,
    ALL_CLEAR_ENDS_KEY,
    ALL_CLEAR_INTENT,
    CHECK_INTENT_BY_LEVEL,
    DENY_INTENT,
    EMERGENCY,
    INTENT_BY_LEVEL,
    LANGUAGE_KEY,
    PAYLOAD_ANSWER,
    PAYLOAD_LEVEL,
    PAYLOAD_SYMPTOMS,
    RED_FLAG_CHECK_KEY,
    RED_FLAG_KEY,
    RESPONSE_SELECTOR_KEY,
    RETRIEVAL_INTENT,
    RISK_ANSWERS,
    SYMPTOM_ENTITY,
    URGENT,
)
from clinic_assistant.red_flags import cues
from clinic_assistant.red_flags.detector import Detection, RedFlagDetector
from clinic_assistant.red_flags.net import SafetyNet

logger = logging.getLogger(__name__)

#: The safety net's reading of a bare answer -> the intent the rules read it as.
SHORT_ANSWER_INTENTS: Dict[str, str] = {
    cues.YES: AFFIRM_INTENT,
    cues.NO: DENY_INTENT,
    cues.ALL_CLEAR: ALL_CLEAR_INTENT,
}
#: What each kind of all clear ends (see ``ALL_CLEAR_ENDS_KEY``).
ALL_CLEAR_ENDS: Dict[str, str] = {cues.ALL_CLEAR: EMERGENCY, cues.CLINIC_CONTACT: URGENT}


def _chosen_answer(message: Message) -> Optional[str]:
    """The FAQ answer the NLU chose for the message ("faq/onset"), or None.

    None unless the AnswerGate let the answer through (intent ``faq``): an unsure
    answer is not worth repeating inside the safety question.
    """
    intent = message.get(INTENT) or {}
    if intent.get(INTENT_NAME_KEY) != RETRIEVAL_INTENT:
        return None
    selector = (message.get(RESPONSE_SELECTOR_KEY) or {}).get(RETRIEVAL_INTENT) or {}
    key = (selector.get("response") or {}).get("intent_response_key")
    return str(key) if isinstance(key, str) and key.startswith(f"{RETRIEVAL_INTENT}/") else None


# Rasa's name for an entity's confidence (rasa.shared.nlu.constants has it as
# ENTITY_ATTRIBUTE_CONFIDENCE = "confidence"; extractors write "confidence_entity").
ENTITY_CONFIDENCE = "confidence_entity"
_detectors: Dict[Optional[str], RedFlagDetector] = {}


def get_detector(lexicon: Optional[str] = None) -> RedFlagDetector:
    """The detector for ``lexicon`` (the project's by default), built once per process.

    Building takes a second or two (spaCy lookup tables), and Rasa may create this
    component several times, so detectors are shared.
    """
    if lexicon not in _detectors:
        from clinic_assistant.red_flags.detector import default_detector

        if lexicon is None:
            _detectors[None] = default_detector()
        else:
            from clinic_assistant.nlp.pipeline import project_pipeline
            from clinic_assistant.red_flags.lexicon import load_lexicon

            _detectors[lexicon] = RedFlagDetector(load_lexicon(lexicon), project_pipeline())
    return _detectors[lexicon]


@DefaultV1Recipe.register(
    [
        DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER,
        DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR,
    ],
    is_trainable=False,
)
class RedFlagClassifier(GraphComponent):
    """Overrides the intent when a message reports a danger sign; see the module doc."""

    @classmethod
    def required_components(cls) -> List[Type]:
        """None strictly: it uses SpacyNLP's docs when they are there."""
        return []

    @staticmethod
    def required_packages() -> List[str]:
        """spaCy (and spacy-lookups-data for its tables)."""
        return ["spacy", "spacy_lookups_data"]

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """``lexicon``: path of the red-flag lexicon (None = the project's own);
        ``second_opinion``: decide with the safety net (rules + sentence embeddings)."""
        return {"lexicon": None, "second_opinion": True}

    def __init__(
        self, config: Dict[str, Any], detector: RedFlagDetector, net: Optional[SafetyNet] = None
    ) -> None:
        """Keeps the config, the (shared) detector and, when on, the (shared) safety net."""
        self._config = config
        self._detector = detector
        self._net = net

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> RedFlagClassifier:
        """Creates the component; the lexicon is read and compiled here."""
        config = {**cls.get_default_config(), **config}
        net = None
        if config.get("second_opinion") and config.get("lexicon") is None:
            from clinic_assistant.red_flags.net import default_net

            # Fails fast when the verified embedding files are missing (make setup).
            net = default_net()
        return cls(config, get_detector(config.get("lexicon")), net)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Nothing to learn or add at training time."""
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Overrides intent and adds entities for messages with a red flag, in place."""
        for message in messages:
            text = message.get(TEXT)
            if not text or not isinstance(text, str) or text.lstrip().startswith("/"):
                continue  # a button payload: the patient chose, nothing to detect
            doc = self._doc(message, text)
            if self._net is None:
                detection = self._detector.detect(doc)
                if detection.fired:
                    self._apply(message, detection.level, detection.symptoms, detection)
                continue
            assessment = self._net.assess(text, doc)
            message.set(LANGUAGE_KEY, assessment.language, add_to_output=True)
            if assessment.fired:
                self._apply(message, assessment.level, assessment.symptoms, assessment.detection)
            elif assessment.answer in ALL_CLEAR_ENDS:
                # "Ya estoy en urgencias": help has come, although the words are
                # close to a danger sign; asking again would be noise.
                set_intent(message, ALL_CLEAR_INTENT)
                message.set(
                    ALL_CLEAR_ENDS_KEY, ALL_CLEAR_ENDS[assessment.answer], add_to_output=True
                )
            elif assessment.ask_level is not None:
                message.set(
                    RED_FLAG_CHECK_KEY,
                    {
                        PAYLOAD_LEVEL: assessment.ask_level,
                        PAYLOAD_SYMPTOMS: list(assessment.ask_symptoms),
                        PAYLOAD_ANSWER: _chosen_answer(message),
                    },
                    add_to_output=True,
                )
                set_intent(message, CHECK_INTENT_BY_LEVEL[assessment.ask_level])
                logger.info("Possible red flag, safety question: level=%s", assessment.ask_level)
            elif assessment.answer in SHORT_ANSWER_INTENTS:
                # A bare "yes", "sí, ahorita", "no" or "help is here": the rules read
                # it against the question the assistant just asked.
                set_intent(message, SHORT_ANSWER_INTENTS[assessment.answer])
            elif assessment.risk_question and _chosen_answer(message) not in RISK_ANSWERS:
                # "Can it make it hard to swallow?": the risk facts and what to do if
                # it happens, whatever other answer the words were closest to.
                set_answer(message, RISK_ANSWERS[0])
        return messages

    def _doc(self, message: Message, text: str) -> Any:
        """SpacyNLP's doc when it is of this text (it may be lowercased), else our own."""
        doc = message.get(SPACY_DOCS[TEXT])
        if doc is not None and len(doc.text) == len(text) and doc.text.lower() == text.lower():
            return doc
        return self._detector.nlp.make_doc(text)

    def _apply(
        self,
        message: Message,
        found_level: Optional[str],
        symptoms: Sequence[str],
        detection: Optional[Detection],
    ) -> None:
        level = found_level or EMERGENCY  # a fired decision has a level; else escalate
        set_intent(message, INTENT_BY_LEVEL[level])

        name = self.__class__.__name__
        # Keep other extractors' entities (medicines); replace our own if run twice.
        entities = [e for e in message.get(ENTITIES) or [] if e.get(EXTRACTOR) != name]
        text = message.get(TEXT) or ""
        for symptom in symptoms:
            match = detection.first_match(symptom) if detection is not None else None
            # A symptom raised by the second opinion alone has no rule match: the
            # entity then spans the whole message.
            start, end = (match.start_char, match.end_char) if match else (0, len(text))
            entities.append(
                {
                    ENTITY_ATTRIBUTE_TYPE: SYMPTOM_ENTITY,
                    ENTITY_ATTRIBUTE_VALUE: symptom,
                    ENTITY_ATTRIBUTE_START: start,
                    ENTITY_ATTRIBUTE_END: end,
                    ENTITY_CONFIDENCE: 1.0,
                    EXTRACTOR: name,
                }
            )
        message.set(ENTITIES, entities, add_to_output=True)
        message.set(
            RED_FLAG_KEY,
            {PAYLOAD_LEVEL: level, PAYLOAD_SYMPTOMS: list(symptoms)},
            add_to_output=True,
        )
        # Level and canonical names only: never the patient's words.
        logger.info("Red flag detected: level=%s symptoms=%s", level, list(symptoms))
