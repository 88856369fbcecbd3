"""The ``escalations`` table: one row per red-flag message, in the assistant's database.

It lives in the database at ``Settings.db_url`` (a SQLite file by default,
PostgreSQL in production), next to Rasa's tracker store, and is created on first
use. All SQL is SQLAlchemy Core with bound parameters.

The row holds the patient's message because staff must read what was said; it
is the only place the message is kept outside the tracker store. Nothing here
logs it, and the notice sent to the clinic (``notifier``) leaves it out.

These functions are synchronous (SQLAlchemy 1.4): async callers run them in a
worker thread (``asyncio.to_thread``) so the event loop keeps serving others.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from clinic_assistant.contract import LEVELS
from clinic_assistant.settings import get_settings

#: ``not_configured``: no webhook or email set, the record is the only trace;
#: ``pending``: a notice is (or was, if the process died) on its way.
STATUSES = ("not_configured", "pending", "sent", "failed")
#: Error texts are kept short: enough to diagnose, never a whole response body.
MAX_ERROR_CHARS = 500
#: Seconds to wait for the database (SQLite lock, PostgreSQL connect) before failing.
DB_TIMEOUT_S = 5


class UTCDateTime(sa.types.TypeDecorator):
    """A timestamp stored as naive UTC and read back as an aware UTC datetime.

    SQLite keeps no time zone and PostgreSQL's ``timestamptz`` would convert to
    the session's zone, so storing naive UTC everywhere gives the same values
    on both dialects.
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: Optional[datetime], dialect: Any) -> Optional[datetime]:
        """Aware -> naive UTC; naive values are taken to be UTC already."""
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value

    def process_result_value(self, value: Optional[datetime], dialect: Any) -> Optional[datetime]:
        """Naive UTC from the database -> aware UTC."""
        return value.replace(tzinfo=timezone.utc) if value is not None else None


metadata = sa.MetaData()

# Open-ended values are Text, not String(n): PostgreSQL enforces lengths, and an
# unexpectedly long sender id must never make an escalation fail to be recorded.
escalations = sa.Table(
    "escalations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", UTCDateTime(), nullable=False, index=True),
    sa.Column("conversation_id", sa.Text, nullable=False, index=True),
    sa.Column("channel", sa.Text, nullable=True),
    sa.Column("level", sa.String(16), nullable=False),
    sa.Column("symptoms", sa.Text, nullable=False),  # JSON list of canonical names
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("notification_status", sa.String(16), nullable=False),
    sa.Column("notification_attempts", sa.Integer, nullable=False, default=0),
    sa.Column("notification_error", sa.Text, nullable=True),
    sa.Column("acknowledged_at", UTCDateTime(), nullable=True),
)


@dataclass(frozen=True)
class EscalationRecord:
    """One row of the ``escalations`` table, as staff tools see it."""

    id: int
    created_at: datetime
    conversation_id: str
    channel: Optional[str]
    level: str
    symptoms: List[str]
    message: str
    notification_status: str
    notification_attempts: int
    notification_error: Optional[str]
    acknowledged_at: Optional[datetime]

    def __repr__(self) -> str:
        # Keep the patient's words out of reprs, which end up in logs and tracebacks.
        return (
            f"EscalationRecord(id={self.id}, level={self.level!r}, "
            f"symptoms={self.symptoms!r}, status={self.notification_status!r})"
        )


_engines: Dict[str, Engine] = {}
_engines_lock = threading.Lock()


def _ensure_sqlite_folder(url: str) -> None:
    """Create the folder of a SQLite file, which SQLite will not do itself."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return
    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _connect_args(url: str) -> Dict[str, Any]:
    """Driver options that bound how long a call can wait for the database."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return {"timeout": DB_TIMEOUT_S}
    if parsed.get_driver_name() == "psycopg2":
        return {"connect_timeout": DB_TIMEOUT_S}
    return {}


def get_engine(db_url: Optional[str] = None) -> Engine:
    """The engine for ``db_url`` (default: the settings'), with the table created.

    One engine per URL and process, made on first use (never at import).
    """
    url = db_url or get_settings().db_url
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            _ensure_sqlite_folder(url)
            engine = sa.create_engine(
                url,
                future=True,
                pool_pre_ping=True,
                connect_args=_connect_args(url),
                # SQLAlchemy puts bound values in its error messages; those would
                # carry the patient's message into the logs.
                hide_parameters=True,
            )
            try:
                # checkfirst: an existing table (made by another process) is kept as is.
                metadata.create_all(engine, checkfirst=True)
            except Exception:
                # Not cached, so the next call tries again once the database is back.
                engine.dispose()
                raise
            _engines[url] = engine
        return engine


