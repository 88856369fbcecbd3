"""What every input channel does with a patient's message, in one place.

* :func:`known_payloads`: the exact button payloads of the loaded model's domain
  (the only "/" messages that may bypass understanding);
* :func:`client_metadata`: the client's ``metadata`` as kept in the tracker;
* :func:`handle_to_completion`: hands the message to Rasa so that it is handled to
  the end (stored, escalation recorded) even if the client goes away meanwhile,
  and, when the handling fails, still reads it for danger signs and tells the
  patient what to do (:mod:`clinic_assistant.channels.unhandled`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, FrozenSet, Optional, Set

from rasa.core.channels.channel import UserMessage
from rasa.core.lock_store import LockError

from clinic_assistant.channels.unhandled import WatchedOutput, tell_unhandled
from clinic_assistant.log_privacy import handling
from clinic_assistant.text.payloads import EXTRA_PAYLOADS, payloads_of_responses

logger = logging.getLogger(__name__)

#: Client metadata keys the assistant reads, with nothing else kept: none today, so
#: nothing a client sends is stored or carried into new sessions.
CLIENT_METADATA_KEYS: FrozenSet[str] = frozenset()
#: Longest value kept for a metadata key, in characters.
MAX_METADATA_VALUE_CHARS = 200

_payloads: dict[int, FrozenSet[str]] = {}
#: Messages being handled; kept referenced so that a task whose client left is
#: not garbage-collected before it finishes.
_running: Set[asyncio.Task[Any]] = set()


def known_payloads(app: Any) -> FrozenSet[str]:
    """The button payloads of the domain of the model the server runs."""
    agent = getattr(getattr(app, "ctx", None), "agent", None)
    domain = getattr(agent, "domain", None)
    if domain is None:
        return EXTRA_PAYLOADS
    key = id(domain)
    if key not in _payloads:
        _payloads.clear()  # one model at a time
        _payloads[key] = payloads_of_responses(domain.responses)
    return _payloads[key]


def client_metadata(raw: Any) -> dict[str, str]:
    """Only :data:`CLIENT_METADATA_KEYS`, string values, each bounded."""
    if not isinstance(raw, dict):
        return {}
    return {
        key: value[:MAX_METADATA_VALUE_CHARS]
        for key, value in raw.items()
        if key in CLIENT_METADATA_KEYS and isinstance(value, str)
    }


async def handle_to_completion(
    on_new_message: Callable[[UserMessage], Awaitable[Any]],
    message: UserMessage,
    raw_text: Optional[str] = None,
    domain: Any = None,
) -> None:
    """Run ``on_new_message(message)`` in its own task and wait for it.

    If the waiting request is cancelled (Sanic cancels a handler whose client
    closed the connection), the task goes on: the message is stored and an
    escalation recorded all the same. If the handling fails (the lock store or
    the tracker store down, any other error), the task still reads the message
    for danger signs and tells the patient what to do
    (:mod:`~clinic_assistant.channels.unhandled`, with ``domain``'s texts); it never
    raises. The message's text (and ``raw_text``) are removed from any log line
    written while it is handled.
    """
    with handling(message.text, raw_text):
        task = asyncio.ensure_future(_handle_or_tell(on_new_message, message, domain))
    _running.add(task)
    task.add_done_callback(_finished)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        logger.info("A client left before its reply; the message is handled anyway.")
        raise


async def _handle_or_tell(
    on_new_message: Callable[[UserMessage], Awaitable[Any]],
    message: UserMessage,
    domain: Any,
) -> None:
    original = message.output_channel
    watched = WatchedOutput(original) if original is not None else None
    message.output_channel = watched  # type: ignore[assignment]
    try:
        await on_new_message(message)
        return
    except LockError:
        # The lock store (Redis) is down: the message is not handled, so that two
        # replicas can never answer at once; the patient is told what to do.
        logger.warning("A message was not handled: the lock store is unavailable.")
    except Exception as error:
        logger.error(
            "A message could not be handled (%s); the patient is told what to do.",
            type(error).__name__,
            exc_info=error,
        )
    finally:
        message.output_channel = original
    await tell_unhandled(message, domain, watched.sent if watched else 0)


def _finished(task: asyncio.Task[Any]) -> None:
    _running.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.error("A message could not be handled.", exc_info=task.exception())


async def drain(timeout_s: float = 30.0) -> None:
    """Wait for messages still being handled (at shutdown)."""
    if _running:
        await asyncio.wait(set(_running), timeout=timeout_s)
