"""Escalation records: merge a message into its conversation's row, staff actions, queries.

The tables live in the database at ``Settings.db_url`` (a SQLite file by default,
PostgreSQL in production), next to Rasa's tracker store (``schema``). All SQL is
SQLAlchemy Core with bound parameters.

Repeats in one conversation are merged into its open row (a count, the last
time, the highest level, every symptom), so a flood of messages is one row,
not a hundred; at most ``max_new_per_day`` rows are started per conversation
per day, after which repeats go to the latest row (reopened if staff had
resolved it: a new danger sign is never hidden).

The row holds the patient's first and latest message because staff must read
what was said; nothing here logs them, and the notice (``notifier``) leaves
them out. These functions are synchronous (SQLAlchemy 1.4): async callers run
them in a worker thread so the event loop keeps serving others.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from clinic_assistant.contract import LEVELS
from clinic_assistant.escalations.model import STATUSES, Escalation, new_ref
from clinic_assistant.escalations.schema import REF_FROM_ID_PREFIX, aliases, escalations
from clinic_assistant.escalations.schema import UTCDateTime as UTCDateTime
from clinic_assistant.escalations.schema import dispose_engines as dispose_engines
from clinic_assistant.escalations.schema import get_engine as get_engine

#: Error texts are kept short: enough to diagnose, never a whole response body.
MAX_ERROR_CHARS = 500
#: A message longer than this is cut (the tracker store keeps the whole of it).
MAX_MESSAGE_CHARS = 5000
#: Staff names and notes are bounded too.
MAX_STAFF_CHARS = 100
MAX_NOTE_CHARS = 2000
#: Extra references one row answers to (one per conversation session that
#: repeated it); beyond this, later references are not kept.
MAX_ALIASES = 20
#: The window of the per-conversation limit on new rows.
LIMIT_WINDOW = timedelta(days=1)


@dataclass(frozen=True)
class Recorded:
    """What :func:`record` did: the merged row, and whether staff should hear of it."""

    escalation: Escalation
    new: bool
    #: New row, a higher level, a symptom not seen before, or a reopened row.
    worth_a_notice: bool


def _clip(text: Optional[str], limit: int) -> Optional[str]:
    if text is None:
        return None
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _higher(first: str, second: str) -> str:
    return first if LEVELS.index(first) <= LEVELS.index(second) else second


def from_row(row: Any) -> Escalation:
    """An escalation from a row of the ``escalations`` table (for readers of their own SQL)."""
    try:
        symptoms = tuple(str(item) for item in json.loads(row.symptoms))
    except (TypeError, ValueError):
        # A hand-edited row must not hide the escalation from staff tools.
        symptoms = (str(row.symptoms),)
    return Escalation(
        id=int(row.id),
        ref=row.ref or f"{REF_FROM_ID_PREFIX}{row.id}",
        conversation_id=row.conversation_id,
        channel=row.channel,
        level=row.level,
        symptoms=symptoms,
        message=row.message,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at or row.created_at,
        count=int(row.count or 1),
        last_message=row.last_message,
        notification_status=row.notification_status,
        notification_attempts=int(row.notification_attempts),
        notification_error=row.notification_error,
        acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acknowledged_by,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
        resolution_note=row.resolution_note,
    )


def _check(escalation: Escalation) -> None:
    if escalation.level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {escalation.level!r}")
    if escalation.notification_status not in STATUSES:
        raise ValueError(
            f"status must be one of {STATUSES}, got {escalation.notification_status!r}"
        )


def record(
    sighting: Escalation,
    *,
    max_new_per_day: int = 3,
    db_url: Optional[str] = None,
) -> Recorded:
    """Store one escalation message: a new row, or merged into the conversation's.

    ``sighting`` is the escalation as one message reported it (its ``ref`` the
    one the conversation holds or a fresh one). Raises ``ValueError`` for a
    level or status outside :data:`LEVELS` / :data:`STATUSES`, and SQLAlchemy's
    errors when the database fails: the caller decides what a failure means.
    """
    _check(sighting)
    engine = get_engine(db_url)
    try:
        with engine.begin() as connection:
            return _merge(connection, sighting, max_new_per_day)
    except sa.exc.IntegrityError:
        # Another process opened the conversation's row (or took this ref) in the
        # meantime: once more, which now merges into that row.
        with engine.begin() as connection:
            return _merge(connection, sighting, max_new_per_day)


def _merge(connection: Connection, sighting: Escalation, max_new_per_day: int) -> Recorded:
    table = escalations
    conversation = table.c.conversation_id == sighting.conversation_id
    latest = sa.select(table).where(conversation).order_by(table.c.id.desc()).limit(1)
    row = connection.execute(latest.where(table.c.resolved_at.is_(None))).first()
    if row is None:
        since = sighting.last_seen_at - LIMIT_WINDOW
        started = connection.execute(
            sa.select(sa.func.count())
            .select_from(table)
            .where(conversation, table.c.created_at >= since)
        ).scalar_one()
        if started >= max_new_per_day:
            row = connection.execute(latest).first()
    if row is None:
        ref = sighting.ref
        if connection.execute(sa.select(table.c.id).where(table.c.ref == ref)).first():
            ref = new_ref()  # a reference already taken (forged or reused): never merge across
        values = {
            "ref": ref,
            "created_at": sighting.created_at,
            "last_seen_at": sighting.last_seen_at,
            "conversation_id": sighting.conversation_id,
            "channel": sighting.channel,
            "level": sighting.level,
            "symptoms": json.dumps(list(sighting.symptoms)),
            "message": _clip(sighting.message, MAX_MESSAGE_CHARS),
            "count": 1,
            "notification_status": sighting.notification_status,
            "notification_attempts": 0,
        }
        result = connection.execute(table.insert().values(**values))
        new_id = int(result.inserted_primary_key[0])
        stored = connection.execute(sa.select(table).where(table.c.id == new_id)).one()
        return Recorded(from_row(stored), new=True, worth_a_notice=True)

    current = from_row(row)
    symptoms = tuple(dict.fromkeys([*current.symptoms, *sighting.symptoms]))
    level = _higher(current.level, sighting.level)
    reopened = not current.open
    worth = reopened or level != current.level or len(symptoms) > len(current.symptoms)
    changes: Dict[str, Any] = {
        "count": table.c.count + 1,
        "last_seen_at": sighting.last_seen_at,
        "last_message": _clip(sighting.message, MAX_MESSAGE_CHARS),
        "level": level,
        "symptoms": json.dumps(list(symptoms)),
    }
    if reopened:
        changes.update(
            resolved_at=None, resolved_by=None, acknowledged_at=None, acknowledged_by=None
        )
    if worth:
        changes.update(
            notification_status=sighting.notification_status,
            notification_attempts=0,
            notification_error=None,
        )
    connection.execute(table.update().where(table.c.id == current.id).values(**changes))
    _keep_alias(connection, current, sighting.ref)
    stored = connection.execute(sa.select(table).where(table.c.id == current.id)).one()
    return Recorded(from_row(stored), new=False, worth_a_notice=worth)


def _keep_alias(connection: Connection, current: Escalation, ref: str) -> None:
    """Let ``ref`` find ``current`` too (a repeat from a new session of the conversation)."""
    if ref == current.ref or current.id is None:
        return
    known = connection.execute(sa.select(aliases.c.escalation_id).where(aliases.c.ref == ref))
    if known.first() is not None:
        return
    kept = connection.execute(
        sa.select(sa.func.count()).select_from(aliases).where(aliases.c.escalation_id == current.id)
    ).scalar_one()
    taken = connection.execute(sa.select(escalations.c.id).where(escalations.c.ref == ref))
    if kept < MAX_ALIASES and taken.first() is None:
        connection.execute(aliases.insert().values(ref=ref, escalation_id=current.id))


def update_notification(
    escalation_id: int,
    status: str,
    attempts: int,
    error: Optional[str] = None,
    *,
    db_url: Optional[str] = None,
) -> bool:
    """Write a notification outcome to a record; False when no such record exists."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
    statement = (
        escalations.update()
        .where(escalations.c.id == escalation_id)
        .values(
            notification_status=status,
            notification_attempts=attempts,
            notification_error=_clip(error, MAX_ERROR_CHARS),
        )
    )
    with get_engine(db_url).begin() as connection:
        return bool(connection.execute(statement).rowcount)


