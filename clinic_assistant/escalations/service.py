"""The escalation service: validate, record, notify, write back; and staff's actions.

One path for every escalation::

    report()  ->  (background)  store.record  ->  notifier.notify  ->  store.update_notification

:meth:`EscalationService.report` returns the escalation's reference at once and
does the rest in a background task, so the patient's reply never waits on the
database or the clinic's mail server. Repeats in one conversation are written
one after another (a lock per conversation) and merged by the store.

What a message says is checked here, whoever sent it: symptom names not in the
red-flag lexicon are dropped (never stored), the level is one of the contract's
and never lower than the lexicon's level of a named symptom.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Dict, List, Mapping, Optional, Set

from clinic_assistant.contract import EMERGENCY, LEVELS, RedFlag
from clinic_assistant.escalations import store
from clinic_assistant.escalations.model import Escalation, is_ref, new_ref
from clinic_assistant.escalations.notifier import Notifier
from clinic_assistant.settings import Settings, get_settings

logger = logging.getLogger(__name__)

#: Channel names are Rasa's (``rest``, ``socketio``, ...): anything longer is not one.
MAX_CHANNEL_CHARS = 32


@lru_cache(maxsize=1)
def lexicon_levels() -> Dict[str, str]:
    """Canonical symptom name -> level, from the red-flag lexicon (read once)."""
    from clinic_assistant.red_flags.lexicon import load_lexicon

    return {symptom.name: symptom.level for symptom in load_lexicon().symptoms}


def _higher(first: str, second: str) -> str:
    return first if LEVELS.index(first) <= LEVELS.index(second) else second


class EscalationService:
    """Records escalations and tells the clinic; holds no per-conversation state
    beyond the locks of conversations being written right now."""

    def __init__(
        self,
        settings: Settings,
        *,
        notifier: Optional[Notifier] = None,
        levels: Optional[Mapping[str, str]] = None,
    ) -> None:
        """``levels``: symptom -> level (default: the lexicon's)."""
        self._settings = settings
        self._notifier = notifier or Notifier(settings)
        self._levels = dict(levels) if levels is not None else lexicon_levels()
        self._locks: Dict[str, asyncio.Lock] = {}
        self._users: Dict[str, int] = {}
        self._tasks: Set[asyncio.Task[Any]] = set()

    # --- From the conversation --------------------------------------------------
    @property
    def settings(self) -> Settings:
        """The settings this service was made with."""
        return self._settings

    def sighting(
        self,
        *,
        conversation_id: str,
        channel: Optional[str],
        red_flag: Optional[RedFlag],
        message: str,
        ref: Optional[str] = None,
        at: Optional[datetime] = None,
    ) -> Escalation:
        """The escalation one message reports, checked against the lexicon."""
        level = red_flag.level if red_flag is not None and red_flag.level in LEVELS else EMERGENCY
        named = red_flag.symptoms if red_flag is not None else ()
        symptoms = tuple(dict.fromkeys(name for name in named if name in self._levels))
        if len(symptoms) < len(set(named)):
            # Only the count: the unknown "names" may be anybody's text.
            logger.warning(
                "Escalation: %d symptom name(s) not in the lexicon dropped",
                len(set(named)) - len(symptoms),
            )
        for name in symptoms:
            level = _higher(level, self._levels[name])
        when = at or datetime.now(timezone.utc)
        return Escalation(
            ref=ref if is_ref(ref) else new_ref(),
            conversation_id=str(conversation_id),
            channel=str(channel)[:MAX_CHANNEL_CHARS] if channel else None,
            level=level,
            symptoms=symptoms,
            message=str(message or ""),
            created_at=when,
            last_seen_at=when,
            notification_status=self._notifier.initial_status,
        )

    def report(self, sighting: Escalation) -> str:
        """Record and notify in the background; the reference, at once.

        Must be called from a running event loop (the action server's).
        """
        task = asyncio.get_running_loop().create_task(
            self.handle(sighting), name=f"escalation-{sighting.ref}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return sighting.ref

    async def handle(self, sighting: Escalation) -> Optional[store.Recorded]:
        """Record ``sighting`` (merged with its conversation's), then notify if worth it.

        Never raises (except on cancellation). If the record cannot be written
        the clinic is notified anyway (``escalation_id`` null): a danger sign
        that reaches staff without a row is far better than one reaching nobody.
        """
        key = sighting.conversation_id
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                recorded: Optional[store.Recorded] = await asyncio.to_thread(
                    store.record,
                    sighting,
                    max_new_per_day=self._settings.escalation_max_records_per_conversation,
                    db_url=self._settings.db_url,
                )
        except Exception as error:  # noqa: BLE001 - any failure: notify without a row
            recorded = None
            # The error text carries no message: the engine hides SQL parameters.
            logger.error(
                "A %s escalation could not be recorded (%s: %s); notifying the clinic anyway",
                sighting.level,
                type(error).__name__,
                error,
            )
            if not self._notifier.configured:
                logger.critical(
                    "A %s escalation was neither recorded nor sent to the clinic: "
                    "no webhook or email is configured",
                    sighting.level,
                )
        finally:
            # Forget the lock once nobody holds or awaits it: bounded by the
            # conversations being written right now.
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]
        if recorded is None:
            await self._notifier.notify(sighting)
        elif recorded.worth_a_notice:
            await self._notifier.notify(recorded.escalation)
        return recorded

    def pending(self) -> Set[asyncio.Task[Any]]:
        """Records and notices still under way (for tests and a clean shutdown)."""
        return set(self._tasks)

    async def drain(self, timeout_s: Optional[float] = None) -> bool:
        """Wait for the work under way; False if some was still running at the timeout."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout_s is None else loop.time() + timeout_s
        while tasks := self.pending():
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return False
            await asyncio.wait(tasks, timeout=remaining)
        return True

    # --- Staff --------------------------------------------------------------------
    def acknowledge(
        self, escalation_id: int, by: str, *, at: Optional[datetime] = None
    ) -> Optional[Escalation]:
        """``by`` has seen it (the first acknowledgement wins); None if there is no such one."""
        return store.acknowledge(escalation_id, by, at=at, db_url=self._settings.db_url)

    def resolve(
        self, escalation_id: int, by: str, note: str, *, at: Optional[datetime] = None
    ) -> Optional[Escalation]:
        """``by`` closed it, saying what was done in ``note``; None if there is no such one."""
        return store.resolve(escalation_id, by, note, at=at, db_url=self._settings.db_url)

    def open_escalations(self, limit: int = 100) -> List[Escalation]:
        """Not yet resolved, latest message first."""
        return store.list_escalations(limit=limit, open_only=True, db_url=self._settings.db_url)

    def stale_notices(self, now: Optional[datetime] = None) -> List[Escalation]:
        """Notices pending longer than ``ESCALATION_PENDING_STALE_MINUTES``: never sent."""
        age = timedelta(minutes=self._settings.escalation_pending_stale_minutes)
        return store.stale_pending(age, now=now, db_url=self._settings.db_url)


_current: List[EscalationService] = []


def get_service() -> EscalationService:
    """The process's service for the current settings, made on first use."""
    settings = get_settings()
    if not _current or _current[0].settings is not settings:
        _current[:] = [EscalationService(settings)]
    return _current[0]
