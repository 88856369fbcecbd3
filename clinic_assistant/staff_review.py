"""Staff review of the conversation logs: escalations first, then what patients
ask, then where the assistant failed.

Reads the SQL tracker store (Rasa's ``events`` table), the escalation records and
the text channel's undelivered escalation replies in the same database. Prints to
the terminal of an authorised staff member; it writes nothing and logs nothing. Usage::

    make review                      # or:
    .venv/bin/python -m clinic_assistant.staff_review [--days 7] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import unicodedata
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional

import sqlalchemy as sa

from clinic_assistant.channels import twilio_store
from clinic_assistant.contract import (
    EMERGENCY,
    ESCALATION_REF_SLOT,
    FALLBACK_INTENT,
    OUT_OF_SCOPE_INTENT,
    RED_FLAG_INTENTS,
    UNREADABLE_INTENT,
    escalation_of,
)
from clinic_assistant.escalations.store import find_by_refs, get_engine, stale_pending
from clinic_assistant.settings import get_settings

#: Intents and responses that mean the patient did not get an answer.
FAILURE_INTENTS = (FALLBACK_INTENT, UNREADABLE_INTENT, OUT_OF_SCOPE_INTENT)
GAVE_UP = "utter_no_luck"
#: Unicode categories never printed raw: controls (C0, C1: ESC, CSI), format
#: characters (bidi overrides), surrogates, private use, line/paragraph separators.
UNPRINTABLE = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})
EVENTS = sa.table(
    "events",
    sa.column("id"),
    sa.column("sender_id"),
    sa.column("type_name"),
    sa.column("timestamp"),
    sa.column("intent_name"),
    sa.column("action_name"),
    sa.column("data"),
)


@dataclass
class Review:
    """Everything the staff report shows."""

    escalations: List[Dict[str, Any]] = field(default_factory=list)
    questions: List[tuple[str, int]] = field(default_factory=list)
    failures: List[Dict[str, Any]] = field(default_factory=list)
    conversations: int = 0
    gave_up: int = 0
    #: Escalations whose notice never went out (the action server stopped mid-way).
    stale_notices: List[Dict[str, Any]] = field(default_factory=list)
    #: Escalation texts that did not reach the patient (failed, opted out, ...).
    texts_not_delivered: List[Dict[str, Any]] = field(default_factory=list)


def build_review(db_url: Optional[str] = None, since_ts: float = 0.0) -> Review:
    """Read the tracker store and the escalation records since ``since_ts``."""
    engine = get_engine(db_url)
    review = Review()
    review.texts_not_delivered = _texts_not_delivered(db_url, since_ts)
    if not sa.inspect(engine).has_table("events"):
        return review
    statement = (
        sa.select(
            EVENTS.c.sender_id,
            EVENTS.c.type_name,
            EVENTS.c.timestamp,
            EVENTS.c.action_name,
            EVENTS.c.data,
        )
        .where(EVENTS.c.timestamp >= since_ts)
        .where(EVENTS.c.type_name.in_(("user", "bot", "action", "slot")))
        .order_by(EVENTS.c.id)
    )
    asked: Counter[str] = Counter()
    senders = set()
    last_user: Dict[str, Dict[str, Any]] = {}
    with engine.connect() as connection:
        for sender, kind, timestamp, action, raw in connection.execute(statement):
            senders.add(sender)
            data = json.loads(raw or "{}")
            if kind == "user":
                parse = data.get("parse_data") or {}
                intent = parse.get("intent") or {}
                name = intent.get("full_retrieval_intent_name") or intent.get("name") or "?"
                last_user[sender] = {"text": data.get("text"), "answer": name, "at": timestamp}
                if name in FAILURE_INTENTS:
                    review.failures.append(
                        {
                            "conversation": sender,
                            "kind": name,
                            "message": data.get("text"),
                            "at": timestamp,
                        }
                    )
                elif name not in RED_FLAG_INTENTS:
                    asked[name] += 1
            elif kind == "bot":
                escalation = escalation_of((data.get("data") or {}).get("custom"))
                if escalation:
                    review.escalations.append(
                        {
                            "conversation": sender,
                            "at": timestamp,
                            "level": escalation.level,
                            "symptoms": list(escalation.symptoms),
                            "message": (last_user.get(sender) or {}).get("text"),
                            "notification": "no record (action server down?)",
                            "ref": None,
                        }
                    )
            elif kind == "slot" and data.get("name") == ESCALATION_REF_SLOT:
                # The action sets the reference right after the escalation's reply.
                for escalation in reversed(review.escalations):
                    if escalation["conversation"] == sender:
                        if escalation["ref"] is None:
                            escalation["ref"] = data.get("value")
                        break
            elif kind == "action" and action == GAVE_UP:
                review.gave_up += 1
    _attach_records(review, db_url, since_ts)
    # Emergencies first, then urgent; newest first within a level.
    review.escalations.sort(key=lambda e: (e["level"] != EMERGENCY, -float(e["at"] or 0)))
    review.questions = asked.most_common()
    review.conversations = len(senders)
    return review


def _attach_records(review: Review, db_url: Optional[str], since_ts: float) -> None:
    """Add each escalation's record (joined on its reference) and the stale notices."""
    age = timedelta(minutes=get_settings().escalation_pending_stale_minutes)
    try:
        records = find_by_refs([e["ref"] for e in review.escalations if e["ref"]], db_url=db_url)
        stale = stale_pending(age, db_url=db_url)
    except sa.exc.SQLAlchemyError:
        return
    for escalation in review.escalations:
        record = records.get(escalation["ref"] or "")
        if record is not None:
            escalation["notification"] = record.notification_status
            escalation["acknowledged"] = record.acknowledged_at is not None
            escalation["record"] = record.id
    review.stale_notices = [
        {"record": record.id, "level": record.level, "since": record.last_seen_at.isoformat()}
        for record in stale
    ]


