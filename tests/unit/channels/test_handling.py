"""handle_to_completion: a message is handled whatever happens to its request."""

from __future__ import annotations

import asyncio

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.lock_store import LockError

from clinic_assistant.channels.handling import drain, handle_to_completion
from clinic_assistant.locks.unavailable import unavailable_reply


def message(channel: CollectingOutputChannel) -> UserMessage:
    return UserMessage("how long does it last?", channel, "patient-1", input_channel="rest")


async def test_a_lock_store_that_is_down_gets_the_kind_reply_once() -> None:
    channel = CollectingOutputChannel()

    async def locked(_: UserMessage) -> None:
        raise LockError("The lock store cannot be reached.")

    await handle_to_completion(locked, message(channel))
    assert [m["text"] for m in channel.messages] == [unavailable_reply()]
    assert "911" in unavailable_reply()


async def test_a_tracker_store_that_is_down_gets_the_kind_reply_not_silence() -> None:
    channel = CollectingOutputChannel()

    async def store_down(_: UserMessage) -> None:
        raise ConnectionRefusedError("the tracker store cannot be reached")

    await handle_to_completion(store_down, message(channel))  # does not raise
    assert [m["text"] for m in channel.messages] == [unavailable_reply()]


async def test_a_failure_after_the_answer_was_sent_adds_nothing() -> None:
    channel = CollectingOutputChannel()

    async def answered_then_failed(sent: UserMessage) -> None:
        assert sent.output_channel is not None
        await sent.output_channel.send_response(sent.sender_id, {"text": "the answer"})
        raise RuntimeError("the tracker could not be saved")

    await handle_to_completion(answered_then_failed, message(channel))
    assert [m["text"] for m in channel.messages] == ["the answer"]


async def test_a_client_that_leaves_does_not_stop_the_handling() -> None:
    done = asyncio.Event()

    async def slow(_: UserMessage) -> None:
        await asyncio.sleep(0.2)
        done.set()

    waiting = asyncio.ensure_future(handle_to_completion(slow, message(CollectingOutputChannel())))
    await asyncio.sleep(0.05)
    waiting.cancel()  # as Sanic does when the connection closes
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await drain(timeout_s=5)
    assert done.is_set()
