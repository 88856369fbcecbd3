"""Conversations for the console: the filtered list (summary index) and a transcript.

The list reads ``console_conversations`` through its indexes and pages by key
(the last row's time and id), so page 1,000 costs what page 1 costs. A transcript
reads one conversation's events through Rasa's ``sender_id`` index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, List, Mapping, Optional, Tuple

import sqlalchemy as sa

from clinic_assistant import contract
from clinic_assistant.console import summary, tables

PAGE_SIZE = 50
MAX_QUERY_CHARS = 200


@dataclass(frozen=True)
class Filters:
    """What the conversation list is narrowed to."""

    since: Optional[float] = None  # UNIX time, inclusive
    until: Optional[float] = None  # UNIX time, exclusive
    channel: Optional[str] = None
    outcome: Optional[str] = None
    query: str = ""
    tag: Optional[str] = None
    review: Optional[str] = None

    @property
    def any(self) -> bool:
        """True when anything narrows the list."""
        return any(
            (self.since, self.until, self.channel, self.outcome, self.query, self.tag, self.review)
        )


@dataclass(frozen=True)
class ConversationRow:
    """One line of the list."""

    sender_id: str
    first_at: datetime
    last_at: datetime
    channel: Optional[str]
    turns: int
    counts: Dict[str, int]
    level: Optional[str]
    review: Optional[str]
    tags: Tuple[str, ...]


def _when(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)


def _like(query: str) -> str:
    escaped = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_conversations(
    filters: Filters,
    *,
    after: Optional[Tuple[float, str]] = None,
    limit: int = PAGE_SIZE,
    db_url: Optional[str] = None,
) -> Tuple[List[ConversationRow], Optional[Tuple[float, str]]]:
    """One page, newest first, and the key of the next page (None on the last)."""
    c = tables.conversations.c
    statement = sa.select(tables.conversations)
    if filters.since is not None:
        statement = statement.where(c.last_at >= filters.since)
    if filters.until is not None:
        statement = statement.where(c.first_at < filters.until)
    if filters.channel:
        statement = statement.where(c.channel == filters.channel)
    if filters.outcome in summary.OUTCOMES:
        statement = statement.where(getattr(c, str(filters.outcome)) > 0)
    if filters.query:
        statement = statement.where(
            c.search_text.like(_like(filters.query[:MAX_QUERY_CHARS]), escape="\\")
        )
    if filters.tag:
        statement = statement.where(
            c.sender_id.in_(
                sa.select(tables.tags.c.conversation_id).where(tables.tags.c.tag == filters.tag)
            )
        )
    if filters.review in tables.REVIEW_STATES:
        statement = statement.where(
            c.sender_id.in_(
                sa.select(tables.reviews.c.conversation_id).where(
                    tables.reviews.c.state == filters.review
                )
            )
        )
    if after is not None:
        last_at, sender_id = after
        statement = statement.where(
            sa.or_(c.last_at < last_at, sa.and_(c.last_at == last_at, c.sender_id < sender_id))
        )
    statement = statement.order_by(c.last_at.desc(), c.sender_id.desc()).limit(limit + 1)
    with tables.get_engine(db_url).connect() as connection:
        rows = connection.execute(statement).fetchall()
        page = rows[:limit]
        ids = [row.sender_id for row in page]
        states: Dict[str, str] = {}
        labels: Dict[str, List[str]] = {}
        if ids:
            for row in connection.execute(
                sa.select(tables.reviews).where(tables.reviews.c.conversation_id.in_(ids))
            ):
                states[row.conversation_id] = row.state
            for row in connection.execute(
                sa.select(tables.tags)
                .where(tables.tags.c.conversation_id.in_(ids))
                .order_by(tables.tags.c.tag)
            ):
                labels.setdefault(row.conversation_id, []).append(row.tag)
    result = [
        ConversationRow(
            sender_id=row.sender_id,
            first_at=_when(row.first_at),
            last_at=_when(row.last_at),
            channel=row.channel,
            turns=int(row.turns),
            counts={name: int(getattr(row, name)) for name in summary.OUTCOMES},
            level=row.level,
            review=states.get(row.sender_id),
            tags=tuple(labels.get(row.sender_id, [])),
        )
        for row in page
    ]
    next_key = (page[-1].last_at, page[-1].sender_id) if len(rows) > limit else None
    return result, next_key


def channels(db_url: Optional[str] = None) -> List[str]:
    """The channels seen so far (for the filter's choices)."""
    c = tables.conversations.c
    with tables.get_engine(db_url).connect() as connection:
        rows = connection.execute(
            sa.select(c.channel).where(c.channel.is_not(None)).group_by(c.channel).limit(50)
        )
        return sorted(str(row.channel) for row in rows)


@dataclass
class Reply:
    """One thing the assistant said."""

    text: str
    buttons: List[Dict[str, str]] = field(default_factory=list)
    escalation: Optional[contract.RedFlag] = None


@dataclass
class Turn:
    """One patient message and what followed it."""

    event_id: int
    at: datetime
    text: str
    intent: Optional[str]
    intent_confidence: Optional[float]
    answer: Optional[str]
    answer_confidence: Optional[float]
    outcome: str
    clicked: Optional[str] = None  # the button's title when the message was a button
    options: List[str] = field(default_factory=list)  # the likeliest answers offered
    replies: List[Reply] = field(default_factory=list)
    escalation_ref: Optional[str] = None


@dataclass
class Transcript:
    """A whole conversation as the console shows it."""

    sender_id: str
    channel: Optional[str]
    turns: List[Turn]
    opening: List[Reply]  # what the assistant said before the first patient message


def _buttons(data: Mapping[str, Any]) -> List[Dict[str, str]]:
    buttons = (data.get("data") or {}).get("buttons") or []
    return [
        {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
        for b in buttons
        if isinstance(b, Mapping)
    ]


def transcript(sender_id: str, *, db_url: Optional[str] = None) -> Optional[Transcript]:
    """The conversation's turns, oldest first, or None when there is no such conversation."""
    events = tables.events
    engine = tables.get_engine(db_url)
    if not summary.has_events(engine):
        return None
    statement = (
        sa.select(
            events.c.id,
            events.c.type_name,
            events.c.timestamp,
            events.c.intent_name,
            events.c.action_name,
            events.c.data,
        )
        .where(events.c.sender_id == sender_id)
        .where(events.c.type_name.in_(("user", "bot", "action", "slot")))
        .order_by(events.c.id)
    )
    with engine.connect() as connection:
        rows = connection.execute(statement).fetchall()
        outcomes = {
            int(row.event_id): str(row.outcome)
            for row in connection.execute(
                sa.select(tables.messages.c.event_id, tables.messages.c.outcome).where(
                    tables.messages.c.sender_id == sender_id
                )
            )
        }
    if not rows:
        return None
    turns: List[Turn] = []
    opening: List[Reply] = []
    channel: Optional[str] = None
    offered: Dict[str, str] = {}
    for row in rows:
        data = summary.parse_json(row.data)
        if row.type_name == "user":
            parse_data = data.get("parse_data") or {}
            intent = parse_data.get("intent") or {}
            answer, answer_confidence = summary.answer_of(parse_data)
            text = str(data.get("text") or "")
            channel = channel or data.get("input_channel")
            options = [
                str(option.get("payload") or option.get("title") or "")
                for option in parse_data.get(contract.ANSWER_OPTIONS_KEY) or []
                if isinstance(option, Mapping)
            ]
            turns.append(
                Turn(
                    event_id=int(row.id),
                    at=_when(float(row.timestamp or 0)),
                    text=text,
                    intent=row.intent_name or intent.get("name"),
                    intent_confidence=summary._float(intent.get("confidence")),
                    answer=answer,
                    answer_confidence=answer_confidence,
                    outcome=outcomes.get(int(row.id), summary.outcome_of(row.intent_name)),
                    clicked=offered.get(text),
                    options=options,
                )
            )
            offered = {}
        elif row.type_name == "bot":
            buttons = _buttons(data)
            reply = Reply(
                text=str(data.get("text") or ""),
                buttons=buttons,
                escalation=contract.escalation_of((data.get("data") or {}).get("custom")),
            )
            (turns[-1].replies if turns else opening).append(reply)
            offered.update({b["payload"]: b["title"] for b in buttons if b["payload"]})
        elif row.type_name == "slot" and data.get("name") == contract.ESCALATION_REF_SLOT:
            if turns and data.get("value") is not None:
                turns[-1].escalation_ref = str(data["value"])
    return Transcript(sender_id=sender_id, channel=channel, turns=turns, opening=opening)
