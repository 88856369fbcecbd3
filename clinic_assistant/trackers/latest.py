"""The channel of a conversation's latest patient message, without loading it all.

The REST channel checks, before each message, that the sender id is not another
channel's conversation. Reading the whole tracker for that doubled the store's work
per message and grew with the conversation's length (at turn 200, ~1,000 events
read back and replayed). For the SQL tracker store this reads one row: the latest
``user`` event of the sender, of any session (so a conversation id stays with the
channel that last used it, also just after a new session has started); any other
store is read the ordinary way.
"""

from __future__ import annotations

import json
from typing import Any, Optional, Tuple

from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.shared.core.events import UserUttered

#: (a patient message was found, its input channel)
Latest = Tuple[bool, Optional[str]]


def innermost(store: Any) -> Any:
    """The store under Rasa's wrappers (AwaitableTrackerStore, FailSafeTrackerStore)."""
    seen = 0
    while isinstance(getattr(store, "_tracker_store", None), TrackerStore) and seen < 5:
        store = store._tracker_store
        seen += 1
    return store


def _from_sql(store: SQLTrackerStore, sender: str) -> Latest:
    event = store.SQLEvent
    with store.session_scope() as session:
        row = (
            session.query(event.data)
            .filter(event.sender_id == sender, event.type_name == UserUttered.type_name)
            .order_by(event.id.desc())
            .first()
        )
    if row is None:
        return False, None
    data = json.loads(row[0]) if row[0] else {}
    channel = data.get("input_channel") if isinstance(data, dict) else None
    return True, channel if isinstance(channel, str) else None


async def latest_input_channel(store: Any, sender: str) -> Latest:
    """Whether ``sender`` has a patient message, and the channel of the latest one.

    Raises what the store raises (the caller decides what an outage means).
    """
    inner = innermost(store)
    if isinstance(inner, SQLTrackerStore):
        return _from_sql(inner, sender)
    tracker = await store.retrieve(sender)
    if tracker is None:
        return False, None
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            return True, event.input_channel
    return False, None
