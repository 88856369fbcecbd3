"""What the patient is told when the lock store cannot be reached.

Without the conversation's lock the message is not handled at all (two replicas
handling the same conversation at once could give two replies, or lose events), so
the patient gets this instead: it says what to do in an emergency, since the message
may have been one, and how to reach the clinic. :mod:`clinic_assistant.channels.unhandled`
sends it (after the escalation instruction when the message is a danger sign), for
every failure of the handling, the tracker store's too.
"""

from __future__ import annotations

from clinic_assistant.contract import SPANISH
from clinic_assistant.settings import get_settings


def unavailable_reply(language: str = "en") -> str:
    """The kind reply, with the clinic's numbers from the settings; in Spanish for a
    message the safety net read as Spanish (``language`` ``"es"``)."""
    clinic = get_settings().clinic
    if language == SPANISH:
        return (
            "Lo siento, ahora no puedo responder por un problema técnico. "
            f"Si tiene dificultad para respirar, tragar o hablar, llame al "
            f"{clinic.emergency_number} ahora. Si no, llame a {clinic.name} al {clinic.phone} "
            f"({clinic.hours}) o inténtelo de nuevo en unos minutos."
        )
    return (
        "I'm sorry, I can't answer right now because of a technical problem. "
        f"If you have trouble breathing, swallowing or speaking, call {clinic.emergency_number} "
        f"now. Otherwise please call {clinic.name} at {clinic.phone} ({clinic.hours}), "
        "or try again in a few minutes."
    )
