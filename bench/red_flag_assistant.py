"""`make bench`, red-flag section: the whole assistant over REST, on the same sets.

The safety net alone (bench/red_flags.py) cannot show what only the running
assistant does: the yes/no safety question, the risk answer a risk question gets,
and an escalated conversation that keeps the instruction. This plays each message
of a set in a fresh conversation, and each labelled conversation in one session,
against real Rasa and action servers on a throwaway database, and reads the replies:

* ``level``: the escalation payload's level (GUIDE contract), or "none";
* ``asked``: the reply offers the safety question's Yes button (``/affirm``);
* ``answer``: the curated answer whose text the reply contains (``faq/<topic>``);
* ``keeps_instruction``: the reply repeats the instruction (an escalation, or the
  reminder ClinicNLG puts first in an escalated session).

Only aggregate figures of the untouched set are written, never its messages.
"""

from __future__ import annotations

import json
import tempfile
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, Generator, List, Sequence, Tuple

import yaml

from clinic_assistant.contract import (
    AFFIRM_INTENT,
    ESCALATION_KEY,
    PAYLOAD_LEVEL,
    REMINDER_BY_LEVEL,
    SPANISH_SUFFIX,
)
from clinic_assistant.servers import DEFAULT_MODEL, action_server, local_settings, rasa_server
from clinic_assistant.settings import PROJECT_ROOT
from evaluation.red_flags import NONE, Outcome, TurnReply

Reply = List[Dict[str, Any]]


def _responses() -> Dict[str, List[Dict[str, Any]]]:
    merged: Dict[str, List[Dict[str, Any]]] = {}
    for path in sorted((PROJECT_ROOT / "domain").glob("*.yml")):
        merged.update((yaml.safe_load(path.read_text("utf-8")) or {}).get("responses") or {})
    return merged


class Reader:
    """Reads an assistant's reply as the scoring needs it."""

    def __init__(self) -> None:
        responses = _responses()
        self.answers: List[Tuple[str, str]] = [
            (name[len("utter_") :], str(variations[0].get("text") or "")[:60])
            for name, variations in responses.items()
            if name.startswith("utter_faq/")
        ]
        # The reminders' first words, English and Spanish (before any placeholder).
        self.reminders = [
            str(responses[name][0]["text"]).split("{", 1)[0][:40]
            for level_name in REMINDER_BY_LEVEL.values()
            for name in (level_name, f"{level_name}{SPANISH_SUFFIX}")
            if name in responses
        ]

    @staticmethod
    def level(reply: Reply) -> str:
        for message in reply:
            found = (message.get("custom") or {}).get(ESCALATION_KEY)
            if isinstance(found, dict) and found.get(PAYLOAD_LEVEL):
                return str(found[PAYLOAD_LEVEL])
        return NONE

    @staticmethod
    def asked(reply: Reply) -> bool:
        return any(
            button.get("payload") == f"/{AFFIRM_INTENT}"
            for message in reply
            for button in message.get("buttons") or []
        )

    def answer(self, reply: Reply) -> str:
        text = "\n".join(str(message.get("text") or "") for message in reply)
        for key, start in self.answers:
            if start and start in text:
                return key
        return NONE

    def keeps_instruction(self, reply: Reply) -> bool:
        text = "\n".join(str(message.get("text") or "") for message in reply)
        return self.level(reply) != NONE or any(start in text for start in self.reminders)


class Assistant:
    """Real Rasa and action servers on free ports and a throwaway database."""

    def __init__(self, work: Path) -> None:
        settings = local_settings(f"sqlite:///{work / 'assistant.db'}")
        self.port = settings.rasa_port
        self._actions = action_server(settings, work / "actions.log")
        self._rasa = rasa_server(settings, work / "rasa.log", DEFAULT_MODEL)
        self._count = 0

    def __enter__(self) -> Assistant:
        self._actions.start()
        self._rasa.start(timeout_s=600)
        return self

    def __exit__(self, *_: Any) -> None:
        self._rasa.stop()
        self._actions.stop()

    def session(self) -> str:
        self._count += 1
        return f"bench-red-flags-{self._count}"

    def say(self, sender: str, text: str) -> Reply:
        body = json.dumps({"sender": sender, "message": text}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/webhooks/rest/webhook",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        # Our own server on loopback, never user input.
        with urllib.request.urlopen(request, timeout=120) as response:
            return list(json.loads(response.read() or b"[]"))


def case_system(assistant: Assistant, reader: Reader) -> Callable[[str], Outcome]:
    """One message per fresh conversation -> what the assistant did."""

    def run(text: str) -> Outcome:
        reply = assistant.say(assistant.session(), text)
        return Outcome(
            level=reader.level(reply), asked=reader.asked(reply), answer=reader.answer(reply)
        )

    return run


def conversation_runner(
    assistant: Assistant, reader: Reader
) -> Callable[[Sequence[str]], Sequence[TurnReply]]:
    """A conversation's user turns in one session -> what each reply did."""

    def run(turns: Sequence[str]) -> Sequence[TurnReply]:
        sender = assistant.session()
        out = []
        for text in turns:
            reply = assistant.say(sender, text)
            out.append(
                TurnReply(
                    level=reader.level(reply),
                    keeps_instruction=reader.keeps_instruction(reply),
                    asked=reader.asked(reply),
                )
            )
        return out

    return run


def running_assistant() -> Generator[Tuple[Assistant, Reader], None, None]:
    """The assistant for the section's duration (a generator: stop it with close())."""
    with tempfile.TemporaryDirectory(prefix="bench-red-flags-") as folder:
        with Assistant(Path(folder)) as assistant:
            yield assistant, Reader()
