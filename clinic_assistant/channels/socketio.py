"""The website chat channel: Rasa's socket.io channel, made safe for the clinic's site.

credentials.yml names it as ``clinic_assistant.channels.socketio.ClinicSocketIOInput``
(with ``session_persistence: true``). It differs from the stock
:class:`rasa.core.channels.socketio.SocketIOInput` where the stock one is unsafe or,
with the python-socketio 5.18 installed here, broken:

* **Origin check.** The stock channel builds ``AsyncServer(cors_allowed_origins=[])``,
  which switches python-engineio's origin check off, so any web page could open a
  chat socket in a visitor's browser. Here only ``WEB_ALLOWED_ORIGINS`` may.
* **Session rooms.** ``AsyncServer.enter_room`` became a coroutine in python-socketio
  5.x; the stock ``session_request`` handler calls it without ``await``, so the socket
  never joins the session's room and, with ``session_persistence``, every reply (sent
  to that room) is lost. Here it is awaited.
* **Custom payloads.** The stock output calls ``sio.emit(event, **custom)``: the
  escalation payload ``{"escalation": {...}}`` becomes an unknown keyword argument of
  ``emit`` and raises. Here the custom object itself is the event's data, which is
  the contract the widget renders (a banner with a call button).
* **Session ids.** The server issues signed session tokens and accepts only its own
  (:mod:`clinic_assistant.channels.web_sessions`): a client cannot choose its id
  (fixation), guess another's, or write into another channel's conversation. The
  conversation's sender id is ``web-<id>``, without the signature, so the
  reference in records and staff notices opens nothing.
* **The text.** Normalised, bounded and payload-screened like every channel's
  (:func:`clinic_assistant.text.incoming.prepare`); a message cut to fit gets a
  kind "please send a shorter message" reply; it is handled to completion even if
  the socket closes meanwhile; client metadata is not kept.
* **History.** A page reload must show the conversation again, but nothing but the
  session id may be kept in the browser; so, when the widget asks for it
  (``session_request`` with ``"history": true``), the transcript of the current
  conversation session is sent back from the tracker store as ``session_history``
  (nothing once the session has expired, so a shared computer does not show it).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Optional, Sequence

from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from rasa.shared.core.events import BotUttered, Event, UserUttered
from sanic import Blueprint, Sanic
from socketio import AsyncRedisManager, AsyncServer

from clinic_assistant.channels import web_sessions
from clinic_assistant.channels.handling import (
    client_metadata,
    handle_to_completion,
    known_payloads,
)
from clinic_assistant.log_privacy import install as install_log_privacy
from clinic_assistant.settings import get_settings
from clinic_assistant.text.incoming import prepare, too_long_reply

logger = logging.getLogger(__name__)

#: Event the channel answers a ``session_request`` with when history is asked for.
HISTORY_EVT = "session_history"


class ClinicSocketIOOutput(SocketIOOutput):
    """Sends custom payloads (the escalation) as the event's data."""

    async def send_custom_json(
        self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any
    ) -> None:
        """Emit ``json_message`` itself (the stock one spreads it into ``emit``'s kwargs)."""
        await self._send_message(recipient_id, dict(json_message))


def _split_bot_message(event: BotUttered) -> List[Dict[str, Any]]:
    """The messages the output channel emitted for ``event``, in the same shape."""
    data = event.data or {}
    messages: List[Dict[str, Any]] = []
    if event.text:
        # SocketIOOutput splits texts at blank lines and puts buttons on the last part.
        parts = event.text.strip().split("\n\n") or [event.text]
        messages = [{"text": part} for part in parts]
        buttons = data.get("quick_replies") or data.get("buttons") or []
        if buttons:
            messages[-1]["quick_replies"] = [
                {"title": b.get("title", ""), "payload": b.get("payload", "")}
                for b in buttons
                if isinstance(b, dict)
            ]
    custom = data.get("custom")
    if isinstance(custom, dict) and custom:
        messages.append(dict(custom))
    return messages


def transcript(events: Iterable[Event], channel: str = "socketio") -> List[Dict[str, Any]]:
    """What the patient saw in this conversation, as the widget renders it.

    Patient turns are ``{"sender": "user", "text": ...}``; a button click shows the
    button's title (as it did when clicked) and hidden payloads such as the
    ``/greet`` the widget sends on opening are left out. Bot turns are the
    ``bot_uttered`` data with ``"sender": "bot"``. Returns nothing at all if any
    patient turn came through another channel: that is not a website conversation.
    """
    items: List[Dict[str, Any]] = []
    titles: Dict[str, str] = {}
    for event in events:
        if isinstance(event, UserUttered):
            if event.input_channel not in (None, channel):
                return []
            text = event.text or ""
            if text in titles:
                items.append({"sender": "user", "text": titles[text]})
            elif text and not text.startswith("/"):
                items.append({"sender": "user", "text": text})
        elif isinstance(event, BotUttered):
            for message in _split_bot_message(event):
                items.append({"sender": "bot", **message})
                for reply in message.get("quick_replies", []):
                    titles[reply["payload"]] = reply["title"]
    return items


