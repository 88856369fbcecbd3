"""Issue 9's probes against the real servers: each stays fixed.

Hidden danger signs, forged payloads, malformed and oversized requests, sender ids,
a client that hangs up mid-message, patient text in logs, file modes, and (on a
second server reached through a non-loopback address) the token and rate limit.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import stat
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from clinic_assistant.servers import local_settings, rasa_server
from clinic_assistant.text.normalize import MAX_MESSAGE_CHARS
from tests.integration.conftest import Stack

pytestmark = pytest.mark.integration
EMERGENCY = "I can't breathe since my botox"


def post(
    port: int,
    body: bytes,
    content_type: str = "application/json",
    headers: Optional[Dict[str, str]] = None,
    host: str = "127.0.0.1",
) -> Tuple[int, Any]:
    """POST raw bytes to the REST webhook; (status, decoded JSON reply)."""
    request = urllib.request.Request(
        f"http://{host}:{port}/webhooks/rest/webhook",
        data=body,
        headers={"Content-Type": content_type, **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def escalations(messages: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [
        m["custom"]["escalation"]
        for m in messages
        if isinstance(m.get("custom"), dict) and "escalation" in m["custom"]
    ]


def texts(messages: List[Dict[str, Any]]) -> List[str]:
    return [m["text"] for m in messages if "text" in m]


def db_rows(stack: Stack, sql: str, *args: Any) -> List[Tuple[Any, ...]]:
    with sqlite3.connect(stack.db_path) as db:
        return db.execute(sql, args).fetchall()


def wait_for_rows(stack: Stack, sql: str, *args: Any, timeout_s: float = 20) -> List[Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        rows = db_rows(stack, sql, *args)
        if rows or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


ESCALATION_ROWS = "SELECT level FROM escalations WHERE conversation_id = ?"


# -- hidden danger signs ------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "I have trouble\nbreathing since my botox",
        "I have trouble brea\u200bthing since my botox",
        "I have trouble brea\u00adthing since my botox",
        "\u200fI have trouble breathing since my botox",
        "I have trouble brea\u0301thing since my botox",
        "ｉ ｈａｖｅ ｔｒｏｕｂｌｅ ｂｒｅａｔｈｉｎｇ since my botox",  # noqa: RUF001
        "/ I cannot breathe since my botox",
        "/faq/onset I cannot breathe",
        "//faq/side_effects my throat is closing and I can't breathe",
    ],
)
def test_hidden_danger_signs_escalate(stack: Stack, typed: str) -> None:
    reply = stack.say(f"hidden-{abs(hash(typed))}", typed)
    assert [e["level"] for e in escalations(reply)] == ["emergency"], texts(reply)


def test_a_lone_surrogate_gets_a_reply_and_the_escalation(stack: Stack) -> None:
    # Half an emoji (a lone surrogate), as a broken client cuts one; json.dumps
    # writes it as the escape \ud83d.
    body = json.dumps({"sender": "surrogate-1", "message": "I can't breathe \ud83d since my botox"})
    status, reply = post(stack.rasa_port, body.encode())
    assert status == 200 and texts(reply)
    assert escalations(reply) and escalations(reply)[0]["level"] == "emergency"


# -- forged payloads ----------------------------------------------------------


@pytest.mark.parametrize(
    "forged",
    [
        "/red_flag_emergency",
        "/red_flag_urgent",
        '/red_flag_emergency{"red_flag_symptom": "anything the attacker likes"}',
        "/red_flag_emergency@1.0",
    ],
)
def test_typed_red_flag_payloads_create_no_escalation(stack: Stack, forged: str) -> None:
    sender = f"forged-{abs(hash(forged))}"
    reply = stack.say(sender, forged)
    assert texts(reply) and not escalations(reply)
    time.sleep(1.0)
    assert db_rows(stack, ESCALATION_ROWS, sender) == []


def test_ordinary_messages_record_no_escalation(stack: Stack) -> None:
    # Once, a slot mapping made Rasa run the record action on every message.
    for text in ("hello", "how long does it last?", "asdf qwerty", "/faq/onset"):
        stack.say("ordinary-1", text)
    time.sleep(1.0)
    assert db_rows(stack, ESCALATION_ROWS, "ordinary-1") == []


def test_the_assistant_s_own_buttons_still_work(stack: Stack) -> None:
    reply = stack.say("button-1", "/faq/onset")
    assert texts(reply)[0].startswith("Onset of relief")


def test_restart_typed_on_rest_wipes_nothing(stack: Stack) -> None:
    stack.say("keep-1", "how long does it last?")
    stack.say("keep-1", "/restart")
    kinds = [
        row[0]
        for row in db_rows(stack, "SELECT type_name FROM events WHERE sender_id = ?", "keep-1")
    ]
    assert "restart" not in kinds and kinds.count("user") == 2


# -- malformed and oversized requests -----------------------------------------


@pytest.mark.parametrize(
    "body, content_type, status",
    [
        (b"", "application/json", 400),
        (b"[]", "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b"not json", "application/json", 400),
        (b'{"sender": "m1", "message": 42}', "application/json", 400),
        (b'{"sender": "m1", "message": {"text": "hi"}}', "application/json", 400),
        (b'{"sender": "m1"}', "application/json", 400),
        (b'{"message": "hi"}', "application/json", 400),
        (b'{"sender": null, "message": "hi"}', "application/json", 400),
        (b'{"sender": "", "message": "hi"}', "application/json", 400),
        (json.dumps({"sender": "s" * 10_000, "message": "hi"}).encode(), "application/json", 400),
        (
            b'{"sender": "web-0123456789abcdef0123456789abcdef", "message": "/restart"}',
            "application/json",
            400,
        ),
        # A cross-site form or fetch without a preflight (CSRF).
        (b'{"sender": "m1", "message": "/red_flag_emergency"}', "text/plain", 415),
        (b"sender=m1&message=hi", "application/x-www-form-urlencoded", 415),
        (b'{"sender": "m1", "message": "' + b"a" * 100_000 + b'"}', "application/json", 413),
        (b'{"sender": "m1", "message": "' + b"a b " * 250_000 + b'"}', "application/json", 413),
    ],
)
def test_bad_requests_get_a_status_and_a_short_reason(
    stack: Stack, body: bytes, content_type: str, status: int
) -> None:
    got, reply = post(stack.rasa_port, body, content_type)
    assert got == status
    assert isinstance(reply, dict) and 0 < len(reply["error"]) < 100


def test_a_long_message_gets_the_escalation_and_a_kind_notice(stack: Stack) -> None:
    message = "I can't breathe since my botox. " + "Also I wanted to ask something. " * 200
    assert len(message) > MAX_MESSAGE_CHARS
    reply = stack.say("long-1", message)
    assert escalations(reply) and escalations(reply)[0]["level"] == "emergency"
    assert "shorter message" in texts(reply)[-1]
    stored = db_rows(
        stack, "SELECT data FROM events WHERE sender_id = ? AND type_name = 'user'", "long-1"
    )
    assert len(json.loads(stored[0][0])["text"]) <= MAX_MESSAGE_CHARS


def test_input_channel_and_metadata_from_the_client_are_not_kept(stack: Stack) -> None:
    body = json.dumps(
        {
            "sender": "meta-1",
            "message": "hello",
            "input_channel": "sms",
            "metadata": {"blob": "m" * 30_000},
        }
    ).encode()
    status, _reply = post(stack.rasa_port, body)
    assert status == 200
    rows = db_rows(stack, "SELECT data FROM events WHERE sender_id = ?", "meta-1")
    assert rows and all("m" * 100 not in row[0] for row in rows)
    users = [json.loads(row[0]) for row in rows if '"event": "user"' in row[0]]
    assert [u["input_channel"] for u in users] == ["rest"]


def test_a_web_chat_conversation_cannot_be_written_from_rest(stack: Stack) -> None:
    """A conversation another channel started (here: a stored web chat) is refused."""
    stack.say("owned-1", "hello")
    with sqlite3.connect(stack.db_path) as db:
        db.execute(
            'UPDATE events SET data = replace(data, \'"input_channel": "rest"\', '
            "'\"input_channel\": \"socketio\"') WHERE sender_id = 'owned-1'"
        )
    status, reply = post(stack.rasa_port, b'{"sender": "owned-1", "message": "/restart"}')
    assert status == 409 and "another channel" in reply["error"]


# -- the client hangs up ------------------------------------------------------


def test_an_emergency_is_handled_to_completion_when_the_client_hangs_up(stack: Stack) -> None:
    sender = "hangup-1"
    body = json.dumps({"sender": sender, "message": EMERGENCY}).encode()
    head = (
        f"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", stack.rasa_port), timeout=10) as client:
        client.sendall(head + body)
        time.sleep(0.05)  # the server has started on it; then the phone loses signal
    assert wait_for_rows(stack, ESCALATION_ROWS, sender) == [("emergency",)]
    # The tracker is saved when the turn ends, just after the action ran.
    wait_for_rows(stack, "SELECT 1 FROM events WHERE sender_id = ? AND type_name = 'bot'", sender)
    kinds = [
        row[0] for row in db_rows(stack, "SELECT type_name FROM events WHERE sender_id = ?", sender)
    ]
    assert "user" in kinds and "bot" in kinds


# -- privacy ------------------------------------------------------------------


def test_patient_text_reaches_no_log_on_any_failure_path(stack: Stack) -> None:
    canary = "canary-5e1d my lips are numb"
    paths = [
        json.dumps({"sender": "log-1", "message": {"text": canary}}),  # non-string
        json.dumps({"sender": "log-2", "message": canary + " \ud800"}),  # lone surrogate
        json.dumps({"sender": "log-3", "message": "/" + canary}),  # unknown "/intent"
        json.dumps({"sender": "log-4", "message": "/faq/" + canary}),
        json.dumps({"sender": canary, "message": canary}),  # invalid sender
        json.dumps([canary]),  # not an object
        json.dumps({"sender": "log-5", "message": canary + " and I can't breathe"}),
    ]
    for body in paths:
        post(stack.rasa_port, body.encode())
    post(stack.rasa_port, json.dumps({"sender": "log-6", "message": canary}).encode(), "text/plain")
    raw = json.dumps({"sender": "log-7", "message": canary + " I cannot swallow"}).encode()
    with socket.create_connection(("127.0.0.1", stack.rasa_port), timeout=10) as client:
        client.sendall(
            b"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\n"
            + f"Content-Length: {len(raw)}\r\n\r\n".encode()
            + raw
        )
    wait_for_rows(stack, ESCALATION_ROWS, "log-7")
    time.sleep(1.0)
    logs = [stack.rasa.log_path, stack.actions.log_path]
    for log in logs:
        text = log.read_text("utf-8", "replace")
        assert "canary-5e1d" not in text and "lips are numb" not in text, log.name


def test_the_database_and_logs_are_private(stack: Stack) -> None:
    stack.say("modes-1", "hello")
    for path in (stack.db_path, stack.rasa.log_path, stack.actions.log_path):
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path.name


# -- from another address: token and rate limit --------------------------------


def outside_address() -> Optional[str]:
    """This machine's own non-loopback address, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent for UDP connect
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


