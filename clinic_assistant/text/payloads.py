"""Which messages may bypass understanding: only the assistant's own button payloads.

Rasa reads a message that starts with "/" as an intent written out by hand
(``/intent@confidence{"entity": "value"}``, handled by ``RegexMessageHandler`` after
the whole NLU pipeline): anyone can type ``/red_flag_emergency{"red_flag_symptom":
"x"}`` or ``/restart``. So a "/" message is taken as a payload only when it is,
exactly, one the assistant itself offers: a button payload in the domain's
responses, or one of the few the channels and the reply renderer send
(:data:`EXTRA_PAYLOADS`). Payloads of red-flag intents and payloads with entities or
a confidence are never accepted, even if a response listed one. Anything else has
its leading slashes removed and is read as free text, so the red-flag check runs
on it.
"""

from __future__ import annotations

import json
import re
from typing import Any, FrozenSet, Iterable, Mapping

from clinic_assistant.contract import RED_FLAG_INTENTS, RETRIEVAL_INTENT

#: Payloads the assistant sends that are not buttons of a domain response: the
#: widget's hidden greeting when a chat opens, and the "Something else" button that
#: ClinicNLG adds to clarification questions (clinic_assistant.nlg.SOMETHING_ELSE).
EXTRA_PAYLOADS: FrozenSet[str] = frozenset({"/greet", "/deny"})
#: The only form a payload may have: an intent name, optionally ``/<topic>``.
PAYLOAD_FORM = re.compile(r"/[a-z][a-z0-9_]*(?:/[a-z][a-z0-9_]*)?")
#: Intents no payload may name: an escalation comes only from the detector.
FORBIDDEN_PREFIXES = tuple(f"/{intent}" for intent in RED_FLAG_INTENTS)


def acceptable(payload: str) -> bool:
    """True when ``payload`` has the plain form of a button and names no red-flag intent."""
    return PAYLOAD_FORM.fullmatch(payload) is not None and not payload.startswith(
        FORBIDDEN_PREFIXES
    )


def payloads_of_responses(responses: Mapping[str, Iterable[Mapping[str, Any]]]) -> FrozenSet[str]:
    """Every acceptable button payload in a domain's ``responses``, plus the answers'
    own ``/faq/<topic>`` keys (offered by clarification buttons) and :data:`EXTRA_PAYLOADS`."""
    found = set(EXTRA_PAYLOADS)
    prefix = f"utter_{RETRIEVAL_INTENT}/"
    for name, variations in responses.items():
        if name.startswith(prefix):
            found.add(f"/{name[len('utter_') :]}")
        for variation in variations or []:
            for button in (variation or {}).get("buttons") or []:
                payload = button.get("payload") if isinstance(button, Mapping) else None
                if isinstance(payload, str):
                    found.add(payload.strip())
    return frozenset(p for p in found if acceptable(p))


#: A hand-written intent at the start of a refused payload: a name with "_" or "/"
#: in it (``red_flag_emergency``, ``faq/onset``), then an optional ``@confidence``.
#: A plain word ("/breathing is hard") is kept: it may be the patient's own.
INTENT_SYNTAX = re.compile(
    r"(?:[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?:/[a-z0-9_]+)?|[a-z][a-z0-9_]*/[a-z0-9_]+)"
    r"(?:@[0-9.]*)?",
    re.IGNORECASE,
)
_JSON = json.JSONDecoder()


def _json_words(value: Any) -> list[str]:
    """The strings inside a decoded JSON value (an attacker's "entities")."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [word for item in value.values() for word in _json_words(item)]
    if isinstance(value, list):
        return [word for item in value for word in _json_words(item)]
    return []


def free_text(text: str) -> str:
    """``text`` as a patient's words, without payload syntax.

    The leading slashes go, and so do a hand-written intent name, its
    ``@confidence`` and its ``{"entity": ...}`` object: they are nobody's
    description of a symptom (the safety net read "red_flag_emergency" as one),
    while the values inside the object may be words the red-flag check must
    still read. Cost: one pass over the text (it is bounded before this).
    """
    if not text.startswith("/"):
        return text
    rest = text.lstrip("/ \t")
    intent = INTENT_SYNTAX.match(rest)
    if intent is None:
        return rest.strip()
    rest = rest[intent.end() :].lstrip()
    if rest.startswith("{"):
        try:
            value, end = _JSON.raw_decode(rest)
            words = _json_words(value)
        except (ValueError, RecursionError):  # not JSON, or nested past any use
            return rest.strip()
        rest = " ".join([*words, rest[end:].strip()])
    return rest.strip()


def screen_payload(text: str, known: FrozenSet[str]) -> str:
    """``text`` itself if it is exactly a known payload, else as free text."""
    if text.startswith("/") and text not in known:
        return free_text(text)
    return text