def _staff(name: str) -> str:
    name = " ".join(str(name).split())
    if not name:
        raise ValueError("a staff member's name is required")
    return name[:MAX_STAFF_CHARS]


def acknowledge(
    escalation_id: int,
    by: str,
    *,
    at: Optional[datetime] = None,
    db_url: Optional[str] = None,
) -> Optional[Escalation]:
    """Mark a record as seen by ``by`` (the first acknowledgement wins).

    Returns the record as it is afterwards, or None when there is no such record.
    """
    statement = (
        escalations.update()
        .where(escalations.c.id == escalation_id, escalations.c.acknowledged_at.is_(None))
        .values(acknowledged_at=at or datetime.now(timezone.utc), acknowledged_by=_staff(by))
    )
    with get_engine(db_url).begin() as connection:
        connection.execute(statement)
    return get_escalation(escalation_id, db_url=db_url)


def resolve(
    escalation_id: int,
    by: str,
    note: str,
    *,
    at: Optional[datetime] = None,
    db_url: Optional[str] = None,
) -> Optional[Escalation]:
    """Close an open record with who, when and a note (acknowledging it too if nobody had).

    The first resolution stands: resolving a record already resolved changes
    nothing (a second click on a stale page must not replace the note). A later
    danger sign in the same conversation reopens it (see :func:`record`).
    Returns the record afterwards, or None when there is no such record.
    """
    note = str(note).strip()
    if not note:
        raise ValueError("a note saying what was done is required")
    when = at or datetime.now(timezone.utc)
    who = _staff(by)
    still_open = (escalations.c.id == escalation_id, escalations.c.resolved_at.is_(None))
    with get_engine(db_url).begin() as connection:
        connection.execute(
            escalations.update()
            .where(*still_open, escalations.c.acknowledged_at.is_(None))
            .values(acknowledged_at=when, acknowledged_by=who)
        )
        connection.execute(
            escalations.update()
            .where(*still_open)
            .values(resolved_at=when, resolved_by=who, resolution_note=_clip(note, MAX_NOTE_CHARS))
        )
    return get_escalation(escalation_id, db_url=db_url)


