"""What the patient is told when the lock store cannot be reached.

Without the conversation's lock the message is not handled at all (two replicas
handling the same conversation at once could give two replies, or lose events), so
the patient gets this instead: it says what to do in an emergency, since the message
may have been one, and how to reach the clinic. The channels call :func:`apologise`.
"""

from __future__ import annotations

import logging

from rasa.core.channels.channel import UserMessage

from clinic_assistant.settings import get_settings

logger = logging.getLogger(__name__)


def unavailable_reply() -> str:
    """The kind reply, with the clinic's numbers from the settings."""
    clinic = get_settings().clinic
    return (
        "I'm sorry, I can't answer right now because of a technical problem. "
        f"If you have trouble breathing, swallowing or speaking, call {clinic.emergency_number} "
        f"now. Otherwise please call {clinic.name} at {clinic.phone} ({clinic.hours}), "
        "or try again in a few minutes."
    )


async def apologise(message: UserMessage) -> None:
    """Send :func:`unavailable_reply` to the message's own channel."""
    logger.warning("A message was not handled: the lock store is unavailable.")
    if message.output_channel is not None:
        await message.output_channel.send_text_message(message.sender_id, unavailable_reply())
