"""The escalation tables and the engine that reaches them, created or upgraded on first use.

``escalations`` holds one row per conversation's escalation (``store`` merges
repeats into it); ``escalation_refs`` lets a row answer to the references of later
sessions of its conversation. A database made by the first schema (a row per
message, no references) is upgraded in place the first time it is opened.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

from clinic_assistant.settings import get_settings

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
    # Added after the first schema (see _upgrade): all nullable or defaulted.
    sa.Column("ref", sa.String(32), nullable=True),
    sa.Column("last_seen_at", UTCDateTime(), nullable=True),
    sa.Column("count", sa.Integer, nullable=False, server_default="1"),
    sa.Column("last_message", sa.Text, nullable=True),
    sa.Column("acknowledged_by", sa.Text, nullable=True),
    sa.Column("resolved_at", UTCDateTime(), nullable=True),
    sa.Column("resolved_by", sa.Text, nullable=True),
    sa.Column("resolution_note", sa.Text, nullable=True),
)
sa.Index("uq_escalations_ref", escalations.c.ref, unique=True)
#: One open row per conversation, even with several action servers writing.
sa.Index(
    "uq_escalations_open_conversation",
    escalations.c.conversation_id,
    unique=True,
    sqlite_where=escalations.c.resolved_at.is_(None),
    postgresql_where=escalations.c.resolved_at.is_(None),
)
#: Further references of a row (a repeat from a new session of the conversation).
aliases = sa.Table(
    "escalation_refs",
    metadata,
    sa.Column("ref", sa.String(32), primary_key=True),
    sa.Column(
        "escalation_id", sa.Integer, sa.ForeignKey("escalations.id"), nullable=False, index=True
    ),
)
_ADDED_COLUMNS = (
    "ref",
    "last_seen_at",
    "count",
    "last_message",
    "acknowledged_by",
    "resolved_at",
    "resolved_by",
    "resolution_note",
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


def _upgrade(engine: Engine) -> None:
    """Bring a table of the first schema (a row per message) to this one, in place."""
    inspector = sa.inspect(engine)
    present = {column["name"] for column in inspector.get_columns("escalations")}
    missing = [name for name in _ADDED_COLUMNS if name not in present]
    indexes = {index["name"] for index in inspector.get_indexes("escalations")}
    if not missing and all(index.name in indexes for index in escalations.indexes):
        return
    preparer = engine.dialect.identifier_preparer
    with engine.begin() as connection:
        for name in missing:
            kind = escalations.c[name].type.compile(dialect=engine.dialect)
            default = " NOT NULL DEFAULT 1" if name == "count" else ""
            # Names and types come from the table above, never from input.
            connection.execute(
                sa.text(
                    f"ALTER TABLE escalations ADD COLUMN {preparer.quote(name)} {kind}{default}"
                )
            )
        connection.execute(
            escalations.update()
            .where(escalations.c.ref.is_(None))
            .values(ref=sa.literal(REF_FROM_ID_PREFIX) + sa.cast(escalations.c.id, sa.Text))
        )
        _one_open_row_per_conversation(connection)
    for index in escalations.indexes:
        if index.name not in indexes:
            index.create(engine)


def _one_open_row_per_conversation(connection: Connection) -> None:
    """The first schema kept a row per message: the newest stays open, older ones are
    closed as superseded by it (staff still see the conversation, once)."""
    rows = connection.execute(
        sa.select(escalations.c.id, escalations.c.conversation_id)
        .where(escalations.c.resolved_at.is_(None))
        .order_by(escalations.c.conversation_id, escalations.c.id.desc())
    ).all()
    newest: Dict[str, int] = {}
    now = datetime.now(timezone.utc)
    for row_id, conversation_id in rows:
        if conversation_id not in newest:
            newest[conversation_id] = row_id
            continue
        connection.execute(
            escalations.update()
            .where(escalations.c.id == row_id)
            .values(
                resolved_at=now,
                resolved_by="(schema upgrade)",
                resolution_note=f"superseded by record #{newest[conversation_id]}",
            )
        )


#: Rows of the first schema had no reference; they get ``esc_old_<id>``.
REF_FROM_ID_PREFIX = "esc_old_"


def get_engine(db_url: Optional[str] = None) -> Engine:
    """The engine for ``db_url`` (default: the settings'), with the tables created.

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
                _upgrade(engine)
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