def _texts_not_delivered(db_url: Optional[str], since_ts: float) -> List[Dict[str, Any]]:
    """The text channel's escalation replies that did not reach the patient."""
    url = db_url or get_settings().db_url
    if not sa.inspect(get_engine(url)).has_table("twilio_outbound"):
        return []  # texting was never used here
    try:
        rows = twilio_store.callbacks_needed(url, datetime.fromtimestamp(since_ts, timezone.utc))
    except sa.exc.SQLAlchemyError:
        return []
    return [
        {
            "conversation": row["conversation_id"],
            "level": row["escalation_level"],
            "status": row["status"],
            "error_code": row["error_code"],
            "at": row["updated_at"].timestamp(),
        }
        for row in rows
    ]


def printable(value: Any) -> str:
    """``value`` as text that cannot drive the terminal: control, format and
    line-separator characters (ESC sequences, bidi overrides, line breaks) are
    shown as escapes like ``\\x1b`` instead of being printed raw."""
    text = "" if value is None else str(value)
    return "".join(
        ch
        if unicodedata.category(ch) not in UNPRINTABLE
        else ch.encode("unicode_escape").decode("ascii")
        for ch in text
    )


def render(review: Review) -> str:
    """The report as plain text for a terminal; every stored value goes through
    :func:`printable` (a patient's message may contain escape sequences)."""

    def when(ts: Any) -> str:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(float(ts or 0)))

    lines = [
        f"Conversations: {review.conversations}",
        "",
        f"ESCALATIONS ({len(review.escalations)})",
    ]
    for e in review.escalations:
        symptoms = ", ".join(printable(s) for s in e["symptoms"] or [])
        lines.append(
            f"  [{printable(e['level']).upper()}] {when(e['at'])} conversation "
            f"{printable(e['conversation'])} - {symptoms} - notification: "
            f"{printable(e['notification'])}"
        )
        lines.append(f'      "{printable(e["message"])}"')
    if review.stale_notices:
        lines += ["", f"NOTICES NEVER SENT ({len(review.stale_notices)}): call these patients"]
        lines += [
            f"  record #{n['record']} [{n['level'].upper()}] pending since {n['since']}"
            for n in review.stale_notices
        ]
    if review.texts_not_delivered:
        lines += [
            "",
            f"ESCALATION TEXTS NOT DELIVERED ({len(review.texts_not_delivered)}): call these "
            "patients (their number is in the staff console)",
        ]
        lines += [
            f"  [{printable(t['level']).upper()}] {when(t['at'])} conversation "
            f"{printable(t['conversation'])} - {printable(t['status'])}"
            + (f" (Twilio error {t['error_code']})" if t["error_code"] else "")
            for t in review.texts_not_delivered
        ]
    lines += ["", "WHAT PATIENTS ASK"]
    lines += [f"  {count:4d}  {printable(name)}" for name, count in review.questions] or [
        "  (nothing yet)"
    ]
    lines += [
        "",
        f"WHERE THE ASSISTANT FAILED ({len(review.failures)} messages, "
        f"{review.gave_up} times it gave the clinic's number after two misses)",
    ]
    for f in review.failures:
        lines.append(
            f"  {when(f['at'])} {printable(f['kind']):<16} "
            f'{printable(f["conversation"])}: "{printable(f["message"])}"'
        )
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=float, default=30, help="look back this many days")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = parser.parse_args(argv)
    review = build_review(get_settings().db_url, time.time() - args.days * 86400)
    print(json.dumps(asdict(review), indent=2) if args.json else render(review))
    return 0


if __name__ == "__main__":
    sys.exit(main())
