"""The escalations page: the records with who acknowledged and resolved them.

The records are the escalation store's (clinic_assistant.escalations.store); the
console adds who acknowledged each, who resolved it and their note
(``staff_escalation_states``). Open means not resolved yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Dict, List, Optional

import sqlalchemy as sa

from clinic_assistant.console import tables
from clinic_assistant.escalations import store

#: A notice still pending after this long probably never went out: it is marked.
PENDING_TOO_LONG = timedelta(minutes=3)
MAX_NOTE_CHARS = 2000


@dataclass(frozen=True)
class BoardItem:
    """One escalation as staff see it."""

    record: store.EscalationRecord
    acknowledged_by: Optional[str]
    acknowledged_at: Optional[datetime]
    resolved_by: Optional[str]
    resolved_at: Optional[datetime]
    resolution_note: Optional[str]

    @property
    def notice_problem(self) -> Optional[str]:
        """Why the clinic may not have been told, or None when the notice is fine."""
        status = self.record.notification_status
        if status == "failed":
            return "notice failed"
        if status == "pending" and datetime.now(timezone.utc) - self.record.created_at > (
            PENDING_TOO_LONG
        ):
            return "notice still pending"
        return None


def _states(ids: List[int], db_url: Optional[str]) -> Dict[int, sa.engine.Row]:  # type: ignore[type-arg]
    if not ids:
        return {}
    with tables.get_engine(db_url).connect() as connection:
        rows = connection.execute(
            sa.select(tables.escalation_states).where(
                tables.escalation_states.c.escalation_id.in_(ids)
            )
        )
        return {int(row.escalation_id): row for row in rows}


def _item(record: store.EscalationRecord, state: Optional[sa.engine.Row]) -> BoardItem:  # type: ignore[type-arg]
    return BoardItem(
        record=record,
        acknowledged_by=state.acknowledged_by if state is not None else None,
        acknowledged_at=(state.acknowledged_at if state is not None else None)
        or record.acknowledged_at,
        resolved_by=state.resolved_by if state is not None else None,
        resolved_at=state.resolved_at if state is not None else None,
        resolution_note=state.resolution_note if state is not None else None,
    )


def open_escalations(limit: int = 50, *, db_url: Optional[str] = None) -> List[BoardItem]:
    """Escalations not resolved yet, newest first (one query)."""
    e = store.escalations
    st = tables.escalation_states
    statement = (
        sa.select(
            e,
            st.c.acknowledged_by,
            st.c.resolved_by,
            st.c.resolved_at,
            st.c.resolution_note,
            st.c.acknowledged_at.label("staff_acknowledged_at"),
        )
        .select_from(e.outerjoin(st, st.c.escalation_id == e.c.id))
        .where(st.c.resolved_at.is_(None))
        .order_by(e.c.created_at.desc(), e.c.id.desc())
        .limit(limit)
    )
    with tables.get_engine(db_url).connect() as connection:
        rows = connection.execute(statement).fetchall()
    return [
        BoardItem(
            record=store._record(row),
            acknowledged_by=row.acknowledged_by,
            acknowledged_at=row.staff_acknowledged_at or row.acknowledged_at,
            resolved_by=None,
            resolved_at=None,
            resolution_note=None,
        )
        for row in rows
    ]


def count_open(*, db_url: Optional[str] = None) -> int:
    """How many escalations are not resolved yet."""
    e = store.escalations
    st = tables.escalation_states
    statement = (
        sa.select(sa.func.count())
        .select_from(e.outerjoin(st, st.c.escalation_id == e.c.id))
        .where(st.c.resolved_at.is_(None))
    )
    with tables.get_engine(db_url).connect() as connection:
        return int(connection.execute(statement).scalar() or 0)


def recently_resolved(limit: int = 20, *, db_url: Optional[str] = None) -> List[BoardItem]:
    """The last escalations resolved, newest resolution first."""
    s = tables.escalation_states
    statement = (
        sa.select(s.c.escalation_id)
        .where(s.c.resolved_at.is_not(None))
        .order_by(s.c.resolved_at.desc())
        .limit(limit)
    )
    with tables.get_engine(db_url).connect() as connection:
        ids = [int(row.escalation_id) for row in connection.execute(statement)]
    return _items(ids, db_url)


def _items(ids: List[int], db_url: Optional[str]) -> List[BoardItem]:
    if not ids:
        return []
    e = store.escalations
    with tables.get_engine(db_url).connect() as connection:
        rows = {int(row.id): row for row in connection.execute(sa.select(e).where(e.c.id.in_(ids)))}
    states = _states(ids, db_url)
    return [_item(store._record(rows[i]), states.get(i)) for i in ids if i in rows]


def for_conversation(conversation_id: str, *, db_url: Optional[str] = None) -> List[BoardItem]:
    """Every escalation of one conversation, newest first."""
    records = store.list_escalations(conversation_id=conversation_id, limit=100, db_url=db_url)
    states = _states([r.id for r in records if r.id is not None], db_url)
    return [_item(record, states.get(record.id or -1)) for record in records]


def get_item(escalation_id: int, *, db_url: Optional[str] = None) -> Optional[BoardItem]:
    """One escalation with its state."""
    items = _items([escalation_id], db_url)
    return items[0] if items else None


def _upsert(escalation_id: int, values: Dict[str, object], db_url: Optional[str]) -> None:
    s = tables.escalation_states
    with tables.get_engine(db_url).begin() as connection:
        changed = connection.execute(
            s.update().where(s.c.escalation_id == escalation_id).values(**values)
        ).rowcount
        if not changed:
            connection.execute(s.insert().values(escalation_id=escalation_id, **values))


def acknowledge(escalation_id: int, username: str, *, db_url: Optional[str] = None) -> bool:
    """Mark an escalation seen by ``username``; False when it was already acknowledged."""
    item = get_item(escalation_id, db_url=db_url)
    if item is None or item.acknowledged_by is not None:
        return False
    now = datetime.now(timezone.utc)
    store.acknowledge_escalation(escalation_id, at=now, db_url=db_url)
    _upsert(escalation_id, {"acknowledged_by": username, "acknowledged_at": now}, db_url)
    return True


def resolve(escalation_id: int, username: str, note: str, *, db_url: Optional[str] = None) -> bool:
    """Close an escalation with a note (acknowledging it too if nobody had)."""
    item = get_item(escalation_id, db_url=db_url)
    if item is None or item.resolved_at is not None:
        return False
    if item.acknowledged_by is None:
        acknowledge(escalation_id, username, db_url=db_url)
    _upsert(
        escalation_id,
        {
            "resolved_by": username,
            "resolved_at": datetime.now(timezone.utc),
            "resolution_note": note.strip()[:MAX_NOTE_CHARS],
        },
        db_url,
    )
    return True
