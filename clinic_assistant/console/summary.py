"""The summary index: one row per conversation and per patient message, from the events.

Rasa's ``events`` table has one JSON row per event; listing 100,000 conversations
from it would read millions of rows. The console keeps two small tables instead
(``console_conversations``, ``console_messages``) and brings them up to date from
the events it has not seen yet (``events.id`` above the last one it read), a
bounded batch at a time, before a page reads them. Nothing here writes ``events``.

A patient message's outcome comes from what the assistant made of it:
``escalated`` (a red-flag intent), ``out_of_scope``, ``not_understood``
(unreadable, or a second miss that ended in the clinic's number), ``clarified``
(the two likeliest answers offered as buttons) or ``answered``.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from clinic_assistant import contract
from clinic_assistant.console import tables

OUTCOMES = ("answered", "clarified", "not_understood", "out_of_scope", "escalated")
#: What the assistant says after a second miss: the message was not understood.
GAVE_UP_ACTION = "utter_no_luck"
#: Events read per batch; each batch is one transaction.
BATCH = 5000
#: Characters of patient text kept per conversation for the search.
SEARCH_CHARS = 4000
DAY_S = 86400
#: The events the index reads; every other kind only moves its position forward.
KINDS = ("user", "bot", "action")

_refresh_lock = threading.Lock()


def parse_json(raw: Optional[str]) -> Dict[str, Any]:
    """An event's JSON, or {} when it is not an object."""
    try:
        value = json.loads(raw or "{}")
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def answer_of(parse_data: Mapping[str, Any]) -> Tuple[Optional[str], Optional[float]]:
    """The answer the NLU chose and its confidence: ``faq/<topic>`` or the intent."""
    intent = parse_data.get("intent") or {}
    if not isinstance(intent, Mapping):
        intent = {}
    name = intent.get("name")
    confidence = intent.get("confidence")
    selector = parse_data.get("response_selector") or {}
    if isinstance(selector, Mapping) and name is not None:
        chosen = selector.get(str(name)) or {}
        response = chosen.get("response") if isinstance(chosen, Mapping) else None
        if isinstance(response, Mapping) and response.get("intent_response_key"):
            return str(response["intent_response_key"]), _float(response.get("confidence"))
    full = intent.get("full_retrieval_intent_name")
    return (str(full or name) if (full or name) else None), _float(confidence)


def _float(value: Any) -> Optional[float]:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def outcome_of(intent_name: Optional[str]) -> str:
    """A patient message's outcome from its intent (see the module's docstring)."""
    if intent_name in contract.RED_FLAG_INTENTS:
        return "escalated"
    if intent_name == contract.OUT_OF_SCOPE_INTENT:
        return "out_of_scope"
    if intent_name == contract.UNREADABLE_INTENT:
        return "not_understood"
    if intent_name == contract.FALLBACK_INTENT:
        return "clarified"
    return "answered"


@dataclass
class _Conversation:
    sender_id: str
    first_at: float
    last_at: float
    channel: Optional[str] = None
    counts: Dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    turns: int = 0
    level: Optional[str] = None
    search_text: str = ""
    exists: bool = False

    def values(self) -> Dict[str, Any]:
        return {
            "sender_id": self.sender_id,
            "first_at": self.first_at,
            "last_at": self.last_at,
            "channel": self.channel,
            "turns": self.turns,
            "level": self.level,
            "search_text": self.search_text[:SEARCH_CHARS],
            **self.counts,
        }


def _higher(level: Optional[str], other: Optional[str]) -> Optional[str]:
    """The higher of two levels (emergency above urgent)."""
    ranked = [lvl for lvl in contract.LEVELS if lvl in (level, other)]
    return ranked[0] if ranked else None


def _load(connection: Connection, senders: List[str]) -> Dict[str, _Conversation]:
    found: Dict[str, _Conversation] = {}
    for start in range(0, len(senders), 500):
        chunk = senders[start : start + 500]
        rows = connection.execute(
            sa.select(tables.conversations).where(tables.conversations.c.sender_id.in_(chunk))
        )
        for row in rows:
            found[row.sender_id] = _Conversation(
                sender_id=row.sender_id,
                first_at=row.first_at,
                last_at=row.last_at,
                channel=row.channel,
                counts={name: int(getattr(row, name)) for name in OUTCOMES},
                turns=int(row.turns),
                level=row.level,
                search_text=row.search_text,
                exists=True,
            )
    return found


def _last_message(connection: Connection, sender_id: str) -> Optional[Tuple[int, str]]:
    row = connection.execute(
        sa.select(tables.messages.c.event_id, tables.messages.c.outcome)
        .where(tables.messages.c.sender_id == sender_id)
        .order_by(tables.messages.c.event_id.desc())
        .limit(1)
    ).first()
    return (int(row.event_id), str(row.outcome)) if row is not None else None


