"""Rasa's SQL tracker store, reading only what is new since the last turn.

``SQLTrackerStore.retrieve`` reads every event of the session from the database,
decodes each one's JSON and rebuilds the events, at every message: at turn 200 of a
conversation that was most of the turn's cost (bench/report/lean_server.md).
:class:`CachingSQLTrackerStore` keeps the events of the current session of recently
active conversations, in this process, with the database id of the last one, and at
each retrieve asks the database only for

* how many rows of the conversation there are up to that id (the same number as kept,
  or the cache is dropped: a purge by the staff console, or anything else that
  removed rows), and
* the rows after it (written since, by this replica or another), decoded alone.

A new session among those rows, or no cache, reads the session whole, as Rasa does.
So what it returns is what ``SQLTrackerStore`` would return, rebuilt from the same
events; replicas stay correct because every read asks the database what is new
(the conversation lock keeps two replicas from writing one conversation at once).
Saving writes the events after the kept ones, as Rasa's ``save`` does, without
Rasa's count of the session's rows (a query over the conversation's every event)
when the tracker is the one built from the kept session; any other tracker is saved
by Rasa's own code. On SQLite the database is put in WAL mode: a commit then costs
one sync of the log instead of the rollback journal's several, and readers (the
staff console, the action server) no longer block the writer.
:func:`clinic_assistant.runtime.install` makes it the store of
``tracker_store: {type: SQL}``.

The kept events are shared with the trackers built from them; Rasa rebuilds a tracker
by replaying its events, which gives the same state from the same events.
"""

from __future__ import annotations

import itertools
import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, List, Optional

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event, SessionStarted, deserialise_events
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

# Conversations kept per process (least recently used dropped first).
CACHE_SIZE = 256


@dataclass
class _Session:
    """The events of a conversation's current session, as the database holds them."""

    events: List[Event]
    first_id: int
    last_id: int


class CachingSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` whose ``retrieve`` reads only the new rows (module docstring)."""

    def __init__(self, *args: Any, cache_size: int = CACHE_SIZE, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cache_size = cache_size
        self._sessions: OrderedDict[str, _Session] = OrderedDict()
        if self.engine.dialect.name == "sqlite":
            with self.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA journal_mode=WAL")

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Writes the events after the kept session's (Rasa's ``save`` for any other)."""
        kept = self._sessions.get(tracker.sender_id)
        if kept is None or not _extends(tracker, kept.events):
            self._sessions.pop(tracker.sender_id, None)
            await super().save(tracker)
            return
        await self.stream_events(tracker)
        new = list(itertools.islice(tracker.events, len(kept.events), len(tracker.events)))
        with self.session_scope() as session:
            rows = [self._row(tracker.sender_id, event) for event in new]
            session.add_all(rows)
            session.flush()  # gives the rows their ids
            last_id = rows[-1].id if rows else kept.last_id
            session.commit()
        if any(isinstance(event, SessionStarted) for event in new):
            self._sessions.pop(tracker.sender_id, None)  # a new session: read it whole
        else:
            kept.events.extend(new)
            kept.last_id = last_id

    def _row(self, sender_id: str, event: Event) -> Any:
        """The database row of ``event``, as Rasa's ``SQLTrackerStore.save`` makes it."""
        data = event.as_dict()
        return self.SQLEvent(
            sender_id=sender_id,
            type_name=event.type_name,
            timestamp=data.get("timestamp"),
            intent_name=data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            action_name=data.get("name"),
            data=json.dumps(data),
        )

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        """The tracker of the latest session, as ``SQLTrackerStore.retrieve`` gives it."""
        with self.session_scope() as session:
            kept = self._sessions.pop(sender_id, None)
            if kept is not None:
                kept = self._brought_up_to_date(session, sender_id, kept)
            if kept is None:
                kept = self._read_whole(session, sender_id)
        if kept is None or not kept.events:
            return None
        self._sessions[sender_id] = kept
        while len(self._sessions) > self.cache_size:
            self._sessions.popitem(last=False)
        if self.domain is None:
            return None
        return DialogueStateTracker.from_events(sender_id, kept.events, self.domain.slots)

    def _brought_up_to_date(
        self, session: Any, sender_id: str, kept: _Session
    ) -> Optional[_Session]:
        """``kept`` with the rows written since, or None when it no longer matches."""
        event = self.SQLEvent
        count = (
            session.query(event.id)
            .filter(
                event.sender_id == sender_id, event.id >= kept.first_id, event.id <= kept.last_id
            )
            .count()
        )
        if count != len(kept.events):
            return None
        rows = (
            session.query(event.id, event.type_name, event.data)
            .filter(event.sender_id == sender_id, event.id > kept.last_id)
            .order_by(event.id)
            .all()
        )
        if any(row.type_name == SessionStarted.type_name for row in rows):
            return None  # a new session: read it whole
        if rows:
            kept.events.extend(_events(row.data for row in rows))
            kept.last_id = rows[-1].id
        return kept

    def _read_whole(self, session: Any, sender_id: str) -> Optional[_Session]:
        """The current session from the database, as Rasa's own query selects it."""
        event = self.SQLEvent
        rows = (
            self._event_query(session, sender_id, fetch_events_from_all_sessions=False)
            .with_entities(event.id, event.data)
            .all()
        )
        if not rows:
            return None
        return _Session(_events(row.data for row in rows), rows[0].id, rows[-1].id)


def _events(data: Any) -> List[Event]:
    """Rasa's events from their stored JSON, as ``SQLTrackerStore`` reads them."""
    return list(deserialise_events([json.loads(text) for text in data]))


def _extends(tracker: DialogueStateTracker, kept: List[Event]) -> bool:
    """Whether ``tracker`` was built from ``kept`` (the same event objects first)."""
    n = len(kept)
    events = tracker.events
    return n > 0 and len(events) >= n and events[0] is kept[0] and events[n - 1] is kept[-1]
