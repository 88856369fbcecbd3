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
* composes the yes/no safety question (``utter_safety_question_<level>``, when
  the safety net was unsure whether a message describes a danger sign now): the
  safety line of its level first, then the answer the patient asked for, if the
  NLU had one, then the question with its Yes / No buttons;
* keeps an escalated session escalated: until the patient says help has come or
  it has passed (``red_flag_all_clear``), each later turn's first reply starts with
  the short reminder of the instruction (``utter_escalation_reminder_<level>``);
* answers in Spanish where the message was Spanish and the response has a
  Spanish variant (``<name>_es``).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from clinic_assistant.channels.twilio_text import CHANNEL as TWILIO_CHANNEL
from clinic_assistant.contract import (
    ALL_CLEAR_ENDS_KEY,
    ALL_CLEAR_INTENT,
    ANSWER_OPTIONS_KEY,
    CLARIFY_RESPONSE,
    DENY_INTENT,
    EMERGENCY,
    ESCALATION_KEY,
    LEVELS,
    PAYLOAD_ANSWER,
    PAYLOAD_LEVEL,
    PAYLOAD_SYMPTOMS,
    RED_FLAG_CHECK_KEY,
    REMINDER_BY_LEVEL,
    SAFETY_LINE_BY_LEVEL,
    SAFETY_QUESTION_BY_LEVEL,
    SPANISH,
    SPANISH_SUFFIX,
    confirmed_red_flag,
    language_of,
)
from clinic_assistant.settings import get_settings

CLARIFY = CLARIFY_RESPONSE
CLARIFY_REPHRASE = "utter_clarify_rephrase"
SOMETHING_ELSE = {"title": "Something else", "payload": "/deny"}
LEVEL_OF_QUESTION = {name: level for level, name in SAFETY_QUESTION_BY_LEVEL.items()}
SESSION_START = "action_session_start"
UNREADABLE = "utter_unreadable"
ALL_CLEAR_REPLY = "utter_all_clear"
#: Replies that ask an English speaker to rephrase or choose: for a Spanish
#: message, the notice to call the clinic (in Spanish) instead.
NOT_UNDERSTOOD = frozenset(
    {CLARIFY, CLARIFY_REPHRASE, "utter_ask_rephrase", "utter_no_luck", "utter_out_of_scope"}
)


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
        language = language_of(parse_data)

        def render(name: str) -> Optional[Dict[str, Any]]:
            spanish = f"{name}{SPANISH_SUFFIX}"
            if language == SPANISH and spanish in self.responses:
                name = spanish
            return self.generate_from_slots(name, slots, output_channel, **values)

        def text_of(name: str) -> str:
            rendered = render(name)
            return str(rendered.get("text") or "") if rendered else ""

        if language == SPANISH and utter_action in NOT_UNDERSTOOD:
            # A Spanish question it could not place: the kind notice, in Spanish.
            utter_action = UNREADABLE
        buttons = self.clarify_buttons(parse_data) if utter_action == CLARIFY else []
        if utter_action == CLARIFY and len(buttons) == 1:
            # Only "Something else" is left: a choice of nothing helps no one.
            return render(CLARIFY_REPHRASE)
        message = render(utter_action)
        if message is None:
            return None
        appended = (message.get("metadata") or {}).pop("append", None)
        if appended:
            note = text_of(appended)
            if note:
                message["text"] = f"{message.get('text', '')}\n\n{note}"
        if utter_action == CLARIFY:
            message["buttons"] = buttons
        if utter_action in LEVEL_OF_QUESTION:
            message["text"] = self.safety_question_text(
                LEVEL_OF_QUESTION[utter_action], parse_data, message, text_of
            )
        escalation = (message.get("custom") or {}).get(ESCALATION_KEY)
        if escalation is not None:
            red_flag = confirmed_red_flag(parse_data, _previous_parse_data(tracker))
            escalation[PAYLOAD_SYMPTOMS] = list(red_flag.symptoms) if red_flag else []
        elif _first_reply_of_turn(tracker):
            level = escalated_level(tracker)
            if level is not None and not ends(parse_data, level):
                reminder = text_of(REMINDER_BY_LEVEL[level])
                if reminder and utter_action == ALL_CLEAR_REPLY:
                    # "I called the clinic" in an emergency: no "I'm glad", only the reminder.
                    message["text"] = reminder
                elif reminder:
                    message["text"] = f"{reminder}\n\n{message.get('text', '')}".rstrip()
            asked = unanswered_question_level(tracker)
            intent = (parse_data.get("intent") or {}).get("name")
            if (
                level is None
                and asked is not None
                and intent not in (DENY_INTENT, ALL_CLEAR_INTENT)
                and utter_action not in LEVEL_OF_QUESTION
            ):
                # "Is this happening now?" -> "can it wait till monday?": not a no,
                # so what to do if it is happening now comes first again.
                line = text_of(SAFETY_LINE_BY_LEVEL[asked])
                if line:
                    message["text"] = f"{line}\n\n{message.get('text', '')}".rstrip()
        return message

    def safety_question_text(
        self,
        level: str,
        parse_data: Dict[str, Any],
        question: Dict[str, Any],
        text_of: Callable[[str], str],
    ) -> str:
        """Safety line, then the answer the NLU had chosen (if any), then the question."""
        parts = [text_of(SAFETY_LINE_BY_LEVEL[level])]
        check = parse_data.get(RED_FLAG_CHECK_KEY)
        answer = check.get(PAYLOAD_ANSWER) if isinstance(check, dict) else None
        if isinstance(answer, str) and f"utter_{answer}" in self.responses:
            parts.append(text_of(f"utter_{answer}"))
        parts.append(str(question.get("text") or ""))
        return "\n\n".join(part for part in parts if part)

    def clarify_buttons(self, parse_data: Dict[str, Any]) -> List[Dict[str, str]]:
        """The AnswerGate's options as buttons, then "Something else"."""
        buttons = [
            {"title": self.titles[option["payload"]], "payload": option["payload"]}
            for option in parse_data.get(ANSWER_OPTIONS_KEY) or []
            if option.get("payload") in self.titles
        ]
        return [*buttons, dict(SOMETHING_ELSE)]


