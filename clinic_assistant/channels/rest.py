"""The REST channel: ``POST /webhooks/rest/webhook {"sender": ..., "message": ...}``.

credentials.yml names it as ``clinic_assistant.channels.rest.ClinicRestInput`` in
place of Rasa's stock ``rest:``; the path and the reply (a JSON list of the bot's
messages) are the same. It differs where the stock one is unsafe:

* **Who may call.** Loopback clients (tests, ``curl``, ``make run``) need no token;
  any other address needs ``Authorization: Bearer $REST_TOKEN`` (refused when no
  token is set) and is limited to ``REST_RATE_LIMIT`` messages a minute (429).
* **What is accepted.** Only ``Content-Type: application/json`` (a cross-site form
  or ``text/plain`` POST is refused: CSRF), a body of at most
  :data:`MAX_BODY_BYTES` (read in chunks, never more), a JSON object with a
  non-empty valid ``sender`` and a string ``message``; otherwise 4xx with a short
  reason. The client's ``input_channel`` is ignored and its ``metadata`` reduced to
  what the assistant reads (:func:`~clinic_assistant.channels.handling.client_metadata`).
* **Conversations kept apart.** Sender ids are 1-64 letters, digits, ``_ - . @``
  and never the web chat's ``web-`` ids; a conversation that another channel
  started cannot be written into from here (409).
* **The text.** Normalised and bounded (:func:`clinic_assistant.text.incoming.prepare`);
  a "/" message is a payload only if it is exactly one of the assistant's buttons;
  a message cut to fit gets a kind "please send a shorter message" reply after the
  answer to its first part (which the red-flag check has read).
* **To completion.** The message is handled to the end even if the client closes
  the connection meanwhile, and its text never reaches the log.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import re
import time
from collections import OrderedDict
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from clinic_assistant.channels.handling import (
    client_metadata,
    drain,
    handle_to_completion,
    known_payloads,
)
from clinic_assistant.channels.web_sessions import SENDER_PREFIX
from clinic_assistant.log_privacy import install as install_log_privacy
from clinic_assistant.settings import get_settings
from clinic_assistant.text.incoming import prepare, too_long_reply
from clinic_assistant.trackers.latest import latest_input_channel

logger = logging.getLogger(__name__)

#: Largest request body read, in bytes: a 2,000-character message fits many times
#: over, even with every character escaped.
MAX_BODY_BYTES = 64 * 1024
#: Sender ids of this channel.
SENDER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
#: Addresses whose rate is tracked at once; the oldest are forgotten first.
MAX_TRACKED_ADDRESSES = 10_000
RATE_LIMITED_REPLY = (
    "You are sending messages faster than I can answer. Please wait a minute and try again."
)


class RequestRefused(Exception):
    """A request the channel answers with an error status and a short reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


