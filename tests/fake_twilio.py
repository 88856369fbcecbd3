"""A local fake of Twilio, speaking its real protocol, for the tests and the bench.

Both directions:

* **Twilio -> us**: :meth:`FakeTwilio.sms` posts an inbound message to the webhook
  exactly as Twilio does (form fields, ``X-Twilio-Signature`` computed with the
  ``twilio`` package's ``RequestValidator.compute_signature`` over the public URL),
  and :meth:`FakeTwilio.status` posts a signed delivery status callback.
* **us -> Twilio**: a REST server answering ``POST /2010-04-01/Accounts/{sid}/Messages.json``.
  It checks HTTP Basic auth (401 with Twilio's error 20003 otherwise), answers 201
  with a message resource shaped like Twilio's, and can be told to answer the next
  requests with 429, 500, error 21610 or a dropped connection (:meth:`fail_next`).
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Mapping, Optional, Tuple

from twilio.request_validator import RequestValidator

from clinic_assistant.servers import ServerProcess, free_port, local_settings, rasa_server
from clinic_assistant.settings import Settings

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "f" * 8 + "0123456789abcdef0123456789abcdef"[:24]
CLINIC_NUMBER = "+15550100199"
ID_KEY = "test-key-" + "9" * 40

#: Twilio's answers for the failures the tests ask for: (HTTP status, JSON body).
FAILURES: Dict[str, Tuple[int, Dict[str, Any]]] = {
    "429": (
        429,
        {
            "code": 20429,
            "message": "Too Many Requests",
            "status": 429,
            "more_info": "https://www.twilio.com/docs/errors/20429",
        },
    ),
    "500": (
        500,
        {
            "code": 20500,
            "message": "Internal Server Error",
            "status": 500,
            "more_info": "https://www.twilio.com/docs/errors/20500",
        },
    ),
    "21610": (
        400,
        {
            "code": 21610,
            "message": "Attempt to send to unsubscribed recipient",
            "status": 400,
            "more_info": "https://www.twilio.com/docs/errors/21610",
        },
    ),
}


def new_sid(prefix: str) -> str:
    """A Twilio-shaped sid: two letters and 32 hex digits."""
    return prefix + secrets.token_hex(16)


@dataclass
class Sent:
    """One message the assistant sent through the fake's REST API."""

    sid: str
    to: str
    from_: str
    body: str
    status_callback: Optional[str]
    received_at: float


