"""Tracker events in the shape Rasa's SQL tracker store writes them, for the console.

The console's tests and its bench need conversations without running Rasa for each
one: this writes rows into an ``events`` table with Rasa 3.6's columns (``id``,
``sender_id``, ``type_name``, ``timestamp``, ``intent_name``, ``action_name``,
``data``) and the JSON Rasa stores in ``data``. The browser tests check the same
pages against conversations the real Rasa server recorded.

``generate`` makes many conversations quickly (fixed seed): a mix of answered,
clarified, not understood, out-of-scope and escalated turns over several channels.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import sqlalchemy as sa

from clinic_assistant import contract

metadata = sa.MetaData()
# Rasa 3.6 SQLTrackerStore.SQLEvent, column for column.
events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, sa.Sequence("events_id_seq"), primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    sa.Column("type_name", sa.String(255), nullable=False),
    sa.Column("timestamp", sa.Float),
    sa.Column("intent_name", sa.String(255)),
    sa.Column("action_name", sa.String(255)),
    sa.Column("data", sa.Text),
)

TOPICS = (
    "faq/onset",
    "faq/duration",
    "faq/prepare",
    "faq/side_effects",
    "faq/visit",
    "faq/tests",
    "faq/prepare_medicines",
    "faq/what_is",
)


def create_events_table(engine: sa.engine.Engine) -> None:
    """Create ``events`` as Rasa would (no-op when it exists)."""
    metadata.create_all(engine, checkfirst=True)


def _row(sender: str, kind: str, ts: float, data: Dict[str, Any], **columns: Any) -> Dict[str, Any]:
    return {
        "sender_id": sender,
        "type_name": kind,
        "timestamp": ts,
        "intent_name": columns.get("intent_name"),
        "action_name": columns.get("action_name"),
        "data": json.dumps({"event": kind, "timestamp": ts, **data}),
    }


def user(
    sender: str,
    ts: float,
    text: str,
    intent: str,
    confidence: float = 0.97,
    answer: Optional[str] = None,
    answer_confidence: float = 0.9,
    channel: str = "rest",
    options: Sequence[str] = (),
    ranking: Sequence[tuple[str, float]] = (),
) -> Dict[str, Any]:
    """A patient message with its parse data (intent, ResponseSelector, options)."""
    parse: Dict[str, Any] = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "entities": [],
        "intent_ranking": [{"name": intent, "confidence": confidence}],
    }
    if answer is not None or ranking:
        parse["response_selector"] = {
            "all_retrieval_intents": ["faq"],
            "faq": {
                "response": {
                    "intent_response_key": answer,
                    "confidence": answer_confidence,
                    "utter_action": f"utter_{answer}" if answer else None,
                },
                "ranking": [
                    {"intent_response_key": key, "confidence": value} for key, value in ranking
                ],
            },
        }
    if options:
        parse[contract.ANSWER_OPTIONS_KEY] = [{"payload": f"/{key}"} for key in options]
    data = {"text": text, "parse_data": parse, "input_channel": channel, "message_id": None}
    return _row(sender, "user", ts, data, intent_name=intent)


def bot(
    sender: str,
    ts: float,
    text: str,
    buttons: Sequence[tuple[str, str]] = (),
    custom: Optional[Dict[str, Any]] = None,
) -> Dict[str, Any]:
    """An assistant message, with its buttons and custom payload."""
    data = {
        "text": text,
        "data": {
            "elements": None,
            "quick_replies": None,
            "buttons": [{"title": t, "payload": p} for t, p in buttons] or None,
            "attachment": None,
            "image": None,
            "custom": custom,
        },
        "metadata": {},
    }
    return _row(sender, "bot", ts, data)


def action(sender: str, ts: float, name: str) -> Dict[str, Any]:
    """An action run by the assistant."""
    return _row(
        sender, "action", ts, {"name": name, "policy": None, "confidence": 1.0}, action_name=name
    )


def slot(sender: str, ts: float, name: str, value: Any) -> Dict[str, Any]:
    """A slot being set."""
    return _row(sender, "slot", ts, {"name": name, "value": value})


def escalation_payload(level: str, symptoms: Sequence[str]) -> Dict[str, Any]:
    """The reply's custom object of an escalation (GUIDE: escalation payload)."""
    return contract.RedFlag(level, tuple(symptoms)).payload()


def insert(engine: sa.engine.Engine, rows: List[Dict[str, Any]]) -> None:
    """Write rows, in order (ids follow the order)."""
    create_events_table(engine)
    with engine.begin() as connection:
        for start in range(0, len(rows), 5000):
            connection.execute(events.insert(), rows[start : start + 5000])


