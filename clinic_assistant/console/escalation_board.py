"""The escalations page: the escalation records as staff see them.

Everything shown is the escalation store's row (clinic_assistant.escalations):
who acknowledged it and when, who resolved it, when and with what note. Staff's
actions go through the one escalation service (``EscalationService.acknowledge``
/ ``resolve``), so the console, ``make review`` and the notices all see one
state, and a row the store reopens (a new danger sign after a resolution) is
open here too. Open means not resolved yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Dict, List, Optional, Set

import sqlalchemy as sa

from clinic_assistant.channels import twilio_store
from clinic_assistant.console import tables
from clinic_assistant.escalations import store
from clinic_assistant.escalations.model import Escalation
from clinic_assistant.escalations.schema import UTCDateTime
from clinic_assistant.escalations.service import EscalationService


@dataclass(frozen=True)
class BoardItem:
    """One escalation as staff see it."""

    record: Escalation
    #: Why the clinic may not have been told ("notice failed", "notice still
    #: pending"), or None when the notice is fine.
    notice_problem: Optional[str] = None
    #: The safety reply sent by text message did not reach the patient (Twilio
    #: said failed or undelivered, or it could not be sent): staff must phone them.
    reply_failed: bool = False


def _problem(record: Escalation, stale_after: timedelta, now: datetime) -> Optional[str]:
    if record.notification_status == "failed":
        return "notice failed"
    if record.notification_status == "pending" and now - record.last_seen_at > stale_after:
        return "notice still pending"
    return None


#: The safety reply is sent before the record is written (in the background): a
#: failed reply this long before a record's first message still belongs to it.
REPLY_BEFORE_RECORD = timedelta(minutes=1)


def _replies_failed(service: EscalationService, conversation_ids: Set[str]) -> Dict[str, datetime]:
    """Conversation -> when its latest escalation reply by text message failed."""
    engine = tables.get_engine(service.settings.db_url)
    if not conversation_ids or not tables.has_table(engine, twilio_store.outbound.name):
        return {}
    sent = twilio_store.outbound
    # type_: max() would otherwise lose the column's type (SQLite hands back text).
    latest = sa.func.max(sent.c.created_at, type_=UTCDateTime()).label("latest")
    statement = (
        sa.select(sent.c.conversation_id, latest)
        .where(sent.c.conversation_id.in_(sorted(conversation_ids)), sent.c.needs_callback)
        .group_by(sent.c.conversation_id)
    )
    with engine.connect() as connection:
        return {str(row.conversation_id): row.latest for row in connection.execute(statement)}


def _board(service: EscalationService, records: List[Escalation]) -> List[BoardItem]:
    # The same threshold as the service's stale notices (ESCALATION_PENDING_STALE_MINUTES).
    stale_after = timedelta(minutes=service.settings.escalation_pending_stale_minutes)
    now = datetime.now(timezone.utc)
    failed = _replies_failed(service, {record.conversation_id for record in records})
    return [
        BoardItem(
            record,
            _problem(record, stale_after, now),
            # Only a failure since this escalation began (not an older, handled one).
            reply_failed=record.conversation_id in failed
            and failed[record.conversation_id] >= record.created_at - REPLY_BEFORE_RECORD,
        )
        for record in records
    ]


def _items(service: EscalationService, statement: sa.sql.Select) -> List[BoardItem]:  # type: ignore[type-arg]
    with tables.get_engine(service.settings.db_url).connect() as connection:
        records = [store.from_row(row) for row in connection.execute(statement)]
    return _board(service, records)


def open_escalations(service: EscalationService, limit: int = 50) -> List[BoardItem]:
    """Escalations not resolved yet, newest first (one query, through the created_at index)."""
    e = store.escalations
    statement = (
        sa.select(e)
        .where(e.c.resolved_at.is_(None))
        .order_by(e.c.created_at.desc(), e.c.id.desc())
        .limit(limit)
    )
    return _items(service, statement)


def count_open(service: EscalationService) -> int:
    """How many escalations are not resolved yet."""
    e = store.escalations
    statement = sa.select(sa.func.count()).select_from(e).where(e.c.resolved_at.is_(None))
    with tables.get_engine(service.settings.db_url).connect() as connection:
        return int(connection.execute(statement).scalar() or 0)


def recently_resolved(service: EscalationService, limit: int = 20) -> List[BoardItem]:
    """The last escalations resolved, newest resolution first."""
    e = store.escalations
    statement = (
        sa.select(e)
        .where(e.c.resolved_at.is_not(None))
        .order_by(e.c.resolved_at.desc(), e.c.id.desc())
        .limit(limit)
    )
    return _items(service, statement)


def for_conversation(service: EscalationService, conversation_id: str) -> List[BoardItem]:
    """Every escalation of one conversation, newest first."""
    records = store.list_escalations(
        conversation_id=conversation_id, limit=100, db_url=service.settings.db_url
    )
    return _board(service, records)


def acknowledge(service: EscalationService, escalation_id: int, username: str) -> bool:
    """``username`` has seen it; False when it does not exist or someone had already."""
    at = datetime.now(timezone.utc)
    after = service.acknowledge(escalation_id, username, at=at)
    return after is not None and after.acknowledged_at == at


def resolve(service: EscalationService, escalation_id: int, username: str, note: str) -> bool:
    """``username`` closed it with ``note`` (acknowledging it too if nobody had).

    False when it does not exist or was already resolved (the first resolution
    stands: a second click on a stale page must not overwrite its note).
    """
    at = datetime.now(timezone.utc)
    after = service.resolve(escalation_id, username, note, at=at)
    return after is not None and after.resolved_at == at