@dataclass
class FakeTwilio:
    """The fake. ``webhook_url`` / ``status_url`` are the assistant's public URLs."""

    webhook_url: str = ""
    status_url: str = ""
    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN
    sent: List[Sent] = field(default_factory=list)
    #: Requests that reached the REST API, failed ones included.
    requests: int = 0
    refused_auth: int = 0
    _failures: List[str] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _server: Optional[ThreadingHTTPServer] = None

    # --- the REST API -----------------------------------------------------------

    @property
    def base_url(self) -> str:
        """TWILIO_API_BASE_URL for the assistant."""
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        if isinstance(host, bytes):  # typeshed allows bytes (AF_UNIX); this is TCP
            host = host.decode()
        return f"http://{host}:{port}"

    def start(self) -> FakeTwilio:
        """Serve the REST API on a free port of 127.0.0.1, in a thread."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                return

            def do_POST(self) -> None:
                fake._rest(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def fail_next(self, *kinds: str) -> None:
        """Answer the next REST requests with these failures ("429", "500", "21610",
        "disconnect"), in order; then succeed again."""
        with self._cond:
            self._failures.extend(kinds)

    def _rest(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length).decode("utf-8")
        form = dict(urllib.parse.parse_qsl(raw, keep_blank_values=True))
        path = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        expected = (
            "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        )
        with self._cond:
            self.requests += 1
            failure = self._failures.pop(0) if self._failures else None
        if handler.headers.get("Authorization") != expected:
            with self._cond:
                self.refused_auth += 1
            self._answer(
                handler,
                401,
                {
                    "code": 20003,
                    "message": "Authenticate",
                    "status": 401,
                    "more_info": "https://www.twilio.com/docs/errors/20003",
                },
            )
            return
        if handler.path != path:
            self._answer(handler, 404, {"code": 20404, "message": "Not Found", "status": 404})
            return
        if failure == "disconnect":
            # The request arrived (and, at the real Twilio, may have been queued).
            handler.close_connection = True
            handler.connection.close()
            return
        if failure is not None:
            status, body = FAILURES[failure]
            self._answer(handler, status, body)
            return
        for required in ("To", "From", "Body"):
            if not form.get(required):
                self._answer(
                    handler,
                    400,
                    {
                        "code": 21602 if required == "Body" else 21604,
                        "message": f"A '{required}' is required.",
                        "status": 400,
                    },
                )
                return
        sent = Sent(
            new_sid("SM"),
            form["To"],
            form["From"],
            form["Body"],
            form.get("StatusCallback"),
            time.monotonic(),
        )
        self._answer(handler, 201, self._resource(sent))
        with self._cond:
            self.sent.append(sent)
            self._cond.notify_all()

    def _resource(self, sent: Sent) -> Dict[str, Any]:
        """A message resource as Twilio's API returns it on create."""
        now = format_datetime(datetime.now(timezone.utc), usegmt=True)
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sent.sid}.json"
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": sent.body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sent.from_,
            "messaging_service_sid": None,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sent.sid,
            "status": "queued",
            "to": sent.to,
            "uri": uri,
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
        }

    @staticmethod
    def _answer(handler: BaseHTTPRequestHandler, status: int, body: Mapping[str, Any]) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    # --- what the assistant sent --------------------------------------------------

    def messages_to(self, address: str) -> List[Sent]:
        """Messages sent to ``address`` so far."""
        with self._cond:
            return [m for m in self.sent if m.to == address]

    def wait_for(self, address: str, count: int, timeout_s: float = 30.0) -> List[Sent]:
        """Wait until ``count`` messages went to ``address``; all of them."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                found = [m for m in self.sent if m.to == address]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(found)} of {count} messages after {timeout_s} s")
                self._cond.wait(left)

    def quiet(self, address: str, seconds: float) -> List[Sent]:
        """Wait ``seconds`` and return what went to ``address`` (to prove nothing did)."""
        time.sleep(seconds)
        return self.messages_to(address)

    # --- Twilio -> the assistant ----------------------------------------------------

    def sign(self, url: str, params: Mapping[str, str], token: Optional[str] = None) -> str:
        """``X-Twilio-Signature`` for a POST of ``params`` to ``url``, as Twilio computes it."""
        return RequestValidator(token or self.auth_token).compute_signature(url, dict(params))

    def inbound_params(
        self,
        from_: str,
        body: str,
        *,
        sid: Optional[str] = None,
        num_media: int = 0,
        to: str = CLINIC_NUMBER,
    ) -> Dict[str, str]:
        """The fields Twilio posts for an incoming SMS (or WhatsApp) message."""
        sid = sid or new_sid("SM")
        whatsapp = from_.startswith("whatsapp:")
        params = {
            "ToCountry": "US",
            "ToState": "CA",
            "SmsMessageSid": sid,
            "NumMedia": str(num_media),
            "ToCity": "",
            "FromZip": "",
            "SmsSid": sid,
            "FromState": "CA",
            "SmsStatus": "received",
            "FromCity": "",
            "Body": body,
            "FromCountry": "US",
            "To": f"whatsapp:{to}" if whatsapp else to,
            "ToZip": "",
            "NumSegments": "1",
            "MessageSid": sid,
            "AccountSid": self.account_sid,
            "From": from_,
            "ApiVersion": "2010-04-01",
        }
        for index in range(num_media):
            params[f"MediaContentType{index}"] = "image/jpeg"
            params[f"MediaUrl{index}"] = (
                f"https://api.twilio.com/2010-04-01/Accounts/"
                f"{self.account_sid}/Messages/{sid}/Media/ME{index}"
            )
        if whatsapp:
            params.update({"ProfileName": "Patient", "WaId": from_.split("+")[-1]})
        return params

    def post(
        self,
        url: str,
        params: Mapping[str, str],
        *,
        signature: Optional[str] = "sign",
        timeout_s: float = 10.0,
    ) -> Tuple[int, str, float]:
        """POST ``params`` form-encoded; (status, body, seconds). ``signature``:
        ``"sign"`` computes the right one, None sends none, any other string is sent."""
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "TwilioProxy/1.1",
        }
        if signature == "sign":
            signature = self.sign(url, params)
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        request = urllib.request.Request(
            url, data=urllib.parse.urlencode(params).encode(), headers=headers
        )
        started = time.monotonic()
        try:
            # Our own local test URL, never user input.
            with urllib.request.urlopen(request, timeout=timeout_s) as reply:
                return reply.status, reply.read().decode(), time.monotonic() - started
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(), time.monotonic() - started

    def sms(self, from_: str, body: str, **kwargs: Any) -> Tuple[int, str, float]:
        """Deliver an inbound message to the webhook, signed; (status, body, seconds)."""
        signature = kwargs.pop("signature", "sign")
        return self.post(
            self.webhook_url, self.inbound_params(from_, body, **kwargs), signature=signature
        )

    def status(
        self, message_sid: str, status: str, error_code: Optional[int] = None, to: str = ""
    ) -> Tuple[int, str, float]:
        """Post a signed delivery status callback for ``message_sid``."""
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "MessageSid": message_sid,
            "SmsSid": message_sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "To": to,
            "From": CLINIC_NUMBER,
        }
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        return self.post(self.status_url, params)


def twilio_env(fake: FakeTwilio) -> Dict[str, str]:
    """The settings that point the assistant's Twilio channel at ``fake``."""
    return {
        "TWILIO_AUTH_TOKEN": fake.auth_token,
        "TWILIO_ACCOUNT_SID": fake.account_sid,
        "TWILIO_NUMBER": CLINIC_NUMBER,
        "TWILIO_ID_KEY": ID_KEY,
        "TWILIO_WEBHOOK_URL": fake.webhook_url,
        "TWILIO_STATUS_URL": fake.status_url,
        "TWILIO_API_BASE_URL": fake.base_url,
    }


def twilio_rasa_server(fake: FakeTwilio, actions: Settings, log_path: Any) -> ServerProcess:
    """A Rasa server with the Twilio channel on, beside the action server of ``actions``.

    ``actions`` are the settings the running action server was started with: the new
    server uses its database, its URL and its shared secret (``ACTION_SERVER_TOKEN``);
    with a secret of its own, every custom action (the escalation record among them)
    would be refused while the domain's replies still went out. Sets ``fake``'s
    webhook and status URLs to the new server's; not started yet.
    """
    port = free_port()
    base = f"http://127.0.0.1:{port}/webhooks/twilio"
    fake.webhook_url, fake.status_url = f"{base}/webhook", f"{base}/status"
    env = twilio_env(fake)
    settings = local_settings(
        actions.db_url,
        RASA_PORT=str(port),
        ACTION_PORT=str(actions.action_port),
        ACTION_SERVER_URL=actions.action_server_url,
        ACTION_SERVER_TOKEN=actions.action_server_token,
        **env,
    )
    server = rasa_server(settings, log_path)
    server.env.update(env)
    server.ready_url = f"{base}/"
    return server