class RateLimiter:
    """A token bucket per client address: ``per_minute`` messages, bursts included."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute, self._clock = per_minute, clock
        self._buckets: OrderedDict[str, Tuple[float, float]] = OrderedDict()

    def allow(self, address: str) -> bool:
        """True, and one message counted, if ``address`` may send one now."""
        now = self._clock()
        tokens, last = self._buckets.pop(address, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + (now - last) * self.per_minute / 60.0)
        allowed = tokens >= 1.0
        self._buckets[address] = (tokens - 1.0 if allowed else tokens, now)
        while len(self._buckets) > MAX_TRACKED_ADDRESSES:
            self._buckets.popitem(last=False)
        return allowed


def is_loopback(address: str) -> bool:
    """True for 127.0.0.0/8 and ::1 (a malformed address is not loopback)."""
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def valid_sender(value: Any) -> bool:
    """True for a REST sender id (never a web chat's)."""
    return (
        isinstance(value, str)
        and SENDER_ID.fullmatch(value) is not None
        and not value.lower().startswith(SENDER_PREFIX)
    )


def parse_body(body: bytes) -> Tuple[str, str, Dict[str, str]]:
    """``(sender, message, metadata)`` of a request body, or :class:`RequestRefused`."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise RequestRefused(400, "the body must be a JSON object") from error
    if not isinstance(data, dict):
        raise RequestRefused(400, "the body must be a JSON object")
    sender, message = data.get("sender"), data.get("message")
    if sender is None or sender == "":
        raise RequestRefused(400, "'sender' is required")
    if not valid_sender(sender):
        raise RequestRefused(400, "'sender' must be 1-64 letters, digits, '_', '-', '.' or '@'")
    if not isinstance(message, str):
        raise RequestRefused(400, "'message' must be a string")
    return sender, message, client_metadata(data.get("metadata"))


class ClinicRestInput(RestInput):
    """Rasa's REST input made safe; see the module docstring."""

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> ClinicRestInput:
        """No credentials: the token and the rate come from the settings."""
        return cls()

    def __init__(self, token: Optional[str] = None, rate_limit: Optional[int] = None) -> None:
        """Token and rate default to the settings' ``REST_TOKEN`` and ``REST_RATE_LIMIT``."""
        settings = get_settings()
        self.token = settings.rest_token if token is None else token
        self.limiter = RateLimiter(settings.rest_rate_limit if rate_limit is None else rate_limit)
        install_log_privacy()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        """``GET /`` (health) and ``POST /webhook``."""
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.listener("before_server_start")
        async def privacy(_app: Any, _loop: Any) -> None:
            install_log_privacy()  # again: Sanic has set up its loggers by now

        @webhook.listener("before_server_stop")
        async def finish(_app: Any, _loop: Any) -> None:
            await drain()  # messages whose clients left are still being handled

        @webhook.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        # stream=True: Sanic leaves the body unread, so its size is bounded here.
        @webhook.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            try:
                self._admit(request)
                body = await self._read_body(request)
                sender, text, metadata = parse_body(body)
                await self._check_owner(request, sender)
            except RequestRefused as refused:
                if refused.status == 429:
                    return response.json([{"text": RATE_LIMITED_REPLY}], status=429)
                return response.json({"error": refused.reason}, status=refused.status)
            return response.json(
                await self._handle(request, on_new_message, sender, text, metadata)
            )

        return webhook

    def _admit(self, request: Request) -> None:
        address = request.ip or ""
        if not is_loopback(address):
            if not self._token_ok(request.headers.get("authorization", "")):
                raise RequestRefused(401, "a valid 'Authorization: Bearer' token is required")
            if not self.limiter.allow(address):
                raise RequestRefused(429, "too many messages")
        content_type = request.headers.get("content-type", "").split(";", 1)[0].strip()
        if content_type.lower() != "application/json":
            raise RequestRefused(415, "the body must be JSON (Content-Type: application/json)")
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            raise RequestRefused(413, f"the body must be at most {MAX_BODY_BYTES} bytes")

    def _token_ok(self, header: str) -> bool:
        scheme, _, token = header.partition(" ")
        return (
            bool(self.token)
            and scheme.lower() == "bearer"
            and hmac.compare_digest(token.strip().encode(), self.token.encode())
        )

    @staticmethod
    async def _read_body(request: Request) -> bytes:
        chunks: List[bytes] = []
        size = 0
        while True:
            chunk = await request.stream.read() if request.stream else None
            if chunk is None:
                break
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise RequestRefused(413, f"the body must be at most {MAX_BODY_BYTES} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def _check_owner(self, request: Request, sender: str) -> None:
        """409 when another channel's conversation has this sender id."""
        agent = getattr(request.app.ctx, "agent", None)
        store = getattr(agent, "tracker_store", None)
        if store is None:
            return
        try:
            found, channel = await latest_input_channel(store, sender)
        except Exception as error:  # noqa: BLE001 - the store is down: the handling tells
            logger.warning("The owner check could not read the tracker (%s).", type(error).__name__)
            return
        if found and channel not in (None, self.name()):
            raise RequestRefused(409, "this conversation belongs to another channel")

    async def _handle(
        self,
        request: Request,
        on_new_message: Callable[[UserMessage], Awaitable[None]],
        sender: str,
        raw: str,
        metadata: Dict[str, str],
    ) -> List[Dict[str, Any]]:
        incoming = prepare(raw, known_payloads(request.app))
        collector = CollectingOutputChannel()
        message = UserMessage(
            incoming.text, collector, sender, input_channel=self.name(), metadata=metadata
        )
        agent = getattr(request.app.ctx, "agent", None)
        await handle_to_completion(on_new_message, message, raw, getattr(agent, "domain", None))
        replies = list(collector.messages)
        if incoming.too_long:
            replies.append({"recipient_id": sender, "text": too_long_reply()})
        return replies
