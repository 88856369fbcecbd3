"""The text-message channel's tables, in the assistant's database (``Settings.db_url``).

* ``twilio_contacts``: the patient's address (phone number, or ``whatsapp:+...``),
  kept once, keyed by the conversation id (a keyed hash of it). The only place the
  number is stored; staff reach it through the staff console, to call a patient
  back. On PostgreSQL grant this table to the assistant and the console only.
* ``twilio_conversations``: per conversation, the channel, first and last inbound
  message (the WhatsApp 24-hour window), whether the patient opted out, and the
  numbered options of the latest reply.
* ``twilio_consent``: every opt-out and opt-in, with when and how (the keyword, or
  Twilio's error 21610).
* ``twilio_inbound``: one row per MessageSid: a message Twilio delivers twice is
  processed once.
* ``twilio_outbound``: one row per message sent (or not sent), with Twilio's
  MessageSid, its delivery status and error code, and ``needs_callback`` when an
  escalation reply did not reach the patient and staff must phone them.

No message text is stored here (the tracker store has the conversation). All SQL is
SQLAlchemy Core with bound parameters, synchronous: async callers use a thread.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from clinic_assistant.channels.twilio_text import Option
from clinic_assistant.escalations.store import UTCDateTime

#: Seconds to wait for the database before failing (SQLite lock, PostgreSQL connect).
DB_TIMEOUT_S = 5
#: Delivery statuses in the order a message goes through them; a late callback
#: never moves a message back (Twilio does not promise callbacks in order).
STATUS_RANK: Dict[str, int] = {
    "sending_api": 0,  # our own: the REST call is under way
    "accepted": 1,
    "scheduled": 1,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "undelivered": 4,
    "failed": 4,
    "delivered": 5,
    "read": 6,
}
#: Our own final states for a message that never reached Twilio's queue.
LOCAL_FINAL = ("send_failed", "send_unknown", "not_sent_opted_out", "outside_window")
FAILED = (
    "failed",
    "undelivered",
    "send_failed",
    "send_unknown",
    "not_sent_opted_out",
    "outside_window",
)
#: Twilio's error: the recipient replied STOP (Twilio blocks every message to them).
OPTED_OUT_ERROR = 21610

metadata = sa.MetaData()

contacts = sa.Table(
    "twilio_contacts",
    metadata,
    sa.Column("conversation_id", sa.String(64), primary_key=True),
    sa.Column("address", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

conversations = sa.Table(
    "twilio_conversations",
    metadata,
    sa.Column("conversation_id", sa.String(64), primary_key=True),
    sa.Column("channel", sa.String(16), nullable=False),  # sms | whatsapp
    sa.Column("first_inbound_at", UTCDateTime(), nullable=False),
    sa.Column("last_inbound_at", UTCDateTime(), nullable=False),
    sa.Column("opted_out", sa.Boolean, nullable=False, default=False),
    sa.Column("menu", sa.Text, nullable=True),  # JSON [[title, payload], ...]
)

consent = sa.Table(
    "twilio_consent",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("conversation_id", sa.String(64), nullable=False, index=True),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("opted_out", sa.Boolean, nullable=False),
    sa.Column("how", sa.String(32), nullable=False),  # keyword, or "error_21610"
)

inbound = sa.Table(
    "twilio_inbound",
    metadata,
    sa.Column("message_sid", sa.String(64), primary_key=True),
    sa.Column("conversation_id", sa.String(64), nullable=False, index=True),
    sa.Column("received_at", UTCDateTime(), nullable=False),
    sa.Column("num_media", sa.Integer, nullable=False, default=0),
    sa.Column("status", sa.String(16), nullable=False),  # received | done | failed
)

outbound = sa.Table(
    "twilio_outbound",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("message_sid", sa.String(64), nullable=True, unique=True),
    sa.Column("conversation_id", sa.String(64), nullable=False, index=True),
    sa.Column("inbound_sid", sa.String(64), nullable=True),
    sa.Column("kind", sa.String(16), nullable=False),  # reply | escalation | keyword | notice
    sa.Column("escalation_level", sa.String(16), nullable=True),
    sa.Column("segments", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("error_code", sa.Integer, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("needs_callback", sa.Boolean, nullable=False, default=False),
)

_engines: Dict[str, Engine] = {}
_lock = threading.Lock()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def get_engine(db_url: str) -> Engine:
    """One engine per URL and process, with the tables created on first use."""
    with _lock:
        engine = _engines.get(db_url)
        if engine is None:
            parsed = make_url(db_url)
            connect_args: Dict[str, Any] = {}
            if parsed.get_backend_name() == "sqlite":
                connect_args = {"timeout": DB_TIMEOUT_S}
                database = parsed.database or ""
                if database and database != ":memory:":
                    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            elif parsed.get_driver_name() == "psycopg2":
                connect_args = {"connect_timeout": DB_TIMEOUT_S}
            # hide_parameters: bound values (a phone number) never reach an error text.
            engine = sa.create_engine(
                db_url,
                future=True,
                pool_pre_ping=True,
                connect_args=connect_args,
                hide_parameters=True,
            )
            try:
                metadata.create_all(engine, checkfirst=True)
            except Exception:
                engine.dispose()
                raise
            _engines[db_url] = engine
        return engine


def dispose_engines() -> None:
    """Close pooled connections and forget the engines (tests, shutdown)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


