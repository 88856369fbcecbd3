"""The safety net: the rules and the second opinion, one call per message.

:class:`SafetyNet` holds the rule detector, the second opinion (bank + encoder) and
the context tables; :meth:`SafetyNet.assess` reads a message and returns what to do
(:class:`~clinic_assistant.red_flags.decision.Assessment`). Built once per process.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Optional

from clinic_assistant.red_flags.decision import Assessment, decide
from clinic_assistant.red_flags.detector import RedFlagDetector, default_detector
from clinic_assistant.red_flags.second_opinion import (
    ORDINARY,
    Encoder,
    SecondOpinion,
    load_bank,
    ordinary_messages,
    with_look_alikes,
)
from clinic_assistant.red_flags.tables import Tables, load_tables


class SafetyNet:
    """Rules + second opinion + context tables (see the module docstring)."""

    def __init__(
        self,
        detector: RedFlagDetector,
        second_opinion: Optional[SecondOpinion],
        tables: Tables,
    ) -> None:
        self.detector = detector
        self.second_opinion = second_opinion
        self.tables = tables
        lexicon = detector.lexicon
        self._levels = {symptom.name: symptom.level for symptom in lexicon.symptoms}
        self._order = lexicon.symptom_names

    def assess(self, text: str, doc: Any = None) -> Assessment:
        """What to do with ``text`` (``doc``: a spaCy Doc of it, if there is one)."""
        detection = self.detector.detect(
            doc if doc is not None else self.detector.nlp.make_doc(text)
        )
        votes = self.second_opinion.votes(text) if self.second_opinion else []
        return decide(text, detection, votes, self.tables, self._levels, self._order)


def build_net(encoder: Optional[Encoder] = None, cache_dir: Optional[Path] = None) -> SafetyNet:
    """A net over the project's lexicon, bank and tables; ``encoder`` None = rules only."""
    detector = default_detector()
    opinion = None
    if encoder is not None:
        bank = load_bank(symptoms=detector.lexicon.symptom_names)
        bank = with_look_alikes(bank, ORDINARY, ordinary_messages())
        opinion = SecondOpinion(encoder, bank, cache_dir)
    return SafetyNet(detector, opinion, load_tables())


@functools.lru_cache(maxsize=1)
def default_net() -> SafetyNet:
    """The project's net with the project's sentence encoder (built once per process)."""
    from clinic_assistant.embeddings.encoder import get_encoder
    from clinic_assistant.embeddings.files import DEFAULT_DIR

    return build_net(get_encoder(), cache_dir=DEFAULT_DIR.parent)
