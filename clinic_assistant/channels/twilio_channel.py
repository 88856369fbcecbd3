"""Text messaging (SMS, and WhatsApp through Twilio's ``whatsapp:`` addresses).

credentials.yml names it as ``clinic_assistant.channels.twilio_channel.ClinicTwilioInput``.
It is on only when ``TWILIO_AUTH_TOKEN`` is set (otherwise its routes do not exist).
Modelled on nyaruka/courier's Twilio handler rather than Rasa's stock ``twilio``
channel (which checks no signature, drops the MessageSid, blocks the event loop with
the synchronous client and sends each button as its own SMS with the raw payload):

* ``POST /webhooks/twilio/webhook``: every request's ``X-Twilio-Signature`` is checked
  with the ``twilio`` package's ``RequestValidator`` against ``TWILIO_WEBHOOK_URL``
  (403 and nothing stored otherwise). The MessageSid is recorded (a redelivery is
  acknowledged and ignored), then the webhook answers at once with an empty TwiML
  ``<Response/>``; the message is handled to completion in a background task, so a
  dropped connection or Twilio's timeout cannot lose it.
* Handling, one message of a conversation at a time, in arrival order: carrier
  keywords (STOP / START / HELP and their synonyms), the numbered options of the
  last reply ("1", "one", "#2"), media-only or empty messages, then the assistant
  itself (Unicode-normalised text, the same NLU and red-flag check as the website).
* Replies go out through the Messages REST API (:mod:`twilio_send`), escalation
  instruction first; each is a row in ``twilio_outbound`` (:mod:`twilio_store`).
* ``POST /webhooks/twilio/status`` (signed the same way, against ``TWILIO_STATUS_URL``):
  delivery status per message; a failed escalation reply is flagged for a call.
* An opted-out patient gets no text at all (the law), but their messages still go
  through the assistant, so a danger sign is recorded and staff are notified.

The conversation id is a keyed hash of the patient's address (``TWILIO_ID_KEY``), so
tracker rows, lock keys and logs never carry a phone number; the number is kept once,
in ``twilio_contacts``. Nothing here logs a number or a message's text.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, FrozenSet, List, Optional, Set
from urllib.parse import parse_qsl

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

from clinic_assistant.channels import twilio_store as store
from clinic_assistant.channels.handling import known_payloads
from clinic_assistant.channels.twilio_send import SendResult, TwilioSender
from clinic_assistant.channels.twilio_text import (
    CHANNEL,
    HELP,
    START,
    STOP,
    RenderedTurn,
    keyword_of,
    option_number,
    pack,
    plain,
    render_turn,
    segments,
)
from clinic_assistant.channels.unhandled import danger_lines, report_danger
from clinic_assistant.settings import Settings, get_settings
from clinic_assistant.text.incoming import prepare, too_long_reply
from clinic_assistant.text.payloads import EXTRA_PAYLOADS

logger = logging.getLogger(__name__)

WHATSAPP_PREFIX = "whatsapp:"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
#: Twilio's webhook bodies are a few KB (a 1,600-character SMS and its fields).
MAX_BODY_BYTES = 64 * 1024
#: How long a stopping server waits for messages still being handled.
SHUTDOWN_WAIT_S = 20.0

# The assistant's own words for text messages ({name}: TWILIO_CLINIC_NAME).
DISCLAIMER = (
    "Automated assistant of {name}: general information, not medical advice. "
    "In an emergency call {emergency}. Reply HELP for help, STOP to opt out."
)
HELP_TEXT = (
    "{name}: call {phone} ({hours}). Text me your question in a few words. "
    "In an emergency call {emergency}. Reply STOP to opt out."
)
STOP_TEXT = (
    "{name}: you are unsubscribed and will get no more texts from this assistant. "
    "Reply START to subscribe again. In an emergency call {emergency}."
)
START_TEXT = "{name}: you are subscribed again. Reply HELP for help, STOP to opt out."
CANT_READ = (
    "Sorry, I can only read text, so I could not see or hear what you sent. "
    "Please type your question in a few words. "
    "If something is wrong right now, call {emergency}."
)
MEDIA_NOTE = "(I can only read text, so I could not see or hear the picture or recording.)"
STALE_NUMBER = (
    "Sorry, that number is not one of the choices I can offer right now. "
    "Please type your question in a few words, or reply MENU to see the topics."
)
FAILURE = (
    "Sorry, something went wrong on my side. Please call {name} at {phone}. "
    "In an emergency call {emergency}."
)


class FormParams(Dict[str, List[str]]):
    """Form fields with every value kept, blank ones too (Twilio signs ``Body=``)."""

    def getlist(self, key: str) -> List[str]:
        """All values of ``key`` (``RequestValidator`` reads lists through this)."""
        return list(self.get(key, []))

    def first(self, key: str) -> str:
        """The first value of ``key``, or ``""``."""
        values = self.get(key)
        return values[0] if values else ""


def parse_form(body: bytes) -> Optional[FormParams]:
    """The url-encoded body, or None when it is not UTF-8."""
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        return None
    params = FormParams()
    for key, value in pairs:
        params.setdefault(key, []).append(value)
    return params


def conversation_id(address: str, key: str) -> str:
    """The conversation id for a patient's address: a keyed hash, never the number."""
    digest = hmac.new(key.encode("utf-8"), address.encode("utf-8"), hashlib.sha256)
    return f"{CHANNEL}_{digest.hexdigest()[:32]}"