def dispose_engines() -> None:
    """Close every pooled connection and forget the engines (tests, shutdown)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def _clip(error: Optional[str]) -> Optional[str]:
    if error is None:
        return None
    return error if len(error) <= MAX_ERROR_CHARS else error[: MAX_ERROR_CHARS - 3] + "..."


def record_escalation(
    *,
    conversation_id: str,
    channel: Optional[str],
    level: str,
    symptoms: Sequence[str],
    message: str,
    notification_status: str = "pending",
    created_at: Optional[datetime] = None,
    db_url: Optional[str] = None,
) -> int:
    """Insert an escalation and return its id.

    Raises ``ValueError`` for a level or status outside :data:`LEVELS` /
    :data:`STATUSES`, and SQLAlchemy's errors when the database fails: the
    caller decides what a failure means (the action logs it and still notifies).
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    if notification_status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}, got {notification_status!r}")
    values = {
        "created_at": created_at or datetime.now(timezone.utc),
        "conversation_id": conversation_id,
        "channel": channel,
        "level": level,
        "symptoms": json.dumps(list(symptoms)),
        "message": message,
        "notification_status": notification_status,
        "notification_attempts": 0,
        "notification_error": None,
    }
    with get_engine(db_url).begin() as connection:
        result = connection.execute(escalations.insert().values(**values))
        primary_key = result.inserted_primary_key
    if primary_key is None or primary_key[0] is None:  # pragma: no cover - driver bug
        raise RuntimeError("the database returned no id for the new escalation")
    return int(primary_key[0])


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
            notification_error=_clip(error),
        )
    )
    with get_engine(db_url).begin() as connection:
        return bool(connection.execute(statement).rowcount)


def acknowledge_escalation(
    escalation_id: int, at: Optional[datetime] = None, *, db_url: Optional[str] = None
) -> bool:
    """Mark a record as seen by staff (first acknowledgement wins); False if none changed."""
    statement = (
        escalations.update()
        .where(escalations.c.id == escalation_id, escalations.c.acknowledged_at.is_(None))
        .values(acknowledged_at=at or datetime.now(timezone.utc))
    )
    with get_engine(db_url).begin() as connection:
        return bool(connection.execute(statement).rowcount)


def _record(row: Any) -> EscalationRecord:
    try:
        symptoms = [str(item) for item in json.loads(row.symptoms)]
    except (TypeError, ValueError):
        # A hand-edited row must not hide the escalation from staff tools.
        symptoms = [str(row.symptoms)]
    return EscalationRecord(
        id=int(row.id),
        created_at=row.created_at,
        conversation_id=row.conversation_id,
        channel=row.channel,
        level=row.level,
        symptoms=symptoms,
        message=row.message,
        notification_status=row.notification_status,
        notification_attempts=int(row.notification_attempts),
        notification_error=row.notification_error,
        acknowledged_at=row.acknowledged_at,
    )


def get_escalation(
    escalation_id: int, *, db_url: Optional[str] = None
) -> Optional[EscalationRecord]:
    """One record by id, or None."""
    statement = sa.select(escalations).where(escalations.c.id == escalation_id)
    with get_engine(db_url).connect() as connection:
        row = connection.execute(statement).first()
    return _record(row) if row is not None else None


def list_escalations(
    *,
    limit: int = 100,
    level: Optional[str] = None,
    conversation_id: Optional[str] = None,
    unacknowledged_only: bool = False,
    since: Optional[datetime] = None,
    db_url: Optional[str] = None,
) -> List[EscalationRecord]:
    """Records newest first, optionally filtered, at most ``limit`` of them."""
    statement = sa.select(escalations)
    if level is not None:
        statement = statement.where(escalations.c.level == level)
    if conversation_id is not None:
        statement = statement.where(escalations.c.conversation_id == conversation_id)
    if unacknowledged_only:
        statement = statement.where(escalations.c.acknowledged_at.is_(None))
    if since is not None:
        statement = statement.where(escalations.c.created_at >= since)
    # id breaks ties between rows written within the same clock tick.
    statement = statement.order_by(escalations.c.created_at.desc(), escalations.c.id.desc()).limit(
        max(0, limit)
    )
    with get_engine(db_url).connect() as connection:
        return [_record(row) for row in connection.execute(statement)]
