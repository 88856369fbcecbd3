"""The console's tables, in the assistant's database, and the indexes it reads through.

Created on first use (``get_engine``), next to Rasa's ``events`` table and the
``escalations`` table. The audit log is append-only in the database itself: a
trigger refuses every UPDATE and DELETE on it, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import threading
from typing import Optional, Set

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from clinic_assistant.escalations import store
from clinic_assistant.escalations.store import UTCDateTime

metadata = sa.MetaData()

ROLES = ("staff", "admin")

users = sa.Table(
    "staff_users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("totp_secret", sa.Text, nullable=True),
    sa.Column("failed_logins", sa.Integer, nullable=False, default=0),
    sa.Column("locked_until", UTCDateTime(), nullable=True),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

# Only a hash of the session token is stored: a copy of the database logs nobody in.
sessions = sa.Table(
    "staff_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("staff_users.id"), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("last_seen_at", UTCDateTime(), nullable=False),
    # False between the password and the TOTP code.
    sa.Column("verified", sa.Boolean, nullable=False),
)

audit = sa.Table(
    "staff_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime(), nullable=False, index=True),
    sa.Column("username", sa.Text, nullable=False, index=True),
    sa.Column("action", sa.String(32), nullable=False, index=True),
    sa.Column("target", sa.Text, nullable=True),
    sa.Column("detail", sa.Text, nullable=True),
    sa.Column("address", sa.Text, nullable=True),
)

REVIEW_STATES = ("needs_review", "reviewed")

reviews = sa.Table(
    "staff_conversation_reviews",
    metadata,
    sa.Column("conversation_id", sa.Text, primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("updated_by", sa.Text, nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

tags = sa.Table(
    "staff_conversation_tags",
    metadata,
    sa.Column("conversation_id", sa.Text, primary_key=True),
    sa.Column("tag", sa.String(40), primary_key=True),
    sa.Column("added_by", sa.Text, nullable=False),
    sa.Column("added_at", UTCDateTime(), nullable=False),
)

#: The answer a staff member picked for a patient message; ``NOT_IN_SHEET`` when
#: the sheet has none.
NOT_IN_SHEET = "not_in_sheet"
labels = sa.Table(
    "staff_labels",
    metadata,
    sa.Column("event_id", sa.Integer, primary_key=True),
    sa.Column("conversation_id", sa.Text, nullable=False, index=True),
    sa.Column("answer", sa.Text, nullable=False),
    sa.Column("labelled_by", sa.Text, nullable=False),
    sa.Column("labelled_at", UTCDateTime(), nullable=False),
)

# The summary index: one row per conversation and one per patient message, built
# incrementally from the tracker's events (summary.py). Times are the tracker's
# own float UNIX timestamps; ``day`` is whole UTC days since 1970 for grouping.
conversations = sa.Table(
    "console_conversations",
    metadata,
    sa.Column("sender_id", sa.String(255), primary_key=True),
    sa.Column("first_at", sa.Float, nullable=False),
    sa.Column("last_at", sa.Float, nullable=False, index=True),
    sa.Column("channel", sa.String(64), nullable=True, index=True),
    sa.Column("turns", sa.Integer, nullable=False),
    sa.Column("answered", sa.Integer, nullable=False),
    sa.Column("clarified", sa.Integer, nullable=False),
    sa.Column("not_understood", sa.Integer, nullable=False),
    sa.Column("out_of_scope", sa.Integer, nullable=False),
    sa.Column("escalated", sa.Integer, nullable=False),
    sa.Column("level", sa.String(16), nullable=True),
    # Lowercased patient words for the text search; deleted with the conversation.
    sa.Column("search_text", sa.Text, nullable=False),
)

messages = sa.Table(
    "console_messages",
    metadata,
    sa.Column("event_id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("day", sa.Integer, nullable=False, index=True),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("answer", sa.Text, nullable=True),
    sa.Column("confidence", sa.Float, nullable=True),
)
sa.Index("ix_console_messages_outcome_at", messages.c.outcome, messages.c.event_id)
sa.Index(
    "ix_console_conversations_escalated_last", conversations.c.escalated, conversations.c.last_at
)

index_state = sa.Table(
    "console_index_state",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("last_event_id", sa.Integer, nullable=False),
)

#: Rasa's tracker store table, read only (Rasa creates it; the columns are its own).
events = sa.table(
    "events",
    sa.column("id", sa.Integer),
    sa.column("sender_id", sa.String),
    sa.column("type_name", sa.String),
    sa.column("timestamp", sa.Float),
    sa.column("intent_name", sa.String),
    sa.column("action_name", sa.String),
    sa.column("data", sa.Text),
)

_APPEND_ONLY = {
    "sqlite": [
        "CREATE TRIGGER IF NOT EXISTS staff_audit_no_update BEFORE UPDATE ON staff_audit "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
        "CREATE TRIGGER IF NOT EXISTS staff_audit_no_delete BEFORE DELETE ON staff_audit "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION staff_audit_append_only() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'the audit log is append-only'; END; $$ LANGUAGE plpgsql",
        "DROP TRIGGER IF EXISTS staff_audit_append_only ON staff_audit",
        "CREATE TRIGGER staff_audit_append_only BEFORE UPDATE OR DELETE ON staff_audit "
        "FOR EACH STATEMENT EXECUTE FUNCTION staff_audit_append_only()",
    ],
}

_ready: Set[str] = set()
_with_events: Set[str] = set()
_ready_lock = threading.Lock()


def get_engine(db_url: Optional[str] = None) -> Engine:
    """The assistant's engine with the console's tables (and the escalations') created."""
    engine = store.get_engine(db_url)
    key = str(engine.url)
    with _ready_lock:
        if key not in _ready:
            metadata.create_all(engine, checkfirst=True)
            with engine.begin() as connection:
                for statement in _APPEND_ONLY.get(engine.dialect.name, []):
                    connection.execute(sa.text(statement))
            _ready.add(key)
    return engine


def has_table(engine: Engine, name: str) -> bool:
    """True once another part (Rasa, the text-message channel) has created table
    ``name`` in this database (remembered: tables are never dropped while running)."""
    key = f"{engine.url}#{name}"
    if key not in _with_events and sa.inspect(engine).has_table(name):
        _with_events.add(key)
    return key in _with_events


def has_events(engine: Engine) -> bool:
    """True once Rasa has created its ``events`` table in this database (remembered)."""
    return has_table(engine, "events")


def forget_engines() -> None:
    """Forget which databases were set up (tests that drop and recreate them)."""
    with _ready_lock:
        _ready.clear()
        _with_events.clear()
    store.dispose_engines()