class ClinicSocketIOInput(SocketIOInput):
    """Rasa's socket.io input with an origin check, working rooms and history."""

    def __init__(
        self,
        *args: Any,
        allowed_origins: Optional[Sequence[str]] = None,
        **kwargs: Any,
    ) -> None:
        """Same arguments as the stock channel; origins default to the settings'."""
        super().__init__(*args, **kwargs)
        self.allowed_origins = list(allowed_origins) if allowed_origins is not None else None
        self._app: Optional[Sanic] = None
        install_log_privacy()

    def get_output_channel(self) -> Optional[OutputChannel]:
        """The output used for messages not triggered by the patient (reminders)."""
        if self.sio is None:
            return super().get_output_channel()
        return ClinicSocketIOOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The stock blueprint, with the origin check on and the handlers replaced."""
        blueprint = super().blueprint(on_new_message)
        sio: AsyncServer = blueprint.ctx.sio

        origins = (
            self.allowed_origins
            if self.allowed_origins is not None
            else list(get_settings().web_allowed_origins)
        )
        if not origins or "*" in origins:
            # [] and "*" both make python-engineio accept every origin.
            raise ValueError("ClinicSocketIOInput needs a list of allowed origins, not [] or '*'")
        sio.eio.cors_allowed_origins = origins
        relay = get_settings().socketio_redis_url
        if relay:
            # Several replicas (make run-cluster): rooms are shared through Redis, so
            # a reply reaches the patient's browser whichever replica it is on.
            sio.manager = AsyncRedisManager(relay)
            sio.manager.set_server(sio)

        @blueprint.listener("before_server_start")
        async def remember_app(app: Sanic, _loop: Any) -> None:
            # The agent (and its tracker store, for the history) hangs off the app.
            self._app = app
            install_log_privacy()  # again: Sanic has set up its loggers by now

        # python-socketio keeps one handler per (namespace, event): these replace
        # the stock ones registered by super().blueprint().
        sio.on("session_request", self._session_request(sio), namespace=self.namespace)
        sio.on(
            self.user_message_evt,
            self._handle_message(sio, on_new_message),
            namespace=self.namespace,
        )
        return blueprint

    def _session_request(self, sio: AsyncServer) -> Callable[..., Awaitable[None]]:
        async def session_request(sid: str, data: Any) -> None:
            data = data if isinstance(data, dict) else {}
            token = data.get("session_id")
            sender_id = web_sessions.sender_of(token)
            if sender_id is None:  # never issued here: a new session
                token, sender_id = web_sessions.new_session()
            if self.session_persistence:
                # "End chat" asks for a new session on the same socket: it must
                # stop receiving the old conversation's replies.
                previous = (await sio.get_session(sid, namespace=self.namespace)).get("sender_id")
                if previous and previous != sender_id:
                    await sio.leave_room(sid, previous, namespace=self.namespace)
                await sio.enter_room(sid, sender_id, namespace=self.namespace)
            await sio.save_session(
                sid, {"session_id": token, "sender_id": sender_id}, namespace=self.namespace
            )
            await sio.emit("session_confirm", token, room=sid, namespace=self.namespace)
            if data.get("history") is True:
                messages = await self._history(sender_id) if self.session_persistence else []
                await sio.emit(
                    HISTORY_EVT,
                    {"session_id": token, "messages": messages},
                    room=sid,
                    namespace=self.namespace,
                )

        return session_request

    async def _history(self, session_id: str) -> List[Dict[str, Any]]:
        agent = getattr(getattr(self._app, "ctx", None), "agent", None)
        if agent is None or agent.tracker_store is None:
            return []
        try:
            tracker = await agent.tracker_store.retrieve(session_id)
        except Exception:  # any store failure: the patient just starts afresh
            logger.exception("Could not read the history of a web chat session.")
            return []
        if tracker is None or not tracker.events:
            return []
        # An expired conversation session is not shown again: on a shared computer
        # the next person must not find it. (Rasa starts a new session anyway.)
        session_config = getattr(getattr(agent, "domain", None), "session_config", None)
        if session_config is not None and session_config.are_sessions_enabled():
            idle_s = time.time() - tracker.events[-1].timestamp
            if idle_s > 60 * session_config.session_expiration_time:
                return []
        return transcript(tracker.events, self.name())

    def _handle_message(
        self, sio: AsyncServer, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Callable[..., Awaitable[None]]:
        async def handle_message(sid: str, data: Any) -> None:
            if not isinstance(data, dict):
                return
            raw = data.get("message", "")
            if not isinstance(raw, str):
                logger.warning("Dropped a web chat message that is not text.")
                return
            if self.session_persistence:
                # Only the session this socket asked for (and joined the room of).
                session = await sio.get_session(sid, namespace=self.namespace)
                token = data.get("session_id")
                if not isinstance(token, str) or token != session.get("session_id"):
                    logger.warning("Dropped a web chat message without its confirmed session id.")
                    return
                sender_id = session["sender_id"]
            else:
                sender_id = sid
            incoming = prepare(raw, known_payloads(self._app))
            output = ClinicSocketIOOutput(sio, self.bot_message_evt)
            await handle_to_completion(
                on_new_message,
                UserMessage(
                    incoming.text,
                    output,
                    sender_id,
                    input_channel=self.name(),
                    metadata=client_metadata(data.get(self.metadata_key)),
                ),
                raw,
                getattr(getattr(getattr(self._app, "ctx", None), "agent", None), "domain", None),
            )
            if incoming.too_long:
                await output.send_text_message(sender_id, too_long_reply())

        return handle_message
