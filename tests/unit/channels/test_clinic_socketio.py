"""ClinicSocketIOInput: origin check, session rooms, payloads and history.

The channel runs in a real Sanic server on a free port and a real python-socketio
client talks to it, so the origin check is the one python-engineio applies, on both
transports. The Rasa agent is replaced by a handler that answers with fixed
messages, and by an in-memory tracker store for the history.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any, AsyncIterator, Dict, List, Tuple

import pytest
import socketio
import websockets.exceptions
from rasa.core.channels.channel import UserMessage
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Sanic
from websockets.client import connect as ws_connect

from clinic_assistant.channels import web_sessions
from clinic_assistant.channels.socketio import ClinicSocketIOInput, transcript
from clinic_assistant.servers import free_port
from clinic_assistant.text.normalize import MAX_MESSAGE_CHARS

ALLOWED = "http://127.0.0.1:8080"
ESCALATION = {"escalation": {"level": "emergency", "symptoms": ["dysphagia"]}}
MENU = [{"title": "How long does it last?", "payload": "/faq/duration"}]


@pytest.fixture(autouse=True)
def sanic_test_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    # Sanic 21.12 rewrites its own protocol code on start-up ("touchup") and fails
    # doing it a second time in one process unless in test mode.
    monkeypatch.setattr(Sanic, "test_mode", True)


@pytest.fixture(autouse=True)
def session_key(monkeypatch: pytest.MonkeyPatch) -> None:
    # A fixed key: the tests must not write a key file into the tree's .state/.
    monkeypatch.setattr(web_sessions, "session_key", lambda: b"k" * 32)


def run(coro: Any) -> Any:
    """Each test gets its own event loop (no pytest-asyncio mode needed)."""
    return asyncio.run(coro)


def channel(**kwargs: Any) -> ClinicSocketIOInput:
    return ClinicSocketIOInput(
        "user_uttered",
        "bot_uttered",
        session_persistence=True,
        allowed_origins=[ALLOWED],
        **kwargs,
    )


@asynccontextmanager
async def chat_server(
    received: List[UserMessage], history: List[Any] | None = None
) -> AsyncIterator[str]:
    """The channel in a real Sanic server; yields its base URL."""

    async def on_new_message(message: UserMessage) -> None:
        received.append(message)
        # What Rasa's processor does with a reply that has buttons and one with a
        # custom payload (the escalation): the output channel's send_response.
        await message.output_channel.send_response(
            message.sender_id, {"text": "Hello.\n\nWhat would you like?", "buttons": MENU}
        )
        await message.output_channel.send_response(
            message.sender_id, {"text": "Call 911 now.", "custom": dict(ESCALATION)}
        )

    app = Sanic(f"test_{uuid.uuid4().hex}")
    store = InMemoryTrackerStore(Domain.empty())
    if history:
        await store.save(DialogueStateTracker.from_events(history[0], history[1:]))
    app.ctx.agent = SimpleNamespace(tracker_store=store, domain=Domain.empty())
    chat = channel()
    app.blueprint(chat.blueprint(on_new_message), url_prefix="/webhooks/socketio")
    port = free_port()
    server = await app.create_server(
        host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
    )
    assert server is not None
    await server.startup()
    await server.before_start()
    await server.after_start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        # Ends the clients' pending long-polls now (a client's own disconnect
        # waits for its long-poll, up to the 25 s ping interval).
        assert chat.sio is not None
        await chat.sio.shutdown()
        await server.before_stop()
        await server.close()
        await server.after_stop()


async def connect(url: str, origin: str) -> socketio.AsyncClient:
    """A python-socketio client on long-polling, sending ``origin`` like a browser."""
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(
        url,
        headers={"Origin": origin},
        transports=["polling"],
        socketio_path="/socket.io",
        wait_timeout=5,
    )
    return client


class Inbox:
    """Events the client received, by name, with a way to wait for them."""

    def __init__(self, client: socketio.AsyncClient) -> None:
        self.events: List[Tuple[str, Any]] = []
        self.changed = asyncio.Event()
        for name in ("session_confirm", "session_history", "bot_uttered"):
            client.on(name, self._recorder(name))

    def _recorder(self, name: str) -> Any:
        async def record(data: Any) -> None:
            self.events.append((name, data))
            self.changed.set()

        return record

    async def wait_for(self, name: str, count: int = 1) -> List[Any]:
        async def enough() -> List[Any]:
            while True:
                found = [data for event, data in self.events if event == name]
                if len(found) >= count:
                    return found
                self.changed.clear()
                await self.changed.wait()

        return await asyncio.wait_for(enough(), timeout=5)


def test_a_page_from_another_origin_is_refused_on_polling() -> None:
    async def scenario() -> None:
        async with chat_server([]) as url:
            with pytest.raises(socketio.exceptions.ConnectionError):
                await connect(url, "https://evil.example")

    run(scenario())


@pytest.mark.parametrize(("origin", "accepted"), [(ALLOWED, True), ("https://evil.example", False)])
def test_the_websocket_handshake_checks_the_origin(origin: str, accepted: bool) -> None:
    # A raw WebSocket handshake, as a browser sends it: python-engineio's own
    # websocket client needs a newer aiohttp than Rasa pins.
    async def scenario() -> None:
        async with chat_server([]) as url:
            ws_url = url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
            if accepted:
                async with ws_connect(ws_url, origin=origin) as ws:  # type: ignore[arg-type]
                    opening = await asyncio.wait_for(ws.recv(), 5)
                    assert str(opening).startswith("0{")  # Engine.IO "open" packet
            else:
                with pytest.raises(websockets.exceptions.InvalidStatusCode) as refused:
                    await ws_connect(ws_url, origin=origin)  # type: ignore[arg-type]
                assert refused.value.status_code == 400

    run(scenario())


def test_a_page_from_an_allowed_origin_chats() -> None:
    received: List[UserMessage] = []

    async def scenario() -> List[Any]:
        async with chat_server(received) as url:
            client = await connect(url, ALLOWED)
            inbox = Inbox(client)
            await client.emit("session_request", {"session_id": None})
            (session_id,) = await inbox.wait_for("session_confirm")
            await client.emit("user_uttered", {"message": "/greet", "session_id": session_id})
            replies = await inbox.wait_for("bot_uttered", 4)
        assert [m.sender_id for m in received] == [web_sessions.sender_of(session_id)]
        return replies

    replies = run(scenario())
    # Split at the blank line, buttons on the last part; the escalation is the
    # custom object itself (the stock channel raises on it), after its text.
    assert replies == [
        {"text": "Hello.", "quick_replies": []},
        {"text": "What would you like?", "quick_replies": [{"content_type": "text", **MENU[0]}]},
        {"text": "Call 911 now."},
        ESCALATION,
    ]


def test_origins_must_be_a_real_list() -> None:
    # [] or "*" would make python-engineio accept every origin.
    for origins in ([], ["*"]):
        bad = ClinicSocketIOInput(session_persistence=True, allowed_origins=origins)
        with pytest.raises(ValueError):
            bad.blueprint(lambda message: asyncio.sleep(0))


def test_origins_come_from_the_settings_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    from clinic_assistant import settings as settings_module

    monkeypatch.setattr(
        settings_module,
        "get_settings",
        lambda: settings_module.load_settings({"WEB_ALLOWED_ORIGINS": "https://clinic.example"}),
    )
    monkeypatch.setattr(
        "clinic_assistant.channels.socketio.get_settings", settings_module.get_settings
    )
    blueprint = ClinicSocketIOInput.from_credentials({"session_persistence": True}).blueprint(
        lambda message: asyncio.sleep(0)
    )
    assert blueprint.ctx.sio.eio.cors_allowed_origins == ["https://clinic.example"]


def test_reconnecting_with_the_session_id_joins_the_same_conversation() -> None:
    received: List[UserMessage] = []
    token = web_sessions.issue()

    async def scenario() -> None:
        async with chat_server(received) as url:
            client = await connect(url, ALLOWED)
            inbox = Inbox(client)
            await client.emit("session_request", {"session_id": token})
            assert await inbox.wait_for("session_confirm") == [token]
            await client.emit("user_uttered", {"message": "hi", "session_id": token})
            await inbox.wait_for("bot_uttered", 4)
        # The conversation's reference is the id without its signature.
        assert [m.sender_id for m in received] == [web_sessions.sender_of(token)]
        assert received[0].sender_id.startswith("web-") and token not in received[0].sender_id

    run(scenario())


@pytest.mark.parametrize(
    "chosen",
    ["+15550100199", uuid.uuid4().hex, f"{uuid.uuid4().hex}.{'0' * 32}", "web-" + "a" * 32],
)
def test_ids_the_server_never_issued_are_replaced_and_their_messages_dropped(
    chosen: str,
) -> None:
    """No session fixation: an unsigned (or wrongly signed) id is never adopted."""
    received: List[UserMessage] = []

    async def scenario() -> None:
        async with chat_server(received) as url:
            client = await connect(url, ALLOWED)
            inbox = Inbox(client)
            await client.emit("session_request", {"session_id": chosen})
            (token,) = await inbox.wait_for("session_confirm")
            assert token != chosen and web_sessions.sender_of(token) is not None
            await client.emit("user_uttered", {"message": "hi", "session_id": chosen})
            await client.emit("user_uttered", {"message": "ok", "session_id": token})
            await inbox.wait_for("bot_uttered", 4)
        assert [m.text for m in received] == ["ok"]
        assert received[0].sender_id == web_sessions.sender_of(token)

    run(scenario())


def test_messages_are_normalised_screened_and_bounded() -> None:
    received: List[UserMessage] = []
    bot: List[Any] = []

    async def scenario() -> None:
        async with chat_server(received) as url:
            client = await connect(url, ALLOWED)
            inbox = Inbox(client)
            await client.emit("session_request", {"session_id": None})
            (token,) = await inbox.wait_for("session_confirm")
            for message in [
                "trouble\nbrea\u200bthing",
                "/red_flag_emergency",
                {"not": "text"},
                "help " * 1000,
            ]:
                await client.emit(
                    "user_uttered",
                    {
                        "message": message,
                        "session_id": token,
                        "metadata": {"blob": "x" * 10_000, "input_channel": "sms"},
                    },
                )
            await inbox.wait_for("bot_uttered", 3 * 4 + 1)  # 4 per message + the notice
            bot.extend(data for event, data in inbox.events if event == "bot_uttered")

    run(scenario())
    texts = [m.text for m in received]
    assert texts[:2] == ["trouble breathing", ""]
    assert len(texts) == 3 and len(texts[2]) <= MAX_MESSAGE_CHARS
    assert all(m.metadata == {} and m.input_channel == "socketio" for m in received)
    assert any("shorter message" in (data.get("text") or "") for data in bot)


def test_history_is_sent_only_when_asked_for() -> None:
    session_id = web_sessions.issue()
    history = [
        web_sessions.sender_of(session_id),
        SessionStarted(),
        UserUttered("/greet", input_channel="socketio"),
        BotUttered("Hello!", {"buttons": MENU}),
        UserUttered("/faq/duration", input_channel="socketio"),
        BotUttered("It lasts about 3 months."),
    ]

    async def scenario() -> List[Any]:
        async with chat_server([], history) as url:
            client = await connect(url, ALLOWED)
            inbox = Inbox(client)
            await client.emit("session_request", {"session_id": session_id})
            await inbox.wait_for("session_confirm")
            await client.emit("session_request", {"session_id": session_id, "history": True})
            histories = await inbox.wait_for("session_history")
            return histories

    histories = run(scenario())
    assert len(histories) == 1
    assert histories[0] == {
        "session_id": session_id,
        "messages": [
            {"sender": "bot", "text": "Hello!", "quick_replies": MENU},
            {"sender": "user", "text": "How long does it last?"},
            {"sender": "bot", "text": "It lasts about 3 months."},
        ],
    }


def test_an_expired_session_is_not_shown_again() -> None:
    session_id = web_sessions.issue()
    two_hours_ago = time.time() - 2 * 3600  # Domain.empty(): sessions expire after 60 min
    history = [
        web_sessions.sender_of(session_id),
        SessionStarted(timestamp=two_hours_ago),
        UserUttered("my private question", input_channel="socketio", timestamp=two_hours_ago),
        BotUttered("An answer.", timestamp=two_hours_ago),
    ]

    async def scenario() -> List[Any]:
        async with chat_server([], history) as url:
            client = await connect(url, ALLOWED)
            inbox = Inbox(client)
            await client.emit("session_request", {"session_id": session_id, "history": True})
            return await inbox.wait_for("session_history")

    assert run(scenario()) == [{"session_id": session_id, "messages": []}]


def test_transcript_shows_what_the_patient_saw() -> None:
    events = [
        SessionStarted(),
        ActionExecuted("action_listen"),
        UserUttered("/greet", input_channel="socketio"),
        BotUttered("Hi.\n\nPick one:", {"buttons": MENU}),
        UserUttered("/faq/duration", input_channel="socketio"),
        BotUttered("About 3 months."),
        UserUttered("I can't swallow", input_channel="socketio"),
        BotUttered("Call 911 now.", {"custom": ESCALATION}),
    ]
    assert transcript(events) == [
        {"sender": "bot", "text": "Hi."},
        {"sender": "bot", "text": "Pick one:", "quick_replies": MENU},
        {"sender": "user", "text": "How long does it last?"},
        {"sender": "bot", "text": "About 3 months."},
        {"sender": "user", "text": "I can't swallow"},
        {"sender": "bot", "text": "Call 911 now."},
        {"sender": "bot", **ESCALATION},
    ]


def test_transcript_of_another_channel_is_not_shown() -> None:
    events: List[Any] = [UserUttered("hello", input_channel="twilio"), BotUttered("Hi.")]
    assert transcript(events) == []


def test_custom_payload_is_not_mutated() -> None:
    sent: List[Dict[str, Any]] = []

    class FakeServer:
        async def emit(self, event: str, data: Any = None, room: Any = None) -> None:
            sent.append({"event": event, "data": data, "room": room})

    from clinic_assistant.channels.socketio import ClinicSocketIOOutput

    payload = {"escalation": {"level": "urgent", "symptoms": ["ptosis"]}}
    output = ClinicSocketIOOutput(FakeServer(), "bot_uttered")  # type: ignore[arg-type]
    run(output.send_custom_json("abc", payload))
    assert sent == [{"event": "bot_uttered", "data": payload, "room": "abc"}]
    assert "room" not in payload
