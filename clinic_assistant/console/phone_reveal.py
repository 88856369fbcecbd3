"""Reveal a patient's phone number to staff, with a reason (audited by the caller).

The number is kept only by the text-message channel, in its own table
(``clinic_assistant.channels.twilio_store``). Until that channel is installed
there is no number to reveal, and the transcript offers no button.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Optional

_STORE = "clinic_assistant.channels.twilio_store"


def _store() -> Optional[ModuleType]:
    try:
        return importlib.import_module(_STORE)
    except ImportError:
        return None


def available(conversation_id: str, db_url: str) -> bool:
    """True when the text-message channel exists and may hold this patient's number."""
    store = _store()
    return store is not None and hasattr(store, "address_of")


def reveal(conversation_id: str, db_url: str) -> Optional[str]:
    """The patient's number (or WhatsApp address), or None when none is kept."""
    store = _store()
    if store is None or not hasattr(store, "address_of"):
        return None
    address = store.address_of(db_url, conversation_id)
    return str(address) if address else None
