"""The one type for an escalation, from the patient's message to staff's resolution."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Optional, Tuple, TypeGuard

#: ``not_configured``: no webhook or email set, the record is the only trace;
#: ``pending``: a notice is (or was, if the process died) on its way.
STATUSES = ("not_configured", "pending", "sent", "failed")
#: References are ``esc_`` and 24 hex digits: unguessable, safe in a URL and a log.
REF_PREFIX = "esc_"
REF_HEX_DIGITS = 24


def new_ref() -> str:
    """A fresh escalation reference (random, 96 bits)."""
    return REF_PREFIX + secrets.token_hex(REF_HEX_DIGITS // 2)


def is_ref(value: object) -> TypeGuard[str]:
    """True for a string shaped like :func:`new_ref`'s."""
    if not isinstance(value, str) or len(value) != len(REF_PREFIX) + REF_HEX_DIGITS:
        return False
    digits = value[len(REF_PREFIX) :]
    return value.startswith(REF_PREFIX) and all(c in "0123456789abcdef" for c in digits)


@dataclass(frozen=True)
class Escalation:
    """A conversation's escalation: what was reported, how often, who was told, who acted.

    Repeats in one conversation are merged into one escalation (``count``,
    ``last_seen_at``, the highest level, every symptom). ``id`` is None only for
    an escalation that could not be recorded; ``ref`` is what the conversation
    holds (slot ``escalation_ref``) and what notices name.
    """

    ref: str
    conversation_id: str
    channel: Optional[str]
    level: str
    symptoms: Tuple[str, ...]
    message: str
    created_at: datetime
    last_seen_at: datetime
    count: int = 1
    last_message: Optional[str] = None
    id: Optional[int] = None
    notification_status: str = "pending"
    notification_attempts: int = 0
    notification_error: Optional[str] = None
    acknowledged_at: Optional[datetime] = None
    acknowledged_by: Optional[str] = None
    resolved_at: Optional[datetime] = None
    resolved_by: Optional[str] = None
    resolution_note: Optional[str] = None

    @property
    def open(self) -> bool:
        """True until staff resolve it."""
        return self.resolved_at is None

    def __repr__(self) -> str:
        # Keep the patient's words out of reprs, which end up in logs and tracebacks.
        return (
            f"Escalation(id={self.id}, ref={self.ref!r}, level={self.level!r}, "
            f"symptoms={list(self.symptoms)!r}, count={self.count}, "
            f"status={self.notification_status!r})"
        )
