"""What a text message says: the assistant's replies as SMS, and the patient's keywords.

Pure functions, no I/O, so the SMS rendering is tested without a server:

* :func:`render_turn` turns the responses of one turn (Rasa's response dicts) into
  the texts to send: the escalation instruction first, then the one-line disclaimer
  of a new conversation, then the rest; buttons become one numbered list; texts are
  packed into messages of at most :data:`MAX_SMS_CHARS` characters, split only at
  line breaks (or, for a single over-long line, at a space).
* :func:`keyword_of` recognises the carrier keywords (STOP, START, HELP and their
  synonyms), :func:`option_number` a reply that picks a numbered option ("1",
  "one", "#2").
* :func:`segments` counts what an SMS costs (GSM-7 or UCS-2 segments).

Typographic punctuation (en dash, curly quotes, ellipsis) is sent as its plain
ASCII form, as Twilio's own "smart encoding" does: one such character would
otherwise switch a whole message to UCS-2 and more than double its segments.
The sheet's words are unchanged.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from clinic_assistant.contract import escalation_of

#: The channel's name: the Rasa routes (/webhooks/twilio/...) and the NLG's channel.
CHANNEL = "twilio"
#: Twilio's limit for one message body (it splits longer SMS into segments itself).
MAX_SMS_CHARS = 1600

#: Carrier keywords (CTIA; Twilio's defaults). Matched on the whole message.
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
#: START and UNSTOP always opt in again; YES only when the patient is opted out
#: (otherwise "yes" is an answer to the assistant's question).
START_WORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_WORDS = frozenset({"HELP", "INFO"})

STOP, START, HELP = "stop", "start", "help"

_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "first": 1,
    "second": 2,
    "third": 3,
}
#: "1", "#2", "2.", "(3)", "option 2", "number two", "no. 3" - nothing else.
_OPTION = re.compile(
    r"(?:option|number|no\.?|choice|#)?\s*#?\s*\(?\s*([0-9]{1,2}|[a-z]+)\s*\)?[.!)]*",
)
_KEYWORD_TRIM = ".!?\"' "

#: Typographic characters outside GSM-7 and their plain forms (Twilio's smart encoding).
_PLAIN = str.maketrans(
    {
        "\u2013": "-",
        "\u2014": "-",
        "\u2012": "-",
        "\u2011": "-",
        "\u2010": "-",
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2033": '"',
        "\u2026": "...",
        "\u00a0": " ",
        "\u2009": " ",
        "\u202f": " ",
        "\u2022": "-",
    }
)

_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€\f")


@dataclass(frozen=True)
class Option:
    """One numbered choice: what the patient reads and what it sends to the assistant."""

    title: str
    payload: str


@dataclass(frozen=True)
class RenderedTurn:
    """The SMS bodies of one turn, the numbered options they offer, and the escalation."""

    bodies: Tuple[str, ...]
    options: Tuple[Option, ...] = ()
    escalation_level: Optional[str] = None
    #: Index of the body that carries the escalation instruction (always 0 when set).
    escalation_body: Optional[int] = field(default=None)


def plain(text: str) -> str:
    """``text`` with typographic punctuation as plain ASCII (smart encoding)."""
    return text.translate(_PLAIN)


def is_gsm7(text: str) -> bool:
    """True when every character is in the GSM 03.38 alphabet (with its extension)."""
    return all(ch in _GSM_BASIC or ch in _GSM_EXTENDED for ch in text)


def segments(text: str) -> int:
    """SMS segments ``text`` costs: GSM-7 160 / 153 per part, else UCS-2 70 / 67."""
    if not text:
        return 1
    if is_gsm7(text):
        septets = sum(2 if ch in _GSM_EXTENDED else 1 for ch in text)
        return 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)


def keyword_of(text: str) -> Optional[str]:
    """:data:`STOP`, :data:`START` or :data:`HELP` when the whole message is a keyword."""
    word = text.strip().strip(_KEYWORD_TRIM).upper()
    if word in STOP_WORDS:
        return STOP
    if word in START_WORDS:
        return START
    if word in HELP_WORDS:
        return HELP
    return None


def option_number(text: str) -> Optional[int]:
    """The number a reply picks ("1", "one", "#2", "option 3"), or None for other text."""
    candidate = text.strip().lower()
    if not candidate or len(candidate) > 20:
        return None
    match = _OPTION.fullmatch(candidate)
    if match is None:
        return None
    token = match.group(1)
    if token.isdigit():
        number = int(token)
        return number if number > 0 else None
    return _NUMBER_WORDS.get(token)


def options_of(responses: Iterable[Mapping[str, Any]]) -> Tuple[Option, ...]:
    """The buttons (or quick replies) of a turn, in order, without repeated payloads."""
    seen: Dict[str, Option] = {}
    for response in responses:
        for button in response.get("buttons") or response.get("quick_replies") or []:
            if not isinstance(button, Mapping):
                continue
            title, payload = button.get("title"), button.get("payload")
            if isinstance(title, str) and isinstance(payload, str) and payload not in seen:
                seen[payload] = Option(title.strip(), payload.strip())
    return tuple(seen.values())


def numbered_list(options: Sequence[Option]) -> str:
    """``Reply 1 for ..., 2 for ...`` as a short list, one option a line."""
    lines = ["Reply with a number:"]
    lines += [f"{number} {option.title}" for number, option in enumerate(options, start=1)]
    return "\n".join(lines)


def pack(parts: Iterable[str], limit: int = MAX_SMS_CHARS) -> List[str]:
    """Join ``parts`` (blank line between) into as few bodies of <= ``limit`` chars as fit.

    A part longer than ``limit`` is split at line breaks; a single longer line at
    the last space before the limit (or, with none, at the limit). Never loses text.
    """
    bodies: List[str] = []
    current = ""
    for part in parts:
        part = part.strip()
        if not part:
            continue
        for piece in _split(part, limit):
            joined = f"{current}\n\n{piece}" if current else piece
            if len(joined) <= limit:
                current = joined
            else:
                bodies.append(current)
                current = piece
    if current:
        bodies.append(current)
    return bodies


def _split(text: str, limit: int) -> List[str]:
    """``text`` in pieces of <= ``limit`` characters, cut at line breaks first."""
    if len(text) <= limit:
        return [text]
    pieces: List[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            cut = line.rfind(" ", 0, limit + 1)
            cut = cut if cut > 0 else limit
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:cut].rstrip())
            line = line[cut:].lstrip()
        joined = f"{current}\n{line}" if current else line
        if len(joined) <= limit:
            current = joined
        else:
            pieces.append(current)
            current = line
    if current:
        pieces.append(current)
    return pieces


def render_turn(
    responses: Sequence[Mapping[str, Any]],
    *,
    disclaimer: Optional[str] = None,
) -> RenderedTurn:
    """The SMS bodies for one turn's responses (see the module docstring).

    The escalation instruction (the text of a response whose ``custom`` carries the
    escalation payload) comes first, so it is in the first message a phone shows;
    the payload itself is not sent (it is recorded with the tracker). Other custom
    payloads, images and attachments have no SMS form and are left out.
    """
    urgent_texts: List[str] = []
    other_texts: List[str] = []
    level: Optional[str] = None
    for response in responses:
        text = response.get("text")
        escalation = escalation_of(response.get("custom"))
        if escalation is not None and level is None:
            level = escalation.level
        if not isinstance(text, str) or not text.strip():
            continue
        (urgent_texts if escalation is not None else other_texts).append(plain(text))
    options = options_of(responses)
    parts = [*urgent_texts]
    if disclaimer:
        parts.append(plain(disclaimer))
    parts += other_texts
    if options:
        parts.append(plain(numbered_list(options)))
    bodies = pack(parts)
    return RenderedTurn(
        bodies=tuple(bodies),
        options=options,
        escalation_level=level,
        escalation_body=0 if urgent_texts else None,
    )