@dataclass(frozen=True)
class ConversationState:
    """What the channel needs to know about a conversation before answering."""

    conversation_id: str
    channel: str
    new: bool
    opted_out: bool
    last_inbound_at: datetime
    menu: Tuple[Option, ...]


def claim_inbound(db_url: str, message_sid: str, conversation_id: str, num_media: int) -> bool:
    """Record a MessageSid; False when it was already recorded (a redelivery)."""
    try:
        with get_engine(db_url).begin() as conn:
            conn.execute(
                inbound.insert().values(
                    message_sid=message_sid,
                    conversation_id=conversation_id,
                    received_at=_now(),
                    num_media=num_media,
                    status="received",
                )
            )
    except sa.exc.IntegrityError:
        return False
    return True


def finish_inbound(db_url: str, message_sid: str, status: str) -> None:
    """Mark an inbound message ``done`` or ``failed``."""
    with get_engine(db_url).begin() as conn:
        conn.execute(
            inbound.update().where(inbound.c.message_sid == message_sid).values(status=status)
        )


def touch_conversation(
    db_url: str, conversation_id: str, address: str, channel: str
) -> ConversationState:
    """Note an inbound message; create the contact and conversation on the first one."""
    now = _now()
    with get_engine(db_url).begin() as conn:
        row = (
            conn.execute(
                sa.select(conversations).where(conversations.c.conversation_id == conversation_id)
            )
            .mappings()
            .first()
        )
        if row is None:
            try:
                with conn.begin_nested():
                    conn.execute(
                        contacts.insert().values(
                            conversation_id=conversation_id, address=address, created_at=now
                        )
                    )
            except sa.exc.IntegrityError:
                pass  # kept once: a contact left from an earlier conversation row
            conn.execute(
                conversations.insert().values(
                    conversation_id=conversation_id,
                    channel=channel,
                    first_inbound_at=now,
                    last_inbound_at=now,
                    opted_out=False,
                    menu=None,
                )
            )
            return ConversationState(conversation_id, channel, True, False, now, ())
        conn.execute(
            conversations.update()
            .where(conversations.c.conversation_id == conversation_id)
            .values(last_inbound_at=now)
        )
        return ConversationState(
            conversation_id,
            row["channel"],
            False,
            bool(row["opted_out"]),
            now,
            _menu(row["menu"]),
        )


def _menu(raw: Optional[str]) -> Tuple[Option, ...]:
    if not raw:
        return ()
    try:
        return tuple(Option(str(title), str(payload)) for title, payload in json.loads(raw))
    except (ValueError, TypeError):
        return ()


def set_menu(db_url: str, conversation_id: str, options: Sequence[Option]) -> None:
    """The numbered options of the latest reply (none: a number is then stale)."""
    value = json.dumps([[o.title, o.payload] for o in options]) if options else None
    with get_engine(db_url).begin() as conn:
        conn.execute(
            conversations.update()
            .where(conversations.c.conversation_id == conversation_id)
            .values(menu=value)
        )


def set_opted_out(db_url: str, conversation_id: str, opted_out: bool, how: str) -> bool:
    """Record an opt-out or opt-in (with when and how); True when the state changed."""
    with get_engine(db_url).begin() as conn:
        current = conn.execute(
            sa.select(conversations.c.opted_out).where(
                conversations.c.conversation_id == conversation_id
            )
        ).scalar()
        if current is None or bool(current) == opted_out:
            return False
        conn.execute(
            conversations.update()
            .where(conversations.c.conversation_id == conversation_id)
            .values(opted_out=opted_out)
        )
        conn.execute(
            consent.insert().values(
                conversation_id=conversation_id, at=_now(), opted_out=opted_out, how=how
            )
        )
        return True


def is_opted_out(db_url: str, conversation_id: str) -> bool:
    """True when the patient opted out of texts."""
    with get_engine(db_url).connect() as conn:
        value = conn.execute(
            sa.select(conversations.c.opted_out).where(
                conversations.c.conversation_id == conversation_id
            )
        ).scalar()
    return bool(value)


def address_of(db_url: str, conversation_id: str) -> Optional[str]:
    """The patient's address for a conversation (for the staff console's call-back)."""
    with get_engine(db_url).connect() as conn:
        return conn.execute(
            sa.select(contacts.c.address).where(contacts.c.conversation_id == conversation_id)
        ).scalar()


