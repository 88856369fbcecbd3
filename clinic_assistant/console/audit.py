"""The audit log: who did what, to which conversation, when, and why.

Append-only: this module only inserts, and the database refuses UPDATE and DELETE
on the table (a trigger, tables.py). Entries name conversations by id and carry
the staff member's own words (a search, a reason); never a patient's message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import List, Optional

import sqlalchemy as sa

from clinic_assistant.console import tables

#: Every action the console records; the admin page filters by these.
ACTIONS = (
    "login",
    "login_failed",
    "locked_out",
    "logout",
    "logoff_idle",
    "totp_enrolled",
    "totp_failed",
    "view_transcript",
    "search",
    "export_csv",
    "export_yaml",
    "acknowledge",
    "resolve",
    "label",
    "review_state",
    "tag",
    "reveal_phone",
    "user_created",
    "user_reset",
    "user_changed",
    "view_audit",
    "purge",
    # `make review` (clinic_assistant/staff_review.py), by the shell user.
    "review_cli",
)
MAX_DETAIL_CHARS = 1000


@dataclass(frozen=True)
class AuditEntry:
    """One row of the audit log."""

    id: int
    at: datetime
    username: str
    action: str
    target: Optional[str]
    detail: Optional[str]
    address: Optional[str]


def record(
    username: str,
    action: str,
    target: Optional[str] = None,
    detail: Optional[str] = None,
    address: Optional[str] = None,
    *,
    db_url: Optional[str] = None,
) -> None:
    """Append one entry; an unknown action is a programming error."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    with tables.get_engine(db_url).begin() as connection:
        connection.execute(
            tables.audit.insert().values(
                at=datetime.now(timezone.utc),
                username=username[:64],
                action=action,
                target=target,
                detail=None if detail is None else detail[:MAX_DETAIL_CHARS],
                address=address,
            )
        )


def entries(
    *,
    username: Optional[str] = None,
    action: Optional[str] = None,
    target: Optional[str] = None,
    since: Optional[datetime] = None,
    until: Optional[datetime] = None,
    before_id: Optional[int] = None,
    limit: int = 100,
    db_url: Optional[str] = None,
) -> List[AuditEntry]:
    """Entries newest first, filtered; ``before_id`` pages back."""
    statement = sa.select(tables.audit)
    if username:
        statement = statement.where(tables.audit.c.username == username)
    if action:
        statement = statement.where(tables.audit.c.action == action)
    if target:
        statement = statement.where(tables.audit.c.target == target)
    if since is not None:
        statement = statement.where(tables.audit.c.at >= since)
    if until is not None:
        statement = statement.where(tables.audit.c.at < until)
    if before_id is not None:
        statement = statement.where(tables.audit.c.id < before_id)
    statement = statement.order_by(tables.audit.c.id.desc()).limit(max(1, min(limit, 500)))
    with tables.get_engine(db_url).connect() as connection:
        return [
            AuditEntry(
                id=int(row.id),
                at=row.at,
                username=row.username,
                action=row.action,
                target=row.target,
                detail=row.detail,
                address=row.address,
            )
            for row in connection.execute(statement)
        ]
