"""ClinicNLG: Rasa's templated responses, completed in-process at reply time.

Configured in endpoints.yml (``nlg: type: clinic_assistant.nlg.ClinicNLG``). It
runs inside the Rasa server, so everything it adds reaches the patient even when
the action server is down. On top of the domain's templates it:

* fills ``{clinic_name}``, ``{clinic_phone}``, ``{clinic_hours}``,
  ``{clinic_after_hours}`` and ``{emergency_number}`` from the settings module;
* completes the escalation payload (its level is in the domain's response) with
  the canonical symptoms the red-flag detector found in the latest message;
* gives ``utter_clarify`` its buttons: the two likeliest answers from the
  AnswerGate, titled from the domain's own buttons, plus "Something else"; with
  no option worth offering it asks the patient to rephrase instead
  (``utter_clarify_rephrase``), never an empty choice;
* appends the response named by a response's ``metadata.append`` (the safety
  note after the side-effect answers);
* puts the safety line first in the turn's first reply when the safety net was
  unsure whether the message describes a danger sign now (``red_flag_check``).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from clinic_assistant.channels.twilio_text import CHANNEL as TWILIO_CHANNEL
from clinic_assistant.contract import (
    ANSWER_OPTIONS_KEY,
    CLARIFY_RESPONSE,
    ESCALATION_KEY,
    PAYLOAD_LEVEL,
    PAYLOAD_SYMPTOMS,
    RED_FLAG_CHECK_KEY,
    SAFETY_LINE_BY_LEVEL,
    red_flag_of,
)
from clinic_assistant.settings import get_settings

CLARIFY = CLARIFY_RESPONSE
CLARIFY_REPHRASE = "utter_clarify_rephrase"
SOMETHING_ELSE = {"title": "Something else", "payload": "/deny"}


def settings_values(output_channel: Optional[str] = None) -> Dict[str, str]:
    """The clinic facts that responses may name, from the single settings module.

    Text messages name the clinic by ``TWILIO_CLINIC_NAME`` (it may be neutral:
    texts show on lock screens).
    """
    settings = get_settings()
    clinic = settings.clinic
    sms = output_channel == TWILIO_CHANNEL and settings.twilio.clinic_name
    return {
        "clinic_name": settings.twilio.clinic_name if sms else clinic.name,
        "clinic_phone": clinic.phone,
        "clinic_hours": clinic.hours,
        "clinic_after_hours": clinic.after_hours,
        "emergency_number": clinic.emergency_number,
    }


def button_titles(responses: Dict[str, List[Dict[str, Any]]]) -> Dict[str, str]:
    """Payload -> title, from the first button in the domain that sends it."""
    titles: Dict[str, str] = {}
    for variations in responses.values():
        for variation in variations:
            for button in variation.get("buttons") or []:
                titles.setdefault(button["payload"], button["title"])
    return titles


class ClinicNLG(TemplatedNaturalLanguageGenerator):
    """Templated responses plus settings, escalation details and dynamic buttons."""

    def __init__(
        self,
        endpoint_config: Optional[EndpointConfig] = None,
        domain: Optional[Domain] = None,
    ) -> None:
        super().__init__((domain or Domain.empty()).responses)
        self._titles: Dict[str, str] = {}
        self._titles_of: Optional[Dict[str, List[Dict[str, Any]]]] = None

    @property
    def titles(self) -> Dict[str, str]:
        """Button titles of the domain's responses as they are now.

        Computed on use, not in ``__init__``: in the running server Rasa creates
        the NLG from an empty domain and assigns ``responses`` later
        (rasa/core/agent.py), so titles read at creation would all be missing.
        """
        if self._titles_of is not self.responses:
            self._titles = button_titles(self.responses)
            self._titles_of = self.responses
        return self._titles

    async def generate(
        self,
        utter_action: str,
        tracker: DialogueStateTracker,
        output_channel: str,
        **kwargs: Any,
    ) -> Optional[Dict[str, Any]]:
        """Render ``utter_action`` for the conversation in ``tracker``."""
        values = {**settings_values(output_channel), **kwargs}
        slots = tracker.current_slot_values()
        parse_data = tracker.latest_message.parse_data if tracker.latest_message else {}
        buttons = self.clarify_buttons(parse_data) if utter_action == CLARIFY else []
        if utter_action == CLARIFY and len(buttons) == 1:
            # Only "Something else" is left: a choice of nothing helps no one.
            return self.generate_from_slots(CLARIFY_REPHRASE, slots, output_channel, **values)
        message = self.generate_from_slots(utter_action, slots, output_channel, **values)
        if message is None:
            return None
        appended = (message.get("metadata") or {}).pop("append", None)
        if appended:
            note = self.generate_from_slots(appended, slots, output_channel, **values)
            if note and note.get("text"):
                message["text"] = f"{message.get('text', '')}\n\n{note['text']}"
        if utter_action == CLARIFY:
            message["buttons"] = buttons
        escalation = (message.get("custom") or {}).get(ESCALATION_KEY)
        if escalation is not None:
            red_flag = red_flag_of(parse_data)
            escalation[PAYLOAD_SYMPTOMS] = list(red_flag.symptoms) if red_flag else []
        else:
            line = self.safety_line(parse_data, tracker, slots, output_channel, values)
            if line:
                message["text"] = f"{line}\n\n{message.get('text', '')}".rstrip()
        return message

    def safety_line(
        self,
        parse_data: Dict[str, Any],
        tracker: DialogueStateTracker,
        slots: Dict[str, Any],
        output_channel: str,
        values: Dict[str, Any],
    ) -> Optional[str]:
        """The safety line for an unsure red flag, for the turn's first reply only."""
        check = parse_data.get(RED_FLAG_CHECK_KEY)
        if not isinstance(check, dict):
            return None
        response = SAFETY_LINE_BY_LEVEL.get(str(check.get(PAYLOAD_LEVEL)))
        if response is None or not _first_reply_of_turn(tracker):
            return None
        line = self.generate_from_slots(response, slots, output_channel, **values)
        return str(line["text"]) if line and line.get("text") else None

    def clarify_buttons(self, parse_data: Dict[str, Any]) -> List[Dict[str, str]]:
        """The AnswerGate's options as buttons, then "Something else"."""
        buttons = [
            {"title": self.titles[option["payload"]], "payload": option["payload"]}
            for option in parse_data.get(ANSWER_OPTIONS_KEY) or []
            if option.get("payload") in self.titles
        ]
        return [*buttons, dict(SOMETHING_ELSE)]


def _first_reply_of_turn(tracker: DialogueStateTracker) -> bool:
    """True when the bot has said nothing since the patient's latest message."""
    for event in reversed(tracker.events):
        if isinstance(event, BotUttered):
            return False
        if isinstance(event, UserUttered):
            return True
    return True
