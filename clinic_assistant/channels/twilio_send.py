"""Sending a text through Twilio's Messages REST API, with the official async client.

One :class:`TwilioSender` per process holds a ``twilio.rest.Client`` on the async
HTTP client (aiohttp, so the event loop keeps serving other patients). Each send:

* is bounded by ``Settings.twilio_send_timeout_s`` per attempt;
* is tried again, with a doubling pause, only when Twilio cannot have created the
  message: it answered 429 or 5xx, or the connection could not be opened. A timeout
  or a connection lost after the request went out *may* have created it, so that is
  never retried (a second copy of an escalation, or of an answer, is worse than
  a missing one that staff see flagged);
* returns a :class:`SendResult`; it never raises, and logs no number and no text.

The client's own retries (aiohttp_retry) are off: they retry any request on any
error, which could send a message twice.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from typing import Any, Optional

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

logger = logging.getLogger(__name__)

#: The client library logs each request at INFO (URL and headers, no body); kept quiet.
_client_logger = logging.getLogger("clinic_assistant.channels.twilio_http")
_client_logger.setLevel(logging.WARNING)

#: Pause before the second attempt; doubled before each later one (plus jitter).
BACKOFF_S = 0.5
MAX_BACKOFF_S = 8.0


@dataclass(frozen=True)
class SendResult:
    """How a send ended: Twilio's sid and status, or why there is none."""

    status: str  # Twilio's status ("queued", ...), "send_failed" or "send_unknown"
    message_sid: Optional[str] = None
    error_code: Optional[int] = None
    attempts: int = 1

    @property
    def accepted(self) -> bool:
        """True when Twilio took the message."""
        return self.message_sid is not None


def _retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


class TwilioSender:
    """Sends messages from the clinic's number; safe to share across conversations."""

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        api_base_url: str,
        status_callback_url: Optional[str],
        timeout_s: float,
        attempts: int,
        backoff_s: float = BACKOFF_S,
    ) -> None:
        """Configure the client; no connection is opened until the first send."""
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._api_base_url = api_base_url.rstrip("/")
        self._status_callback_url = status_callback_url
        self._timeout_s = timeout_s
        self._attempts = max(1, attempts)
        self._backoff_s = backoff_s
        self._client: Optional[Client] = None
        self._http: Optional[AsyncTwilioHttpClient] = None

    def _get_client(self) -> Client:
        # Made inside the running loop: aiohttp's session binds to it.
        if self._client is None:
            self._http = AsyncTwilioHttpClient(timeout=self._timeout_s, logger=_client_logger)
            client = Client(self._account_sid, self._auth_token, http_client=self._http)
            client.api.base_url = self._api_base_url
            self._client = client
        return self._client

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._http is not None:
            await self._http.close()
        self._client = None
        self._http = None

    async def send(self, *, to: str, from_: str, body: str) -> SendResult:
        """Send one message; see the module docstring for when it tries again."""
        client = self._get_client()
        extra: dict[str, Any] = {}
        if self._status_callback_url:
            extra["status_callback"] = self._status_callback_url
        for attempt in range(1, self._attempts + 1):
            try:
                message = await asyncio.wait_for(
                    client.messages.create_async(to=to, from_=from_, body=body, **extra),
                    timeout=self._timeout_s + 1,
                )
                return SendResult(str(message.status or "queued"), message.sid, None, attempt)
            except TwilioRestException as error:
                if not _retryable_status(error.status) or attempt == self._attempts:
                    logger.warning(
                        "Twilio refused a message: HTTP %s, error %s (attempt %d)",
                        error.status,
                        error.code,
                        attempt,
                    )
                    return SendResult("send_failed", None, error.code, attempt)
                reason = f"HTTP {error.status}"
            except aiohttp.ClientConnectorError as error:
                # The TCP/TLS connection never opened: nothing was sent.
                reason = type(error).__name__
                if attempt == self._attempts:
                    logger.warning("Could not reach Twilio after %d attempts (%s)", attempt, reason)
                    return SendResult("send_failed", None, None, attempt)
            except (asyncio.TimeoutError, aiohttp.ClientError, OSError) as error:
                # The request may have reached Twilio: trying again could send twice.
                logger.warning(
                    "A Twilio send ended without an answer (%s); not retried", type(error).__name__
                )
                return SendResult("send_unknown", None, None, attempt)
            pause = min(MAX_BACKOFF_S, self._backoff_s * 2 ** (attempt - 1))
            pause *= 1 + random.random() / 4  # noqa: S311 - jitter, not security
            logger.info(
                "Twilio send attempt %d failed (%s); trying again in %.2f s", attempt, reason, pause
            )
            await asyncio.sleep(pause)
        return SendResult("send_failed", None, None, self._attempts)  # not reached
