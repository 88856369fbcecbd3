"""Red-flag detection: danger signs after Botox (lexicon, context rules, detector)."""

from clinic_assistant.red_flags.detector import (
    Detection,
    Match,
    RedFlagDetector,
    default_detector,
    detect_text,
)
from clinic_assistant.red_flags.lexicon import LEVELS, Lexicon, LexiconError, load_lexicon

__all__ = [
    "LEVELS",
    "Detection",
    "Lexicon",
    "LexiconError",
    "Match",
    "RedFlagDetector",
    "default_detector",
    "detect_text",
    "load_lexicon",
]
