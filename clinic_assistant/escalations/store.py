"""The ``escalations`` table: one row per conversation's escalation, in the assistant's database.

It lives in the database at ``Settings.db_url`` (a SQLite file by default,
PostgreSQL in production), next to Rasa's tracker store, and is created (or
upgraded from the first schema) on first use. All SQL is SQLAlchemy Core with
bound parameters.

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
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

from clinic_assistant.contract import LEVELS
from clinic_assistant.escalations.model import STATUSES, Escalation, new_ref
from clinic_assistant.settings import get_settings

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
#: Seconds to wait for the database (SQLite lock, PostgreSQL connect) before failing.
DB_TIMEOUT_S = 5
#: The window of the per-conversation limit on new rows.
LIMIT_WINDOW = timedelta(days=1)


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


@dataclass(frozen=True)
class Recorded:
    """What :func:`record` did: the merged row, and whether staff should hear of it."""

    escalation: Escalation
    new: bool
    #: New row, a higher level, a symptom not seen before, or a reopened row.
    worth_a_notice: bool


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


def _clip(text: Optional[str], limit: int) -> Optional[str]:
    if text is None:
        return None
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _higher(first: str, second: str) -> str:
    return first if LEVELS.index(first) <= LEVELS.index(second) else second


def _from_row(row: Any) -> Escalation:
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
            return _record(connection, sighting, max_new_per_day)
    except sa.exc.IntegrityError:
        # Another process opened the conversation's row (or took this ref) in the
        # meantime: once more, which now merges into that row.
        with engine.begin() as connection:
            return _record(connection, sighting, max_new_per_day)


def _record(connection: Connection, sighting: Escalation, max_new_per_day: int) -> Recorded:
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
        return Recorded(_from_row(stored), new=True, worth_a_notice=True)

    current = _from_row(row)
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
    return Recorded(_from_row(stored), new=False, worth_a_notice=worth)


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
    """Close a record with who, when and a note (acknowledging it too if nobody had).

    A later danger sign in the same conversation reopens it (see :func:`record`).
    Returns the record afterwards, or None when there is no such record.
    """
    note = str(note).strip()
    if not note:
        raise ValueError("a note saying what was done is required")
    when = at or datetime.now(timezone.utc)
    who = _staff(by)
    with get_engine(db_url).begin() as connection:
        connection.execute(
            escalations.update()
            .where(escalations.c.id == escalation_id, escalations.c.acknowledged_at.is_(None))
            .values(acknowledged_at=when, acknowledged_by=who)
        )
        connection.execute(
            escalations.update()
            .where(escalations.c.id == escalation_id)
            .values(resolved_at=when, resolved_by=who, resolution_note=_clip(note, MAX_NOTE_CHARS))
        )
    return get_escalation(escalation_id, db_url=db_url)


def get_escalation(escalation_id: int, *, db_url: Optional[str] = None) -> Optional[Escalation]:
    """One record by id, or None."""
    statement = sa.select(escalations).where(escalations.c.id == escalation_id)
    with get_engine(db_url).connect() as connection:
        row = connection.execute(statement).first()
    return _from_row(row) if row is not None else None


def find_by_refs(refs: Sequence[str], *, db_url: Optional[str] = None) -> Dict[str, Escalation]:
    """Reference -> record, for the references that name one (own or alias)."""
    wanted = sorted({ref for ref in refs if isinstance(ref, str)})
    if not wanted:
        return {}
    found: Dict[str, Escalation] = {}
    with get_engine(db_url).connect() as connection:
        for row in connection.execute(sa.select(escalations).where(escalations.c.ref.in_(wanted))):
            found[row.ref] = _from_row(row)
        joined = (
            sa.select(aliases.c.ref.label("alias"), escalations)
            .join(escalations, escalations.c.id == aliases.c.escalation_id)
            .where(aliases.c.ref.in_(wanted))
        )
        for row in connection.execute(joined):
            found[row.alias] = _from_row(row)
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
        return [_from_row(row) for row in connection.execute(statement)]


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
        return [_from_row(row) for row in connection.execute(statement)]