def ends(parse_data: Dict[str, Any], level: str) -> bool:
    """Whether the patient's message ends an escalated state of ``level``.

    Help that has come ends any; reaching the clinic (``ALL_CLEAR_ENDS_KEY`` "urgent")
    ends only an urgent one. An all clear without the key (older events) ends any.
    """
    if ((parse_data or {}).get("intent") or {}).get("name") != ALL_CLEAR_INTENT:
        return False
    ended = parse_data.get(ALL_CLEAR_ENDS_KEY) or EMERGENCY
    if ended not in LEVELS:
        return False
    return LEVELS.index(level) >= LEVELS.index(ended)


def escalated_level(tracker: DialogueStateTracker) -> Optional[str]:
    """The highest level escalated earlier in this session and not cleared since.

    Read from the replies themselves (the escalation payload in ``custom``), so a
    session escalated by any path stays escalated; the patient's all clear
    (``red_flag_all_clear``) ends it. The current turn is not counted.
    """
    level: Optional[str] = None
    events = list(tracker.events)
    latest = max(
        (i for i, event in enumerate(events) if isinstance(event, UserUttered)), default=None
    )
    for event in events[:latest]:
        if isinstance(event, ActionExecuted) and event.action_name == SESSION_START:
            level = None
        elif isinstance(event, UserUttered):
            if level is not None and ends(event.parse_data, level):
                level = None
        elif isinstance(event, BotUttered):
            found = ((event.data or {}).get("custom") or {}).get(ESCALATION_KEY) or {}
            new = found.get(PAYLOAD_LEVEL) if isinstance(found, dict) else None
            if new in LEVELS and (level is None or LEVELS.index(new) < LEVELS.index(level)):
                level = str(new)
    return level


def _previous_parse_data(tracker: DialogueStateTracker) -> Dict[str, Any]:
    """The parse data of the patient's message before the latest one ({} if none)."""
    seen = 0
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            seen += 1
            if seen == 2:
                return dict(event.parse_data)
    return {}


def unanswered_question_level(tracker: DialogueStateTracker) -> Optional[str]:
    """The level of the safety question the bot asked just before the latest message.

    None when the bot's last reply before it was anything else (or there is none).
    """
    seen_user = False
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            if seen_user:
                return None
            seen_user = True
        elif isinstance(event, BotUttered) and seen_user:
            return LEVEL_OF_QUESTION.get(str((event.metadata or {}).get("utter_action")))
    return None


def _first_reply_of_turn(tracker: DialogueStateTracker) -> bool:
    """True when the bot has said nothing since the patient's latest message."""
    for event in reversed(tracker.events):
        if isinstance(event, BotUttered):
            return False
        if isinstance(event, UserUttered):
            return True
    return True