def normalize_address(raw: str) -> str:
    """``+15550100123`` or ``whatsapp:+15550100123``, without spaces."""
    address = "".join(raw.split())
    if address.lower().startswith(WHATSAPP_PREFIX):
        return WHATSAPP_PREFIX + address[len(WHATSAPP_PREFIX) :]
    return address


@dataclass(frozen=True)
class Inbound:
    """One message from Twilio's webhook (the text and address stay in memory only)."""

    message_sid: str
    address: str
    conversation_id: str
    body: str
    num_media: int

    @property
    def channel(self) -> str:
        """``whatsapp`` or ``sms``."""
        return "whatsapp" if self.address.startswith(WHATSAPP_PREFIX) else "sms"


class TwilioOutput(CollectingOutputChannel):
    """Collects each response of a turn whole (text, buttons and custom together)."""

    def __init__(self) -> None:
        """An empty turn."""
        super().__init__()
        self.responses: List[Dict[str, Any]] = []

    @classmethod
    def name(cls) -> str:
        """The channel name ClinicNLG sees (it picks the SMS clinic name by it)."""
        return CHANNEL

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        """Keep the response as it is; the channel renders the whole turn at once."""
        self.responses.append(dict(message))


class ClinicTwilioInput(InputChannel):
    """Twilio's SMS / WhatsApp webhook, signed, idempotent and answered at once."""

    def __init__(self, settings: Optional[Settings] = None) -> None:
        """Use ``settings`` (default: the process settings)."""
        self.settings = settings or get_settings()
        self.twilio = self.settings.twilio
        self.sender: Optional[TwilioSender] = None
        self._tasks: Set[asyncio.Task[None]] = set()
        # Per conversation: its lock and how many messages hold or wait for it.
        self._locks: Dict[str, List[Any]] = {}
        self._seen: Set[str] = set()  # MessageSids, if the database cannot be reached
        self._payloads: FrozenSet[str] = EXTRA_PAYLOADS
        self._domain: Any = None  # the loaded model's domain, once a message came

    @classmethod
    def name(cls) -> str:
        """``twilio``: the routes are under ``/webhooks/twilio/``."""
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        """Secrets come from the environment (the settings), never from credentials.yml."""
        return cls()

    # --- the routes --------------------------------------------------------------

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The webhook and status routes; none at all when the channel is off."""
        blueprint = Blueprint("clinic_twilio_webhook", __name__)
        if not self.twilio.enabled:
            logger.info("Text messaging is off (TWILIO_AUTH_TOKEN is not set).")
            return blueprint
        validator = RequestValidator(self.twilio.auth_token)

        @blueprint.listener("before_server_stop")
        async def finish(*_: Any) -> None:
            await self.drain(SHUTDOWN_WAIT_S)

        @blueprint.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @blueprint.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            params = self._signed_form(request, validator, self.twilio.webhook_url)
            if params is None:
                return response.text("Forbidden", status=403)
            sid = params.first("MessageSid") or params.first("SmsSid")
            address = normalize_address(params.first("From"))
            if not sid or not address:
                return response.text("Missing MessageSid or From", status=400)
            try:
                num_media = max(0, int(params.first("NumMedia") or 0))
            except ValueError:
                num_media = 0
            inbound = Inbound(
                sid,
                address,
                conversation_id(address, self.twilio.id_key),
                params.first("Body"),
                num_media,
            )
            # The domain's own button payloads: only those may bypass understanding.
            self._payloads = known_payloads(request.app)
            self._domain = getattr(getattr(request.app.ctx, "agent", None), "domain", None)
            if await self._claim(inbound):
                self._spawn(self.handle(inbound, on_new_message))
            return response.text(EMPTY_TWIML, content_type="text/xml")

        @blueprint.route("/status", methods=["POST"])
        async def status(request: Request) -> HTTPResponse:
            params = self._signed_form(request, validator, self.twilio.status_url)
            if params is None:
                return response.text("Forbidden", status=403)
            await self.apply_status(params)
            return response.empty(status=200)

        return blueprint

    def _signed_form(
        self, request: Request, validator: RequestValidator, url: str
    ) -> Optional[FormParams]:
        """The form, if Twilio signed it for ``url``; None for anything else."""
        signature = request.headers.get("X-Twilio-Signature", "")
        body = request.body or b""
        if not signature or len(body) > MAX_BODY_BYTES:
            logger.warning("Refused a Twilio request without a signature or too large.")
            return None
        params = parse_form(body)
        if params is None or not validator.validate(url, params, signature):
            logger.warning("Refused a Twilio request with a wrong signature.")
            return None
        return params

    async def _claim(self, inbound: Inbound) -> bool:
        """True the first time a MessageSid is seen."""
        try:
            fresh = await asyncio.to_thread(
                store.claim_inbound,
                self.settings.db_url,
                inbound.message_sid,
                inbound.conversation_id,
                inbound.num_media,
            )
        except Exception as error:  # noqa: BLE001 - the message must still be handled
            logger.error(
                "Could not record inbound message %s (%s); handling it anyway",
                inbound.message_sid,
                type(error).__name__,
            )
            fresh = inbound.message_sid not in self._seen
        self._seen.add(inbound.message_sid)
        if len(self._seen) > 10_000:
            self._seen.clear()
        if not fresh:
            logger.info("Message %s was delivered again; ignored", inbound.message_sid)
        return fresh

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        # The loop keeps only weak references to tasks: keep ours until done.
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, timeout_s: float) -> None:
        """Wait for messages still being handled (server stop, tests, bench)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout_s)
        if self.sender is not None:
            await self.sender.close()
            self.sender = None

    # --- handling a message -------------------------------------------------------

    def _words(self, template: str) -> str:
        clinic = self.settings.clinic
        return template.format(
            name=self.twilio.clinic_name or clinic.name,
            phone=clinic.phone,
            hours=clinic.hours,
            emergency=clinic.emergency_number,
        )

    async def handle(
        self, inbound: Inbound, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        """Handle one message to the end; never raises (the webhook has answered)."""
        entry = self._locks.setdefault(inbound.conversation_id, [asyncio.Lock(), 0])
        entry[1] += 1
        outcome = "failed"
        try:
            async with entry[0]:
                await self._handle(inbound, on_new_message)
                outcome = "done"
        except Exception as error:  # noqa: BLE001 - the webhook has answered: log, tell
            # The error's type only: an exception's text may quote the patient's message.
            logger.error(
                "Handling message %s of conversation %s failed (%s)",
                inbound.message_sid,
                inbound.conversation_id,
                type(error).__name__,
            )
            await self._tell_failure(inbound)
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                self._locks.pop(inbound.conversation_id, None)
            try:
                await asyncio.to_thread(
                    store.finish_inbound, self.settings.db_url, inbound.message_sid, outcome
                )
            except Exception as error:  # noqa: BLE001
                logger.error(
                    "Could not mark message %s %s (%s)",
                    inbound.message_sid,
                    outcome,
                    type(error).__name__,
                )

    async def _tell_failure(self, inbound: Inbound) -> None:
        """A kind reply after a failure (the danger-sign instruction first when the
        message is one), unless the patient opted out."""
        lines, assessment = danger_lines(
            prepare(inbound.body, self._payloads).text, self._domain, CHANNEL
        )
        report_danger(assessment, inbound.conversation_id, CHANNEL, inbound.body)
        try:
            db = self.settings.db_url
            try:
                opted_out = await asyncio.to_thread(store.is_opted_out, db, inbound.conversation_id)
            except Exception as error:  # noqa: BLE001 - the database is down too
                # Send anyway: Twilio itself refuses texts to a number that sent STOP.
                logger.error("Could not read the opt-out (%s)", type(error).__name__)
                opted_out = False
            if opted_out:
                return
            texts = [*lines, self._words(FAILURE)]
            await self._send_texts(inbound, texts, kind="notice")
        except Exception as error:  # noqa: BLE001 - nothing more to do; it is logged
            logger.error(
                "Could not tell conversation %s about the failure (%s)",
                inbound.conversation_id,
                type(error).__name__,
            )

    async def _handle(
        self, inbound: Inbound, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        db = self.settings.db_url
        state = await asyncio.to_thread(
            store.touch_conversation, db, inbound.conversation_id, inbound.address, inbound.channel
        )
        # The one preparation every channel shares: normalised, bounded, "/" screened.
        incoming = prepare(inbound.body, self._payloads)
        text = incoming.text
        keyword = keyword_of(text)
        disclaimer = self._words(DISCLAIMER) if state.new else None

        if keyword == STOP:
            changed = await asyncio.to_thread(
                store.set_opted_out, db, inbound.conversation_id, True, text.strip().upper()[:32]
            )
            if changed:  # confirmed once, not again on a second STOP
                await self._send_texts(inbound, [self._words(STOP_TEXT)], kind="keyword")
            return
        if keyword == START and (state.opted_out or text.strip().upper() != "YES"):
            await asyncio.to_thread(
                store.set_opted_out, db, inbound.conversation_id, False, text.strip().upper()[:32]
            )
            await self._send_texts(inbound, [self._words(START_TEXT)], kind="keyword")
            return
        if state.opted_out:
            await self._silently(inbound, text, on_new_message)
            return
        if keyword == HELP:
            await self._send_texts(inbound, [self._words(HELP_TEXT)], kind="keyword")
            return
        if not text:
            await self._send_texts(
                inbound,
                [*([disclaimer] if disclaimer else []), self._words(CANT_READ)],
                kind="reply",
            )
            return
        number = option_number(text)
        if number is not None:
            if number > len(state.menu):
                await self._send_texts(
                    inbound,
                    [*([disclaimer] if disclaimer else []), self._words(STALE_NUMBER)],
                    kind="reply",
                )
                return
            text = state.menu[number - 1].payload
        responses = await self._ask(inbound, text, on_new_message)
        if not any(r.get("text") for r in responses):
            # No model loaded yet, or a turn without a reply: never leave a patient
            # without an answer (and the emergency number).
            logger.warning("No reply for message %s; sent the fallback", inbound.message_sid)
            responses.append({"text": self._words(FAILURE)})
        if inbound.num_media:
            responses.append({"text": MEDIA_NOTE})
        if incoming.too_long:
            responses.append({"text": too_long_reply()})
        turn = render_turn(responses, disclaimer=disclaimer)
        await asyncio.to_thread(store.set_menu, db, inbound.conversation_id, turn.options)
        await self._send_turn(inbound, turn)

    async def _ask(
        self,
        inbound: Inbound,
        text: str,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> List[Dict[str, Any]]:
        """The assistant's responses to ``text`` (the same agent as every channel)."""
        output = TwilioOutput()
        message = UserMessage(
            text,
            output,
            inbound.conversation_id,
            input_channel=CHANNEL,
            message_id=inbound.message_sid,
            metadata={"channel": inbound.channel},
        )
        # A failure inside Rasa (tracker or lock store down) reaches handle(), whose
        # _tell_failure reads the message for danger signs and replies kindly.
        await on_new_message(message)
        return output.responses

    async def _silently(
        self,
        inbound: Inbound,
        text: str,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> None:
        """An opted-out patient: the assistant reads it (staff see danger signs), no text."""
        if not text:
            return
        turn = render_turn(await self._ask(inbound, text, on_new_message))
        if turn.escalation_level is not None:
            await asyncio.to_thread(
                store.new_outbound,
                self.settings.db_url,
                conversation_id=inbound.conversation_id,
                inbound_sid=inbound.message_sid,
                kind="escalation",
                escalation_level=turn.escalation_level,
                segments=segments(turn.bodies[0]) if turn.bodies else 0,
                status="not_sent_opted_out",
            )
            logger.warning(
                "Conversation %s opted out of texts and reported a %s danger sign: "
                "no text sent; staff must call the patient",
                inbound.conversation_id,
                turn.escalation_level,
            )

    # --- sending ------------------------------------------------------------------------

    def _sender(self) -> TwilioSender:
        if self.sender is None:
            self.sender = TwilioSender(
                account_sid=self.twilio.account_sid,
                auth_token=self.twilio.auth_token,
                api_base_url=self.twilio.api_base_url,
                status_callback_url=self.twilio.status_url,
                timeout_s=self.twilio.send_timeout_s,
                attempts=self.twilio.send_attempts,
            )
        return self.sender

    def _from(self, inbound: Inbound) -> str:
        if inbound.channel == "whatsapp":
            return WHATSAPP_PREFIX + self.twilio.whatsapp_number
        return self.twilio.number

    async def _send_texts(self, inbound: Inbound, texts: List[str], kind: str) -> None:
        await self._send_turn(
            inbound, RenderedTurn(bodies=tuple(pack(plain(t) for t in texts))), kind=kind
        )

    async def _send_turn(self, inbound: Inbound, turn: RenderedTurn, kind: str = "reply") -> None:
        """Send each body in order; stop at the first one Twilio did not take."""
        db = self.settings.db_url
        for index, body in enumerate(turn.bodies):
            level = turn.escalation_level if index == turn.escalation_body else None
            row_kind = "escalation" if level is not None else kind
            window_ok = inbound.channel != "whatsapp" or await asyncio.to_thread(
                self._in_window, inbound.conversation_id
            )
            row = await asyncio.to_thread(
                store.new_outbound,
                db,
                conversation_id=inbound.conversation_id,
                inbound_sid=inbound.message_sid,
                kind=row_kind,
                escalation_level=level,
                segments=segments(body),
                status="sending_api" if window_ok else "outside_window",
            )
            if not window_ok:
                logger.warning(
                    "Conversation %s is outside WhatsApp's 24-hour window: reply not sent",
                    inbound.conversation_id,
                )
                return
            result = await self._sender().send(
                to=inbound.address, from_=self._from(inbound), body=body
            )
            await asyncio.to_thread(
                store.finish_outbound,
                db,
                row,
                status=result.status,
                message_sid=result.message_sid,
                error_code=result.error_code,
                attempts=result.attempts,
            )
            if not result.accepted:
                await self._not_sent(inbound, result, level)
                return

    def _in_window(self, conversation: str) -> bool:
        last = store.last_inbound_at(self.settings.db_url, conversation)
        return last is not None and store.within_window(last)

    async def _not_sent(self, inbound: Inbound, result: SendResult, level: Optional[str]) -> None:
        if result.error_code == store.OPTED_OUT_ERROR:
            # Twilio's own opt-out list has the patient (they replied STOP to Twilio).
            await asyncio.to_thread(
                store.set_opted_out,
                self.settings.db_url,
                inbound.conversation_id,
                True,
                "error_21610",
            )
        if level is not None:
            logger.warning(
                "The %s escalation reply to conversation %s was not sent (%s): "
                "staff must call the patient",
                level,
                inbound.conversation_id,
                result.status,
            )

    # --- delivery status -------------------------------------------------------------------

    async def apply_status(self, params: FormParams) -> None:
        """Record a delivery status callback; flag an escalation reply that failed."""
        sid = params.first("MessageSid") or params.first("SmsSid")
        status = (params.first("MessageStatus") or params.first("SmsStatus")).lower()
        if not sid or status not in store.STATUS_RANK:
            return
        raw_code = params.first("ErrorCode")
        error_code = int(raw_code) if raw_code.isdigit() else None
        update = await asyncio.to_thread(
            store.apply_status, self.settings.db_url, sid, status, error_code
        )
        if not update.known or update.conversation_id is None:
            return
        if update.opted_out:
            await asyncio.to_thread(
                store.set_opted_out,
                self.settings.db_url,
                update.conversation_id,
                True,
                "error_21610",
            )
        if update.needs_callback:
            logger.warning(
                "An escalation reply to conversation %s was %s: staff must call the patient",
                update.conversation_id,
                update.status,
            )