def get_escalation(escalation_id: int, *, db_url: Optional[str] = None) -> Optional[Escalation]:
    """One record by id, or None."""
    statement = sa.select(escalations).where(escalations.c.id == escalation_id)
    with get_engine(db_url).connect() as connection:
        row = connection.execute(statement).first()
    return from_row(row) if row is not None else None


def find_by_refs(refs: Sequence[str], *, db_url: Optional[str] = None) -> Dict[str, Escalation]:
    """Reference -> record, for the references that name one (own or alias)."""
    wanted = sorted({ref for ref in refs if isinstance(ref, str)})
    if not wanted:
        return {}
    found: Dict[str, Escalation] = {}
    with get_engine(db_url).connect() as connection:
        for row in connection.execute(sa.select(escalations).where(escalations.c.ref.in_(wanted))):
            found[row.ref] = from_row(row)
        joined = (
            sa.select(aliases.c.ref.label("alias"), escalations)
            .join(escalations, escalations.c.id == aliases.c.escalation_id)
            .where(aliases.c.ref.in_(wanted))
        )
        for row in connection.execute(joined):
            found[row.alias] = from_row(row)
    return found


def list_escalations(
    *,
    limit: int = 100,
    level: Optional[str] = None,
    conversation_id: Optional[str] = None,
    unacknowledged_only: bool = False,
    open_only: bool = False,
    since: Optional[datetime] = None,
    db_url: Optional[str] = None,
) -> List[Escalation]:
    """Records newest first (by their latest message), optionally filtered."""
    statement = sa.select(escalations)
    if level is not None:
        statement = statement.where(escalations.c.level == level)
    if conversation_id is not None:
        statement = statement.where(escalations.c.conversation_id == conversation_id)
    if unacknowledged_only:
        statement = statement.where(escalations.c.acknowledged_at.is_(None))
    if open_only:
        statement = statement.where(escalations.c.resolved_at.is_(None))
    last_seen = sa.func.coalesce(escalations.c.last_seen_at, escalations.c.created_at)
    if since is not None:
        statement = statement.where(last_seen >= since)
    # id breaks ties between rows written within the same clock tick.
    statement = statement.order_by(last_seen.desc(), escalations.c.id.desc()).limit(max(0, limit))
    with get_engine(db_url).connect() as connection:
        return [from_row(row) for row in connection.execute(statement)]


def stale_pending(
    older_than: timedelta,
    *,
    now: Optional[datetime] = None,
    db_url: Optional[str] = None,
) -> List[Escalation]:
    """Records whose notice has been ``pending`` longer than ``older_than``.

    A notice is pending for seconds normally; one pending for minutes was cut
    off (the action server stopped or crashed mid-way): staff tools show these
    so somebody calls the patient instead.
    """
    cutoff = (now or datetime.now(timezone.utc)) - older_than
    last_seen = sa.func.coalesce(escalations.c.last_seen_at, escalations.c.created_at)
    statement = (
        sa.select(escalations)
        .where(escalations.c.notification_status == "pending", last_seen < cutoff)
        .order_by(escalations.c.id)
    )
    with get_engine(db_url).connect() as connection:
        return [from_row(row) for row in connection.execute(statement)]
