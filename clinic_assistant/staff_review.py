"""``make review``: the staff console's open escalations, printed in a terminal.

A thin wrapper over the staff console (clinic_assistant.console): the same
escalation records, read by the same code (``escalation_board``), with the same
marks for a notice that failed or never went out; and the text channel's
escalation replies that did not reach the patient, to call them. It prints no
patient's words and no phone number (the console shows those, behind a login,
audited), and it is audited itself (``review_cli``, under the shell user's
name). Conversations, questions, failures and analytics are the console's
pages. Usage::

    make review                      # or:
    .venv/bin/python -m clinic_assistant.staff_review [--days 7] [--json]
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional

import sqlalchemy as sa

from clinic_assistant.channels import twilio_store
from clinic_assistant.console import audit, escalation_board, tables
from clinic_assistant.escalations.service import EscalationService
from clinic_assistant.settings import Settings, SettingsError, get_settings

#: Unicode categories never printed raw: controls (C0, C1: ESC, CSI), format
#: characters (bidi overrides), surrogates, private use, line/paragraph separators.
UNPRINTABLE = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})
#: At most this many open escalations are listed (the console pages through all).
LIMIT = 50


@dataclass
class Review:
    """What the printout shows: open escalations (newest first) and how many there are."""

    console_url: str
    total_open: int = 0
    escalations: List[Dict[str, Any]] = field(default_factory=list)
    #: Escalation texts that did not reach the patient (failed, opted out, ...).
    texts_not_delivered: List[Dict[str, Any]] = field(default_factory=list)


def console_url(settings: Settings) -> str:
    """Where staff read the rest (the console, on this machine)."""
    return f"http://localhost:{settings.console.port}/"


def build_review(service: EscalationService, since: Optional[datetime] = None) -> Review:
    """The open escalations as the console's board has them (no message text), and the
    escalation texts not delivered since ``since``."""
    items = escalation_board.open_escalations(service, LIMIT)
    review = Review(console_url(service.settings), escalation_board.count_open(service))
    review.texts_not_delivered = _texts_not_delivered(service.settings.db_url, since)
    for item in items:
        record = item.record
        review.escalations.append(
            {
                "id": record.id,
                "level": record.level,
                "symptoms": list(record.symptoms),
                "channel": record.channel,
                "conversation": record.conversation_id,
                "created_at": record.created_at.isoformat(),
                "messages": record.count,
                "notification": record.notification_status,
                "notice_problem": item.notice_problem,
                "reply_failed": item.reply_failed,
                "acknowledged_by": record.acknowledged_by,
            }
        )
    return review


def _texts_not_delivered(db_url: str, since: Optional[datetime]) -> List[Dict[str, Any]]:
    """The text channel's escalation replies that did not reach the patient."""
    if not sa.inspect(tables.get_engine(db_url)).has_table(twilio_store.outbound.name):
        return []  # texting was never used here
    return [
        {
            "conversation": row["conversation_id"],
            "level": row["escalation_level"],
            "status": row["status"],
            "error_code": row["error_code"],
            "at": row["updated_at"].isoformat(),
        }
        for row in twilio_store.callbacks_needed(db_url, since)
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
    """The printout for a terminal; every stored value goes through :func:`printable`
    (a conversation id is whatever the client sent)."""
    shown = len(review.escalations)
    more = f", the newest {shown} shown" if review.total_open > shown else ""
    lines = [f"OPEN ESCALATIONS ({review.total_open}{more})"]
    for e in review.escalations:
        symptoms = ", ".join(printable(s).replace("_", " ") for s in e["symptoms"]) or "-"
        notice = e["notice_problem"] or e["notification"]
        seen = f"acknowledged by {e['acknowledged_by']}" if e["acknowledged_by"] else "NEW"
        if e.get("reply_failed"):
            seen += " - TEXT REPLY NOT DELIVERED: phone the patient"
        lines.append(
            f"  #{e['id']} [{printable(e['level']).upper()}] {e['created_at'][:16]} "
            f"{printable(e['channel'] or 'unknown')} conversation {printable(e['conversation'])}"
            f" - {symptoms} - notice: {printable(notice)} - {printable(seen)}"
        )
    if not review.escalations:
        lines.append("  (none)")
    if review.texts_not_delivered:
        lines += [
            "",
            f"ESCALATION TEXTS NOT DELIVERED ({len(review.texts_not_delivered)}): call these "
            "patients (their number is in the staff console)",
        ]
        lines += [
            f"  [{printable(t['level']).upper()}] {t['at'][:16]} conversation "
            f"{printable(t['conversation'])} - {printable(t['status'])}"
            + (f" (Twilio error {t['error_code']})" if t["error_code"] else "")
            for t in review.texts_not_delivered
        ]
    lines += [
        "",
        f"Transcripts, acknowledging and resolving: the staff console, {review.console_url}",
    ]
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--days", type=float, default=7, help="texts not delivered: look back this many days"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
    except SettingsError as error:
        print(f"Bad setting: {error}", file=sys.stderr)
        return 2
    since = datetime.now(timezone.utc) - timedelta(days=args.days)
    review = build_review(EscalationService(settings), since)
    audit.record(
        f"(shell: {getpass.getuser()})",
        "review_cli",
        detail=f"{len(review.escalations)} open escalations listed",
        db_url=settings.db_url,
    )
    print(json.dumps(review.__dict__, indent=2) if args.json else render(review))
    return 0


if __name__ == "__main__":
    sys.exit(main())