@dataclass
class Generated:
    """What :func:`generate` wrote."""

    conversations: int = 0
    events: int = 0
    escalations: List[Dict[str, Any]] = field(default_factory=list)


SAMPLE_TEXTS = {
    "answered": ("when will it start working", "how long does it last", "how do I prepare"),
    "clarified": ("the thing with the needle and the buzz", "what about after"),
    "not_understood": ("asdf qwer", "¿cuánto cuesta?"),
    "out_of_scope": ("how much does it cost", "do you take my insurance"),
    "escalated": ("my husband can barely swallow", "I can't breathe properly"),
}


def conversation_rows(
    sender: str, start: float, rng: random.Random, channel: str, turns: int
) -> tuple[List[Dict[str, Any]], Optional[Dict[str, Any]]]:
    """One generated conversation and, if it escalated, its escalation's fields."""
    rows = [action(sender, start, "action_session_start"), action(sender, start, "action_listen")]
    ts = start
    escalation: Optional[Dict[str, Any]] = None
    for _ in range(turns):
        ts += rng.uniform(5, 90)
        kind = rng.choices(
            ("answered", "clarified", "not_understood", "out_of_scope", "escalated"),
            weights=(70, 10, 6, 8, 2 if escalation is None else 0),
        )[0]
        text = rng.choice(SAMPLE_TEXTS[kind])
        topic = rng.choice(TOPICS)
        if kind == "answered":
            rows.append(user(sender, ts, text, "faq", answer=topic, channel=channel))
            rows += [action(sender, ts, f"utter_{topic}"), bot(sender, ts, "(sheet text)")]
        elif kind == "clarified":
            options = rng.sample(TOPICS, 2)
            rows.append(
                user(
                    sender,
                    ts,
                    text,
                    contract.FALLBACK_INTENT,
                    0.4,
                    channel=channel,
                    options=options,
                    ranking=[(options[0], 0.41), (options[1], 0.38)],
                )
            )
            rows += [
                action(sender, ts, contract.CLARIFY_RESPONSE),
                bot(sender, ts, "Did you mean", [(o, f"/{o}") for o in options]),
            ]
        elif kind == "not_understood":
            rows.append(user(sender, ts, text, contract.UNREADABLE_INTENT, channel=channel))
            rows += [action(sender, ts, "utter_unreadable"), bot(sender, ts, "Sorry")]
        elif kind == "out_of_scope":
            rows.append(user(sender, ts, text, contract.OUT_OF_SCOPE_INTENT, channel=channel))
            rows += [action(sender, ts, "utter_out_of_scope"), bot(sender, ts, "I can't answer")]
        else:
            level = rng.choice(contract.LEVELS)
            symptom = "difficulty_swallowing" if level == "emergency" else "double_vision"
            rows.append(
                user(sender, ts, text, contract.INTENT_BY_LEVEL[level], 1.0, channel=channel)
            )
            rows += [
                action(sender, ts, contract.RESPONSE_BY_LEVEL[level]),
                bot(sender, ts, "Call now", custom=escalation_payload(level, [symptom])),
            ]
            escalation = {
                "conversation_id": sender,
                "channel": channel,
                "level": level,
                "symptoms": [symptom],
                "message": text,
                "ts": ts,
            }
        rows.append(action(sender, ts, "action_listen"))
    return rows, escalation


def generate(
    engine: sa.engine.Engine,
    conversations: int,
    *,
    seed: int = 12,
    end: float,
    days: int = 90,
) -> Generated:
    """Write ``conversations`` conversations spread over ``days`` days before ``end``."""
    rng = random.Random(seed)  # noqa: S311 (test data, not secrets)
    create_events_table(engine)
    result = Generated()
    batch: List[Dict[str, Any]] = []
    starts = sorted(end - rng.uniform(0, days * 86400) for _ in range(conversations))
    for number, start in enumerate(starts):
        channel = rng.choices(("socketio", "rest", "twilio"), weights=(6, 1, 3))[0]
        rows, escalation = conversation_rows(
            f"gen-{number:06d}", start, rng, channel, rng.randint(1, 6)
        )
        batch += rows
        if escalation is not None:
            result.escalations.append(escalation)
        result.conversations += 1
        result.events += len(rows)
        if len(batch) >= 20_000:
            insert(engine, batch)
            batch = []
    if batch:
        insert(engine, batch)
    return result
