"""Server-side staff sessions: a random token in an HttpOnly cookie, its hash here.

A session ends at logout, when its account changes (new password, disabled), or
after ``idle_minutes`` without a request the staff member made (the escalation
page's background polling does not count as activity).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional

import sqlalchemy as sa

from clinic_assistant.console import tables
from clinic_assistant.console.accounts import User, get_user

COOKIE = "console_session"


@dataclass(frozen=True)
class Session:
    """A looked-up session: the user, whether the second factor was passed."""

    token_hash: str
    user: User
    verified: bool
    expired: bool


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def start(user_id: int, *, verified: bool, db_url: Optional[str] = None) -> str:
    """A new session for ``user_id``; returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    now = _now()
    with tables.get_engine(db_url).begin() as connection:
        connection.execute(
            tables.sessions.insert().values(
                token_hash=_hash(token),
                user_id=user_id,
                created_at=now,
                last_seen_at=now,
                verified=verified,
            )
        )
    return token


def look_up(
    token: str, idle_minutes: float, *, touch: bool = True, db_url: Optional[str] = None
) -> Optional[Session]:
    """The session of ``token``, or None; an idle one is deleted and marked expired."""
    if not token or len(token) > 200:
        return None
    token_hash = _hash(token)
    engine = tables.get_engine(db_url)
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(tables.sessions).where(tables.sessions.c.token_hash == token_hash)
        ).first()
    if row is None:
        return None
    user = get_user(int(row.user_id), db_url=db_url)
    now = _now()
    idle = now - row.last_seen_at > timedelta(minutes=idle_minutes)
    if user is None or not user.active or idle:
        end(token, db_url=db_url)
        if user is None:
            return None
        return Session(token_hash, user, bool(row.verified), expired=True)
    # One write per minute at most (a write costs a disk flush); the idle logoff
    # stays exact to within that minute, or a tenth of the idle time if shorter.
    stale = now - row.last_seen_at > timedelta(minutes=min(1.0, idle_minutes / 10))
    if touch and stale:
        with engine.begin() as connection:
            connection.execute(
                tables.sessions.update()
                .where(tables.sessions.c.token_hash == token_hash)
                .values(last_seen_at=now)
            )
    return Session(token_hash, user, bool(row.verified), expired=False)


def mark_verified(token: str, *, db_url: Optional[str] = None) -> str:
    """The second factor passed: replace the session with a verified one (new token)."""
    engine = tables.get_engine(db_url)
    with engine.connect() as connection:
        user_id = connection.execute(
            sa.select(tables.sessions.c.user_id).where(tables.sessions.c.token_hash == _hash(token))
        ).scalar()
    end(token, db_url=db_url)
    if user_id is None:
        raise LookupError("no such session")
    return start(int(user_id), verified=True, db_url=db_url)


def end(token: str, *, db_url: Optional[str] = None) -> None:
    """Delete the session (logout, idle)."""
    with tables.get_engine(db_url).begin() as connection:
        connection.execute(
            tables.sessions.delete().where(tables.sessions.c.token_hash == _hash(token))
        )
