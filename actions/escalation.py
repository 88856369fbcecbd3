"""``action_record_escalation``: hand a red-flag message to the escalation service.

The rules in data/rules/red_flags.yml run it right after the escalation
instructions (a domain response), so by then the patient has been told what to
do. With the REST and SMS channels the patient's reply leaves the Rasa server
only once every action of the turn has finished, so this action waits for
nothing: :class:`~clinic_assistant.escalations.service.EscalationService`
records, merges and notifies in the background, and the action returns the
escalation's reference into the conversation (slot ``escalation_ref``), where
staff tools find it. Repeats in one conversation reuse the slot's reference.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from clinic_assistant.contract import (
    ESCALATION_REF_SLOT,
    RECORD_ESCALATION_ACTION,
    confirmed_red_flag,
)
from clinic_assistant.escalations.service import get_service

logger = logging.getLogger(__name__)


class ActionRecordEscalation(Action):
    """Reports the latest message's red flag to the escalation service; see the module doc."""

    def name(self) -> str:
        """The name the domain and the rules use."""
        return RECORD_ESCALATION_ACTION

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[EventType]:
        """Schedule the record and the notice; the reference as a slot, at once."""
        try:
            latest = tracker.latest_message or {}
            red_flag = confirmed_red_flag(latest, _previous_parse_data(tracker))
            if red_flag is None:
                # Ran after another intent (e.g. from a story): when in doubt, escalate.
                # (A "yes" to the safety question carries the flag it confirms.)
                logger.warning(
                    "%s ran without a red flag in the latest message; recording it as an emergency",
                    RECORD_ESCALATION_ACTION,
                )
            service = get_service()
            ref = service.report(
                service.sighting(
                    conversation_id=str(tracker.sender_id),
                    channel=tracker.get_latest_input_channel(),
                    red_flag=red_flag,
                    message=str(latest.get("text") or ""),
                    ref=tracker.get_slot(ESCALATION_REF_SLOT),
                )
            )
        except Exception:
            # The patient already has the instructions; an error here would only
            # add a failed action to their conversation.
            logger.exception("%s failed", RECORD_ESCALATION_ACTION)
            return []
        return [SlotSet(ESCALATION_REF_SLOT, ref)]


def _previous_parse_data(tracker: Tracker) -> Dict[str, Any]:
    """The parse data of the patient's message before the latest one ({} if none)."""
    users = [event for event in tracker.events if event.get("event") == "user"]
    if len(users) < 2:
        return {}
    return dict(users[-2].get("parse_data") or {})
