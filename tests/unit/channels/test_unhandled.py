"""A message Rasa could not handle: danger signs still read, the patient still told.

The rules-only safety net reads them here (tests/unit/channels/conftest.py).
"""

from __future__ import annotations

from typing import Any, List

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.shared.core.domain import Domain

from clinic_assistant.channels import unhandled
from clinic_assistant.channels.handling import handle_to_completion
from clinic_assistant.contract import EMERGENCY
from clinic_assistant.locks.unavailable import unavailable_reply
from clinic_assistant.settings import get_settings

DOMAIN = Domain.from_dict(
    {
        "responses": {
            "utter_escalation_emergency": [{"text": "Emergency: call {emergency_number} now."}],
            "utter_escalation_emergency_es": [{"text": "Emergencia: llame al {emergency_number}."}],
            "utter_safety_line_emergency": [{"text": "If it is happening now, call 911."}],
        }
    }
)


async def store_down(_: UserMessage) -> None:
    raise ConnectionRefusedError("the tracker store cannot be reached")


async def test_a_danger_sign_gets_the_escalation_instruction_first_and_is_reported(
    reported: List[Any],
) -> None:
    channel = CollectingOutputChannel()
    sent = UserMessage("I can't breathe since the shots", channel, "p-1", input_channel="rest")
    await handle_to_completion(store_down, sent, domain=DOMAIN)
    number = get_settings().clinic.emergency_number
    assert [m["text"] for m in channel.messages] == [
        f"Emergency: call {number} now.",
        unavailable_reply(),
    ]
    assert [(r["conversation_id"], r["red_flag"].level) for r in reported] == [("p-1", EMERGENCY)]
    assert reported[0]["channel"] == "rest"


async def test_a_spanish_danger_sign_gets_the_spanish_instruction(reported: List[Any]) -> None:
    channel = CollectingOutputChannel()
    sent = UserMessage("no puedo respirar desde la inyección", channel, "p-2")
    await handle_to_completion(store_down, sent, domain=DOMAIN)
    assert channel.messages[0]["text"].startswith("Emergencia: llame al")
    assert channel.messages[-1]["text"] == unavailable_reply("es")
    assert len(reported) == 1


async def test_a_spanish_question_gets_the_kind_reply_in_spanish(reported: List[Any]) -> None:
    channel = CollectingOutputChannel()
    sent = UserMessage("¿cuánto tiempo dura el efecto de la inyección?", channel, "p-5")
    await handle_to_completion(store_down, sent, domain=DOMAIN)
    assert [m["text"] for m in channel.messages] == [unavailable_reply("es")]
    assert "problema técnico" in unavailable_reply("es")
    assert get_settings().clinic.emergency_number in unavailable_reply("es")
    assert reported == []


async def test_a_harmless_message_gets_only_the_kind_reply(reported: List[Any]) -> None:
    channel = CollectingOutputChannel()
    await handle_to_completion(
        store_down, UserMessage("how long does it last?", channel, "p-3"), domain=DOMAIN
    )
    assert [m["text"] for m in channel.messages] == [unavailable_reply()]
    assert reported == []


async def test_without_a_domain_the_kind_reply_still_names_the_emergency_number(
    reported: List[Any],
) -> None:
    channel = CollectingOutputChannel()
    await handle_to_completion(store_down, UserMessage("I can't swallow at all", channel, "p-4"))
    assert [m["text"] for m in channel.messages] == [unavailable_reply()]
    assert len(reported) == 1  # staff are told all the same


async def test_replies_sent_through_the_watch_reach_the_channel() -> None:
    channel = CollectingOutputChannel()
    watched = unhandled.WatchedOutput(channel)
    await watched.send_response("p-5", {"text": "hello"})
    assert watched.sent == 1
    assert channel.messages == [{"recipient_id": "p-5", "text": "hello"}]
    assert watched.messages is channel.messages
