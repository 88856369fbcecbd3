"""A patient's message as every channel hands it to the assistant: one function.

:func:`prepare` normalises the text (:mod:`clinic_assistant.text.normalize`), cuts it
to :data:`~clinic_assistant.text.normalize.MAX_MESSAGE_CHARS` and screens "/"
payloads (:mod:`clinic_assistant.text.payloads`). The work is bounded by the limit,
not by what the client sent: at most a few times the limit is ever normalised.

A message that was cut is still handled, so that the red-flag check reads its first
part (a danger sign at the start of a long message is still escalated), and the
channel adds :func:`too_long_reply` to the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import FrozenSet

from clinic_assistant.settings import get_settings
from clinic_assistant.text.normalize import MAX_MESSAGE_CHARS, normalize_text, truncate
from clinic_assistant.text.payloads import screen_payload

#: Raw characters read at most: format characters and spaces that normalisation
#: removes may pad a message, but never by more than this factor.
_RAW_FACTOR = 4


@dataclass(frozen=True)
class Incoming:
    """What the NLU reads, and whether the patient's message was cut to fit."""

    text: str
    too_long: bool


def prepare(raw: str, known_payloads: FrozenSet[str]) -> Incoming:
    """Normalise, bound and screen one message (``raw`` must be a ``str``)."""
    head = raw[: MAX_MESSAGE_CHARS * _RAW_FACTOR]
    text = normalize_text(head)
    too_long = len(raw) > len(head) or len(text) > MAX_MESSAGE_CHARS
    text = screen_payload(truncate(text), known_payloads)
    return Incoming(text=text, too_long=too_long)


def too_long_reply() -> str:
    """The kind answer added when a message was too long to read in full."""
    emergency = get_settings().clinic.emergency_number
    return (
        f"Your message is too long for me to read in full: I read only the first "
        f"{MAX_MESSAGE_CHARS:,} characters. Please send a shorter message. "
        f"If this is an emergency, call {emergency} now."
    )