def new_outbound(
    db_url: str,
    *,
    conversation_id: str,
    inbound_sid: Optional[str],
    kind: str,
    escalation_level: Optional[str],
    segments: int,
    status: str = "sending_api",
) -> int:
    """A row for a message about to be sent (or deliberately not sent); its id."""
    now = _now()
    needs_callback = escalation_level is not None and status in FAILED
    with get_engine(db_url).begin() as conn:
        result = conn.execute(
            outbound.insert().values(
                conversation_id=conversation_id,
                inbound_sid=inbound_sid,
                kind=kind,
                escalation_level=escalation_level,
                segments=segments,
                created_at=now,
                updated_at=now,
                status=status,
                attempts=0,
                needs_callback=needs_callback,
            )
        )
        return int(result.inserted_primary_key[0])


def finish_outbound(
    db_url: str,
    outbound_id: int,
    *,
    status: str,
    message_sid: Optional[str],
    error_code: Optional[int],
    attempts: int,
) -> None:
    """The REST call's outcome: Twilio's sid and status, or our failure state."""
    with get_engine(db_url).begin() as conn:
        row = conn.execute(
            sa.select(outbound.c.escalation_level).where(outbound.c.id == outbound_id)
        ).first()
        escalation = row is not None and row[0] is not None
        conn.execute(
            outbound.update()
            .where(outbound.c.id == outbound_id)
            .values(
                status=status,
                message_sid=message_sid,
                error_code=error_code,
                attempts=attempts,
                updated_at=_now(),
                needs_callback=escalation and status in FAILED,
            )
        )


@dataclass(frozen=True)
class StatusUpdate:
    """What a delivery status callback changed."""

    known: bool
    conversation_id: Optional[str] = None
    status: Optional[str] = None
    needs_callback: bool = False
    opted_out: bool = False


def apply_status(
    db_url: str, message_sid: str, status: str, error_code: Optional[int]
) -> StatusUpdate:
    """Apply a status callback to its message (never moving it back); flag failures."""
    with get_engine(db_url).begin() as conn:
        row = (
            conn.execute(sa.select(outbound).where(outbound.c.message_sid == message_sid))
            .mappings()
            .first()
        )
        if row is None:
            return StatusUpdate(known=False)
        old = STATUS_RANK.get(row["status"], -1)
        new = STATUS_RANK.get(status, -1)
        if new < old or (new == old and status == row["status"]):
            return StatusUpdate(
                True, row["conversation_id"], row["status"], bool(row["needs_callback"])
            )
        needs_callback = row["escalation_level"] is not None and status in FAILED
        conn.execute(
            outbound.update()
            .where(outbound.c.id == row["id"])
            .values(
                status=status,
                error_code=error_code if error_code is not None else row["error_code"],
                updated_at=_now(),
                needs_callback=needs_callback,
            )
        )
        return StatusUpdate(
            True,
            row["conversation_id"],
            status,
            needs_callback,
            opted_out=error_code == OPTED_OUT_ERROR,
        )


def outbound_rows(db_url: str, conversation_id: Optional[str] = None) -> List[Dict[str, Any]]:
    """Outbound rows, oldest first (tests and staff tools)."""
    query = sa.select(outbound).order_by(outbound.c.id)
    if conversation_id is not None:
        query = query.where(outbound.c.conversation_id == conversation_id)
    with get_engine(db_url).connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def callbacks_needed(db_url: str, since: Optional[datetime] = None) -> List[Dict[str, Any]]:
    """Escalation texts that did not reach the patient (staff must phone them), newest
    first: conversation id, level, status, Twilio's error code and when. No number: the
    staff console shows it, to staff only."""
    query = (
        sa.select(
            outbound.c.conversation_id,
            outbound.c.escalation_level,
            outbound.c.status,
            outbound.c.error_code,
            outbound.c.updated_at,
        )
        .where(outbound.c.needs_callback.is_(True))
        .order_by(outbound.c.updated_at.desc(), outbound.c.id.desc())
    )
    if since is not None:
        query = query.where(outbound.c.updated_at >= since)
    with get_engine(db_url).connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def consent_rows(db_url: str, conversation_id: str) -> List[Dict[str, Any]]:
    """Opt-outs and opt-ins of a conversation, oldest first."""
    query = (
        sa.select(consent)
        .where(consent.c.conversation_id == conversation_id)
        .order_by(consent.c.id)
    )
    with get_engine(db_url).connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def last_inbound_at(db_url: str, conversation_id: str) -> Optional[datetime]:
    """When the patient last wrote (None for an unknown conversation)."""
    with get_engine(db_url).connect() as conn:
        value = conn.execute(
            sa.select(conversations.c.last_inbound_at).where(
                conversations.c.conversation_id == conversation_id
            )
        ).scalar()
    return value if isinstance(value, datetime) else None


def within_window(last_inbound_at: datetime, hours: float = 24.0) -> bool:
    """True inside WhatsApp's customer-service window after the patient's last message."""
    return _now() - last_inbound_at < timedelta(hours=hours)
