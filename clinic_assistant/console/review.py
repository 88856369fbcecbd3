"""A conversation's review state ("needs review" / "reviewed") and its tags."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import List, Optional, Tuple

import sqlalchemy as sa

from clinic_assistant.console import tables


def review_and_tags(sender_id: str, db_url: str) -> Tuple[Optional[str], List[str]]:
    """The conversation's review state (or None) and its tags, sorted."""
    with tables.get_engine(db_url).connect() as connection:
        state = connection.execute(
            sa.select(tables.reviews.c.state).where(tables.reviews.c.conversation_id == sender_id)
        ).scalar()
        tags = [
            str(row.tag)
            for row in connection.execute(
                sa.select(tables.tags.c.tag)
                .where(tables.tags.c.conversation_id == sender_id)
                .order_by(tables.tags.c.tag)
            )
        ]
    return (str(state) if state else None), tags


def set_review(sender_id: str, state: str, username: str, db_url: str) -> None:
    """Set the review state (one of ``tables.REVIEW_STATES``)."""
    now = datetime.now(timezone.utc)
    r = tables.reviews
    with tables.get_engine(db_url).begin() as connection:
        changed = connection.execute(
            r.update()
            .where(r.c.conversation_id == sender_id)
            .values(state=state, updated_by=username, updated_at=now)
        ).rowcount
        if not changed:
            connection.execute(
                r.insert().values(
                    conversation_id=sender_id, state=state, updated_by=username, updated_at=now
                )
            )


def set_tag(sender_id: str, tag: str, add: bool, username: str, db_url: str) -> None:
    """Add (or remove) one tag."""
    t = tables.tags
    with tables.get_engine(db_url).begin() as connection:
        exists = connection.execute(
            sa.select(t.c.tag).where(t.c.conversation_id == sender_id, t.c.tag == tag)
        ).first()
        if add and exists is None:
            connection.execute(
                t.insert().values(
                    conversation_id=sender_id,
                    tag=tag,
                    added_by=username,
                    added_at=datetime.now(timezone.utc),
                )
            )
        elif not add and exists is not None:
            connection.execute(t.delete().where(t.c.conversation_id == sender_id, t.c.tag == tag))
