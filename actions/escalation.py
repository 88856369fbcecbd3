"""``action_record_escalation``: record a red-flag message and tell the clinic.

The rules in data/rules/red_flags.yml run it right after the escalation
instructions (a domain response), so by then the patient has been told what to
do. This action therefore sends the patient nothing, and it must not hold up
the turn: with the REST and SMS channels the patient's reply leaves the Rasa
server only once every action of the turn has finished.

So ``run``:

1. reads the level, symptoms, message, sender and channel from the tracker;
2. writes the record in a worker thread, waiting for it at most
   :data:`RECORD_WAIT_S` (a few milliseconds normally; a hung database only
   delays the record, never the reply);
3. leaves the notice to the clinic to a background task, and returns ``[]``.

If the record cannot be written, the clinic is notified anyway (the notice
then says "not recorded"): a danger sign that reaches staff without a database
row is far better than one that reaches nobody.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, List, Optional, Set, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from clinic_assistant.contract import RECORD_ESCALATION_ACTION, red_flag_of
from clinic_assistant.escalations import store
from clinic_assistant.escalations.notifier import EscalationNotice, Notifier
from clinic_assistant.settings import get_settings

logger = logging.getLogger(__name__)

ACTION_NAME = RECORD_ESCALATION_ACTION
#: The level when the latest intent is not a red-flag one (the action ran anyway,
#: e.g. from a story): when in doubt, escalate.
FALLBACK_LEVEL = "emergency"
#: Longest time ``run`` waits for the database before letting the turn go on.
RECORD_WAIT_S = 2.0

# Background tasks must stay referenced until done: the event loop keeps only a
# weak reference, and a collected task would silently drop its notice.
_background_tasks: Set[asyncio.Task[Any]] = set()


def background_tasks() -> Set[asyncio.Task[Any]]:
    """The records and notices still under way (for tests and a clean shutdown)."""
    return set(_background_tasks)


def _keep(task: asyncio.Task[Any]) -> None:
    _background_tasks.add(task)
    task.add_done_callback(_background_tasks.discard)


@dataclass(frozen=True)
class Escalation:
    """What the latest message tells about the danger sign."""

    conversation_id: str
    channel: Optional[str]
    level: str
    symptoms: Tuple[str, ...]
    message: str
    created_at: datetime

    def notice(self, escalation_id: Optional[int]) -> EscalationNotice:
        """The notice for the clinic: everything but the message."""
        return EscalationNotice(
            escalation_id=escalation_id,
            created_at=self.created_at,
            level=self.level,
            symptoms=self.symptoms,
            channel=self.channel,
            conversation_id=self.conversation_id,
        )


def escalation_from_tracker(tracker: Tracker) -> Escalation:
    """Read the escalation from the tracker's latest message."""
    latest = tracker.latest_message or {}
    red_flag = red_flag_of(latest)
    if red_flag is None:
        intent = (latest.get("intent") or {}).get("name")
        logger.warning(
            "%s ran after intent %r; recording it as %s", ACTION_NAME, intent, FALLBACK_LEVEL
        )
    return Escalation(
        conversation_id=str(tracker.sender_id),
        channel=tracker.get_latest_input_channel(),
        level=red_flag.level if red_flag else FALLBACK_LEVEL,
        symptoms=red_flag.symptoms if red_flag else (),
        message=str(latest.get("text") or ""),
        created_at=datetime.now(timezone.utc),
    )


async def _notify_when_recorded(
    recording: asyncio.Task[int], escalation: Escalation, notifier: Notifier
) -> None:
    """Wait for the record, then notify the clinic, with or without it."""
    escalation_id: Optional[int]
    try:
        escalation_id = await recording
    except Exception as error:  # noqa: BLE001 - any failure: notify without an id
        escalation_id = None
        # The error text carries no message: the engine hides SQL parameters.
        logger.error(
            "A %s escalation could not be recorded (%s: %s); notifying the clinic anyway",
            escalation.level,
            type(error).__name__,
            error,
        )
        if not notifier.configured:
            logger.critical(
                "A %s escalation was neither recorded nor sent to the clinic: "
                "no webhook or email is configured",
                escalation.level,
            )
    await notifier.notify(escalation.notice(escalation_id))


class ActionRecordEscalation(Action):
    """Records a red-flag escalation and notifies the clinic in the background."""

    def name(self) -> str:
        """The name the domain and the rules use."""
        return ACTION_NAME

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[EventType]:
        """Record, schedule the notice, return at once; never message the patient."""
        try:
            settings = get_settings()
            escalation = escalation_from_tracker(tracker)
            notifier = Notifier(settings)
            recording = asyncio.create_task(
                asyncio.to_thread(
                    store.record_escalation,
                    conversation_id=escalation.conversation_id,
                    channel=escalation.channel,
                    level=escalation.level,
                    symptoms=escalation.symptoms,
                    message=escalation.message,
                    notification_status=notifier.initial_status,
                    created_at=escalation.created_at,
                    db_url=settings.db_url,
                ),
                name="escalation-record",
            )
            _keep(recording)
            _keep(
                asyncio.create_task(
                    _notify_when_recorded(recording, escalation, notifier),
                    name="escalation-notify",
                )
            )
            # asyncio.wait does not cancel on timeout: a slow record still completes
            # (and is then notified) after the patient's turn has moved on.
            await asyncio.wait({recording}, timeout=RECORD_WAIT_S)
            if not recording.done():
                logger.warning(
                    "Escalation record still being written after %.1f s; not holding up the reply",
                    RECORD_WAIT_S,
                )
        except Exception:
            # Whatever went wrong, the patient already has the instructions; an
            # error here would only add a failed action to their conversation.
            logger.exception("%s failed", ACTION_NAME)
        return []