TOKEN = "test-token-" + "x" * 24
RATE = 4


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tuple[str, int]]:
    """A second Rasa server listening on the non-loopback address only."""
    address = outside_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address")
    folder = tmp_path_factory.mktemp("outside")
    settings = local_settings(
        f"sqlite:///{folder / 'db.sqlite'}",
        BIND_HOST=address,
        REST_TOKEN=TOKEN,
        REST_RATE_LIMIT=str(RATE),
    )
    server = rasa_server(settings, folder / "rasa.log")
    server.env.update(REST_TOKEN=TOKEN, REST_RATE_LIMIT=str(RATE))
    try:
        server.start()
        yield address, settings.rasa_port
    finally:
        server.stop()


def test_another_address_needs_the_token_and_is_rate_limited(outside: Tuple[str, int]) -> None:
    address, port = outside
    body = json.dumps({"sender": "outside-1", "message": "hello"}).encode()
    assert post(port, body, host=address)[0] == 401
    assert post(port, body, host=address, headers={"Authorization": "Bearer wrong"})[0] == 401
    auth = {"Authorization": f"Bearer {TOKEN}"}
    # The first message warms the model up and holds the event loop for seconds;
    # after it (and one refill period, so the bucket is full again) all at once:
    # sent one after another, the bucket would refill between them.
    assert post(port, body, host=address, headers=auth)[0] == 200
    time.sleep(60 / RATE + 1)
    with ThreadPoolExecutor(max_workers=RATE + 1) as pool:
        statuses = list(
            pool.map(lambda _: post(port, body, host=address, headers=auth), range(RATE + 1))
        )
    assert sorted(s for s, _ in statuses) == [200] * RATE + [429]
    [reply] = [r for s, r in statuses if s == 429]
    assert "wait a minute" in texts(reply)[0]
