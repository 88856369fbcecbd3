"""Retention: delete conversations older than ``RETENTION_DAYS`` (``make purge``).

A conversation goes when its last event is older than the retention period: its
tracker events, its summary rows, its labels, tags and review state. Escalation
records and the audit log are kept. Safe to run from cron: with retention off
(``RETENTION_DAYS=0``, the default) it deletes nothing; it works in small
batches, and a second run finds nothing left to do. The purge itself is audited
(how many conversations, never which words).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from typing import List, Optional

import sqlalchemy as sa

from clinic_assistant.console import audit, summary, tables
from clinic_assistant.settings import SettingsError, get_settings

BATCH = 500
DAY_S = 86400


@dataclass(frozen=True)
class PurgeResult:
    """What a purge removed."""

    conversations: int
    events: int
    cutoff: float


def expired_conversations(cutoff: float, *, db_url: Optional[str] = None) -> List[str]:
    """Conversation ids whose last event is older than ``cutoff`` (UNIX seconds)."""
    engine = tables.get_engine(db_url)
    if not summary.has_events(engine):
        return []
    e = tables.events
    statement = (
        sa.select(e.c.sender_id).group_by(e.c.sender_id).having(sa.func.max(e.c.timestamp) < cutoff)
    )
    with engine.connect() as connection:
        return [str(row.sender_id) for row in connection.execute(statement)]


def purge(
    days: int, *, now: Optional[float] = None, actor: str = "(purge)", db_url: Optional[str] = None
) -> PurgeResult:
    """Delete every conversation idle for more than ``days`` days; audited."""
    if days <= 0:
        raise ValueError("retention is off (RETENTION_DAYS=0): nothing may be purged")
    cutoff = (now if now is not None else time.time()) - days * DAY_S
    # Index what is there first, so the summary and the events agree afterwards.
    summary.refresh(db_url)
    senders = expired_conversations(cutoff, db_url=db_url)
    engine = tables.get_engine(db_url)
    deleted_events = 0
    for start in range(0, len(senders), BATCH):
        chunk = senders[start : start + BATCH]
        with engine.begin() as connection:
            deleted_events += connection.execute(
                tables.events.delete().where(tables.events.c.sender_id.in_(chunk))
            ).rowcount
            connection.execute(
                tables.messages.delete().where(tables.messages.c.sender_id.in_(chunk))
            )
            connection.execute(
                tables.conversations.delete().where(tables.conversations.c.sender_id.in_(chunk))
            )
            for table in (tables.labels, tables.tags, tables.reviews):
                connection.execute(table.delete().where(table.c.conversation_id.in_(chunk)))
    audit.record(
        actor,
        "purge",
        detail=f"{len(senders)} conversations, {deleted_events} events older than {days} days",
        db_url=db_url,
    )
    return PurgeResult(len(senders), deleted_events, cutoff)


def main(argv: Optional[List[str]] = None) -> int:
    """Command line entry point (``make purge``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.parse_args(argv)
    try:
        settings = get_settings()
    except SettingsError as error:
        print(f"Bad setting: {error}", file=sys.stderr)
        return 2
    days = settings.console.retention_days
    if days <= 0:
        print("Retention is off (RETENTION_DAYS=0): nothing purged.")
        return 0
    result = purge(days, db_url=settings.db_url)
    print(
        f"Purged {result.conversations} conversations ({result.events} events) "
        f"idle for more than {days} days."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