def _index_batch(connection: Connection, last_id: int, settle_s: float) -> Tuple[int, int]:
    """Read one batch of events after ``last_id``; returns (new last id, events read).

    Events younger than ``settle_s`` wait for the next refresh: on PostgreSQL an
    event with a lower id can commit after one with a higher id, and the index,
    which only moves forward, would never see it.
    """
    events = tables.events
    rows = connection.execute(
        sa.select(
            events.c.id,
            events.c.sender_id,
            events.c.type_name,
            events.c.timestamp,
            events.c.intent_name,
            events.c.action_name,
            events.c.data,
        )
        .where(events.c.id > last_id)
        .order_by(events.c.id)
        .limit(BATCH)
    ).fetchall()
    if settle_s > 0:
        horizon = time.time() - settle_s
        for position, row in enumerate(rows):
            if float(row.timestamp or 0.0) > horizon:
                rows = rows[:position]
                break
    if not rows:
        return last_id, 0
    conversations = _load(
        connection, sorted({row.sender_id for row in rows if row.type_name in KINDS})
    )
    new_messages: Dict[int, Dict[str, Any]] = {}
    # sender -> (event id, outcome) of its latest patient message, for "gave up".
    latest: Dict[str, Tuple[int, str]] = {}
    outcome_changes: Dict[int, str] = {}
    for row in rows:
        if row.type_name not in KINDS:
            continue  # slots, featurisation, session starts: nothing to show
        at = float(row.timestamp or 0.0)
        conversation = conversations.get(row.sender_id)
        if conversation is None:
            if row.type_name != "user":
                continue  # a greeting nobody answered is not a conversation yet
            conversation = _Conversation(row.sender_id, first_at=at, last_at=at)
            conversations[row.sender_id] = conversation
        conversation.first_at = min(conversation.first_at, at)
        conversation.last_at = max(conversation.last_at, at)
        if row.type_name == "user":
            data = parse_json(row.data)
            parse_data = data.get("parse_data") or {}
            intent = row.intent_name or (parse_data.get("intent") or {}).get("name")
            outcome = outcome_of(intent)
            answer, confidence = answer_of(parse_data)
            new_messages[int(row.id)] = {
                "event_id": int(row.id),
                "sender_id": row.sender_id,
                "at": at,
                "day": int(at // DAY_S),
                "outcome": outcome,
                "answer": answer,
                "confidence": confidence,
            }
            latest[row.sender_id] = (int(row.id), outcome)
            conversation.turns += 1
            conversation.counts[outcome] += 1
            channel = data.get("input_channel")
            if channel and not conversation.channel:
                conversation.channel = str(channel)[:64]
            text = str(data.get("text") or "").lower()
            if text and len(conversation.search_text) < SEARCH_CHARS:
                conversation.search_text = (conversation.search_text + "\n" + text).lstrip("\n")
            if outcome == "escalated":
                level = contract.LEVEL_BY_INTENT.get(str(intent))
                conversation.level = _higher(conversation.level, level)
        elif row.type_name == "bot":
            data = parse_json(row.data)
            flag = contract.escalation_of((data.get("data") or {}).get("custom"))
            if flag is not None:
                conversation.level = _higher(conversation.level, flag.level)
        elif row.type_name == "action" and row.action_name == GAVE_UP_ACTION:
            previous = latest.get(row.sender_id) or _last_message(connection, row.sender_id)
            if previous is not None and previous[1] == "clarified":
                event_id = previous[0]
                conversation.counts["clarified"] -= 1
                conversation.counts["not_understood"] += 1
                latest[row.sender_id] = (event_id, "not_understood")
                if event_id in new_messages:
                    new_messages[event_id]["outcome"] = "not_understood"
                else:
                    outcome_changes[event_id] = "not_understood"
    inserts = [c.values() for c in conversations.values() if not c.exists]
    updates = [c.values() for c in conversations.values() if c.exists]
    if inserts:
        connection.execute(tables.conversations.insert(), inserts)
    if updates:
        statement = (
            tables.conversations.update()
            .where(tables.conversations.c.sender_id == sa.bindparam("key"))
            .values({name: sa.bindparam(name) for name in updates[0] if name != "sender_id"})
        )
        connection.execute(
            statement,
            [
                {**{k: v for k, v in u.items() if k != "sender_id"}, "key": u["sender_id"]}
                for u in updates
            ],
        )
    if new_messages:
        connection.execute(tables.messages.insert(), list(new_messages.values()))
    for event_id, outcome in outcome_changes.items():
        connection.execute(
            tables.messages.update()
            .where(tables.messages.c.event_id == event_id)
            .values(outcome=outcome)
        )
    return int(rows[-1].id), len(rows)


has_events = tables.has_events


def settle_seconds(engine: Engine) -> float:
    """How old an event must be before it is indexed (see :func:`_index_batch`).

    SQLite has one writer at a time, so ids commit in order and nothing waits.
    """
    return 0.0 if engine.dialect.name == "sqlite" else 3.0


def refresh(db_url: Optional[str] = None, max_batches: int = 10_000) -> int:
    """Bring the summary index up to date; returns how many events it read.

    One caller at a time per process; each batch commits with its position, so
    a crash or a second process never indexes an event twice.
    """
    engine = tables.get_engine(db_url)
    if not has_events(engine):
        return 0
    read = 0
    with _refresh_lock:
        # The usual case, nothing new: two primary-key lookups and no write.
        with engine.connect() as connection:
            newest = connection.execute(sa.select(sa.func.max(tables.events.c.id))).scalar()
            done = connection.execute(
                sa.select(tables.index_state.c.last_event_id).where(
                    tables.index_state.c.name == "events"
                )
            ).scalar()
        if newest is None or (done is not None and int(done) >= int(newest)):
            return 0
        for _ in range(max_batches):
            with engine.begin() as connection:
                last_id = connection.execute(
                    sa.select(tables.index_state.c.last_event_id)
                    .where(tables.index_state.c.name == "events")
                    .with_for_update()
                ).scalar()
                if last_id is None:
                    connection.execute(
                        tables.index_state.insert().values(name="events", last_event_id=0)
                    )
                    last_id = 0
                new_last, count = _index_batch(connection, int(last_id), settle_seconds(engine))
                if count == 0:
                    break
                connection.execute(
                    tables.index_state.update()
                    .where(tables.index_state.c.name == "events")
                    .values(last_event_id=new_last)
                )
                read += count
    return read
