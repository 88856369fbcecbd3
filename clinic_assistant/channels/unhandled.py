"""What happens to a message that Rasa could not handle to the end.

The lock store (Redis) or the tracker store (PostgreSQL, SQLite) can be down, or any
other part can fail while a message is handled. The patient must never get silence
then, and a danger sign must not be lost with the conversation:

* the safety net still reads the message (it needs no database);
* the patient is told what to do: the escalation instruction of the net's level (or
  its safety line, when the net would have asked), in the message's language, then
  the kind "I can't answer right now" reply with the clinic's numbers;
* a danger sign is reported to the escalation service, which notifies the clinic
  even when the record cannot be written (see ``EscalationService.handle``).

Nothing is said twice: when replies already went out before the failure (e.g. the
tracker could not be saved after the answer was sent), the patient has an answer.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

from rasa.core.channels.channel import OutputChannel, UserMessage

from clinic_assistant.contract import (
    RESPONSE_BY_LEVEL,
    SAFETY_LINE_BY_LEVEL,
    SPANISH,
    SPANISH_SUFFIX,
    RedFlag,
)
from clinic_assistant.locks.unavailable import unavailable_reply

logger = logging.getLogger(__name__)


class WatchedOutput(OutputChannel):
    """An output channel that remembers whether anything was sent through it.

    Rasa sends every bot message through ``send_response``; everything else
    (``messages`` of a collecting channel, ``name``) is the wrapped channel's.
    """

    def __init__(self, inner: OutputChannel) -> None:
        self.inner = inner
        self.sent = 0

    @classmethod
    def name(cls) -> str:  # pragma: no cover - instances answer with the inner's name
        return "watched"

    def __getattr__(self, item: str) -> Any:
        return getattr(self.inner, item)

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        """Counts, then sends through the wrapped channel."""
        self.sent += 1
        await self.inner.send_response(recipient_id, message)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Counts, then sends through the wrapped channel."""
        self.sent += 1
        await self.inner.send_text_message(recipient_id, text, **kwargs)


def _assess(text: str) -> Any:
    """The safety net's reading of ``text`` (None if the net cannot run)."""
    try:
        from clinic_assistant.red_flags.net import default_net

        return default_net().assess(text)
    except Exception as error:  # noqa: BLE001 - the kind reply still names the emergency number
        logger.error(
            "The safety net could not read an unhandled message (%s).", type(error).__name__
        )
        return None


def _response(domain: Any, name: str, channel: Optional[str]) -> Optional[str]:
    """The domain's text for response ``name``, filled with the clinic's settings
    (Rasa's own interpolation, as the NLG does)."""
    from rasa.core.nlg.interpolator import interpolate_text

    from clinic_assistant.nlg import settings_values

    variations = (getattr(domain, "responses", None) or {}).get(name) or []
    text = variations[0].get("text") if variations else None
    if not isinstance(text, str):
        return None
    return interpolate_text(text, settings_values(channel))


def danger_lines(text: str, domain: Any, channel: Optional[str]) -> tuple[List[str], Any]:
    """What to do now if ``text`` is a danger sign (none if not), and the net's assessment.

    Each channel puts its own "I can't answer right now" after these lines.
    """
    assessment = _assess(text)
    replies: List[str] = []
    if assessment is not None and domain is not None:
        suffix = SPANISH_SUFFIX if assessment.language == SPANISH else ""
        if assessment.level in RESPONSE_BY_LEVEL:
            name = RESPONSE_BY_LEVEL[assessment.level]
        elif assessment.ask_level in SAFETY_LINE_BY_LEVEL:
            name = SAFETY_LINE_BY_LEVEL[assessment.ask_level]
        else:
            name = None
        if name is not None:
            found = _response(domain, name + suffix, channel) or _response(domain, name, channel)
            if found:
                replies.append(found)
    return replies, assessment


async def tell_unhandled(message: UserMessage, domain: Any, already_sent: int) -> None:
    """Tell the patient (unless replies already went out) and report a danger sign."""
    lines, assessment = danger_lines(message.text or "", domain, message.input_channel)
    language = getattr(assessment, "language", None) or "en"
    replies = [*lines, unavailable_reply(language)]
    if not already_sent and message.output_channel is not None:
        for text in replies:
            try:
                await message.output_channel.send_response(message.sender_id, {"text": text})
            except Exception as error:  # noqa: BLE001 - the patient's channel is gone too
                logger.error("Could not tell a patient about a failure (%s).", type(error).__name__)
                break
    report_danger(assessment, str(message.sender_id), message.input_channel, message.text or "")


def report_danger(assessment: Any, conversation_id: str, channel: Optional[str], text: str) -> None:
    """Hand a danger sign the net found to the escalation service, which notifies the
    clinic even when the record cannot be written. Must run in the event loop."""
    if assessment is None or assessment.level is None:
        return
    red_flag = RedFlag(assessment.level, tuple(assessment.symptoms))
    try:
        from clinic_assistant.escalations.service import get_service

        service = get_service()
        service.report(
            service.sighting(
                conversation_id=conversation_id, channel=channel, red_flag=red_flag, message=text
            )
        )
        logger.warning("A %s escalation from an unhandled message was reported.", red_flag.level)
    except Exception as error:  # noqa: BLE001 - nothing more can be done here
        logger.critical(
            "A %s escalation from an unhandled message could not be reported (%s).",
            red_flag.level,
            type(error).__name__,
        )
