"""Follow-ups: short questions that lean on the answer just given.

"Is that test always done?" after the EMG answer, or "should I worry about those?"
after the side effects, name no topic of their own. When a message looks like such
a follow-up (:func:`is_follow_up`) and the previous message of this session was
answered from the sheet (:func:`previous_answer`), the AnswerGate gives that answer
extra weight. Measured on the dev conversations against the other design the issue
names (the previous question's text embedded with the new one): see config.yml.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Optional

from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from clinic_assistant.contract import RESPONSE_SELECTOR_KEY, RETRIEVAL_INTENT

SESSION_START = "action_session_start"
#: Words that point back at something already said.
POINTING_WORDS = frozenset(
    "it that those these this they them one ones there else also too same".split()
)
#: A message that starts by continuing the last one ("and ...", "what about ...").
_CONTINUES = re.compile(
    r"^\s*(?:and|but|so|also|plus|what about|how about|wat abt|what abt|what if|and if)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)


def is_follow_up(text: str, max_words: int) -> bool:
    """True for a short message, one that points back, or one that continues."""
    words = [word.lower() for word in _WORD.findall(text)]
    return (
        len(words) <= max_words
        or not POINTING_WORDS.isdisjoint(words)
        or bool(_CONTINUES.match(text))
    )


def answer_of(parse_data: Dict[str, Any]) -> Optional[str]:
    """The curated answer ("faq/<topic>") a parse led to, or None."""
    if (parse_data.get("intent") or {}).get("name") != RETRIEVAL_INTENT:
        return None
    selector = (parse_data.get(RESPONSE_SELECTOR_KEY) or {}).get(RETRIEVAL_INTENT) or {}
    key = (selector.get("response") or {}).get("intent_response_key")
    return str(key) if key else None


def previous_answer(tracker: Optional[DialogueStateTracker]) -> Optional[str]:
    """The answer of the patient's previous message in this session, if it had one.

    Read while the new message is being understood, so the tracker's latest user
    message is the previous one. A new session forgets it.
    """
    if tracker is None:
        return None
    for event in reversed(tracker.events):
        if isinstance(event, ActionExecuted) and event.action_name == SESSION_START:
            return None
        if isinstance(event, UserUttered):
            return answer_of(event.parse_data or {})
    return None
