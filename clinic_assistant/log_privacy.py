"""Patients' words and phone numbers never reach a log, on any path.

Rasa 3.6 logs message text in several places: ``structlog`` events carry it under
keys such as ``text`` or ``user_text`` (``rest.message.received.failure``,
``message.parsing.failed``), its JSON renderer writes exceptions with every frame's
local variables, some ``logging`` calls format it into the message, and
``raise_warning`` puts it into warnings. :func:`install` closes all of these in the
process it runs in (the Rasa server imports it with the project's channels):

* a ``structlog`` processor that replaces the values of text-bearing keys with
  ``[redacted]`` and renders exceptions as type and frames only (no message, no
  locals);
* a ``logging`` filter on every handler that does the same to stdlib records and,
  as a last line, removes the text of the message being handled (set by the channel
  with :func:`handling`) and anything shaped like a phone number from the line;
* warnings are routed through ``logging`` so that the filter sees them.
"""

from __future__ import annotations

import json
import logging
import re
import traceback
from contextlib import contextmanager
from contextvars import ContextVar
from types import TracebackType
from typing import Any, Iterator, MutableMapping, Optional, Tuple, Type

REDACTED = "[redacted]"
#: structlog keys that may hold a patient's words (Rasa's own anonymizer list,
#: rasa.utils.log_utils._anonymizer, plus the ones it forgot) or their phone number.
TEXT_KEYS = frozenset(
    {
        "text",
        "response_text",
        "user_text",
        "slot_values",
        "parse_data_text",
        "parse_data_entities",
        "prediction_events",
        "tracker_latest_message",
        "prefilled_slots",
        "message",
        "response",
        "slot_candidates",
        "rasa_event",
        "rasa_events",
        "tracker_states",
        "current_states",
        "old_states",
        "successes",
        "current_entity",
        "next_entity",
        "states",
        "entity",
        "token_text",
        "user_message",
        "json_message",
        "metadata",
        "sender_id",
        "events",
        "tracker",
        "parse_data",
        "messages",
        "user_uttered",
        "utterance",
    }
)
#: A phone number in international or North American form (an SMS sender id).
PHONE = re.compile(r"\+\d{7,15}\b|\(?\b\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b")
#: Texts shorter than this are not hunted for in lines ("hi" is in many words).
MIN_HUNTED_CHARS = 4

_current: ContextVar[Tuple[str, ...]] = ContextVar("patient_texts", default=())
_installed = False

ExcInfo = Tuple[Type[BaseException], BaseException, Optional[TracebackType]]


@contextmanager
def handling(*texts: object) -> Iterator[None]:
    """While a patient's message is handled (and in the tasks started meanwhile),
    lines that contain any of ``texts`` have them removed."""
    hunted = tuple(t for t in texts if isinstance(t, str) and len(t) >= MIN_HUNTED_CHARS)
    token = _current.set(_current.get() + hunted)
    try:
        yield
    finally:
        _current.reset(token)


def _variants(text: str) -> Iterator[str]:
    yield text
    yield json.dumps(text)[1:-1]  # as the JSON renderer writes it
    yield repr(text)[1:-1]  # as %r and f"{x!r}" write it


def scrub_text(line: str) -> str:
    """``line`` without the texts being handled and without phone numbers."""
    for text in _current.get():
        for variant in _variants(text):
            if variant and variant in line:
                line = line.replace(variant, REDACTED)
    return PHONE.sub(REDACTED, line)


def safe_traceback(exc_info: Any) -> str:
    """Type and frames of an exception: no message and no locals (they hold text)."""
    if exc_info is True or exc_info is None:
        import sys

        exc_info = sys.exc_info()
    if isinstance(exc_info, BaseException):
        exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
    if not isinstance(exc_info, tuple) or exc_info[0] is None:
        return ""
    kind, _value, tb = exc_info
    frames = "".join(traceback.format_list(traceback.extract_tb(tb))) if tb else ""
    return f"Traceback (most recent call last):\n{frames}{kind.__name__}: {REDACTED}"


def _scrub_value(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {k: REDACTED if k in TEXT_KEYS else _scrub_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub_value(v) for v in value]
    return value


def scrub_event(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> Any:
    """structlog processor: redacted keys, scrubbed strings, exceptions without text."""
    for key in list(event):
        if key in TEXT_KEYS:
            event[key] = REDACTED
        elif key == "exc_info":
            exc_info = event.pop("exc_info")
            if exc_info:
                event["exception"] = safe_traceback(exc_info)
        else:
            event[key] = _scrub_value(event[key])
    return event


class PatientTextFilter(logging.Filter):
    """stdlib filter: the same scrubbing for every record a handler writes."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrites the record in place; never drops it."""
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string: keep only the template
            message = str(record.msg)
        record.msg, record.args = scrub_text(message), None
        if record.exc_info:
            record.exc_text = safe_traceback(record.exc_info)
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = scrub_text(record.exc_text)
        return True


_FILTER = PatientTextFilter()


def _filter_all_handlers() -> None:
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)


def _configure_structlog() -> None:
    import structlog

    processors = structlog.get_config()["processors"]
    if scrub_event in processors:
        return
    # Before the exception renderers and the final renderer; in place, so that
    # loggers cached before this call use it too.
    tracebacks = [i for i, p in enumerate(processors) if p is structlog.processors.dict_tracebacks]
    at = tracebacks[0] if tracebacks else max(len(processors) - 1, 0)
    processors.insert(at, scrub_event)


def install() -> None:
    """Scrub every log of this process from now on (idempotent; call again after
    a framework added handlers)."""
    global _installed
    if not _installed:
        logging.captureWarnings(True)
        _installed = True
    _configure_structlog()
    _filter_all_handlers()
