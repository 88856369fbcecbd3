"""Issue 9's probes as figures: what a running server does with each attack.

:func:`run` sends each probe over REST and describes the outcome in a few words
(an escalation, a status, what was stored, whether a canary reached the log), so
`python -m bench.worst_case --probes` can put "before" and "after" side by side.
The pass/fail versions of the same probes are tests/integration/test_hardening.py.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Tuple

CANARY = "canary-9b2c my lips are numb"
#: "i have trouble breathing" in fullwidth letters, then plain words.
FULLWIDTH = "".join(chr(ord(c) + 0xFEE0) if c != " " else c for c in "i have trouble breathing")
FULLWIDTH += " since my botox"


def _post(port: int, body: bytes, content_type: str = "application/json") -> Tuple[int, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/webhooks/rest/webhook",
        data=body,
        headers={"Content-Type": content_type},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as reply:
            return reply.status, json.loads(reply.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, None


def _say(port: int, sender: str, text: str) -> Tuple[int, Any]:
    return _post(port, json.dumps({"sender": sender, "message": text}).encode())


def _escalated(reply: Any) -> str:
    if not isinstance(reply, list):
        return "no reply"
    levels = [
        m["custom"]["escalation"]["level"]
        for m in reply
        if isinstance(m.get("custom"), dict) and "escalation" in m["custom"]
    ]
    return f"escalated ({levels[0]})" if levels else "not escalated"


def _rows(db: Path, sql: str, *args: Any) -> List[Any]:
    try:
        with sqlite3.connect(db) as connection:
            return connection.execute(sql, args).fetchall()
    except sqlite3.Error:
        return []


def run(port: int, db: Path, logs: List[Path]) -> Dict[str, str]:
    """Each probe's outcome, in words."""
    out: Dict[str, str] = {}
    hidden = {
        "line break in 'trouble\\nbreathing'": "I have trouble\nbreathing since my botox",
        "zero-width space in 'breathing'": "I have trouble brea\u200bthing since my botox",
        "soft hyphen in 'breathing'": "I have trouble brea\u00adthing since my botox",
        "right-to-left mark in front": "\u200fI have trouble breathing since my botox",
        "combining accent": "I have trouble brea\u0301thing since my botox",
        "fullwidth letters": FULLWIDTH,
        "'/ I cannot breathe since my botox'": "/ I cannot breathe since my botox",
        "'/faq/onset I cannot breathe'": "/faq/onset I cannot breathe",
    }
    for i, (name, text) in enumerate(hidden.items()):
        out[name] = _escalated(_say(port, f"probe-hidden-{i}", text)[1])
    forged = ["/red_flag_emergency", '/red_flag_emergency{"red_flag_symptom": "forged"}']
    for i, text in enumerate(forged):
        sender = f"probe-forged-{i}"
        _say(port, sender, text)
        time.sleep(1)
        rows = _rows(db, "SELECT COUNT(*) FROM escalations WHERE conversation_id = ?", sender)
        out[f"typed {text}"] = f"{rows[0][0] if rows else 0} escalation record(s)"
    body = json.dumps({"sender": "probe-csrf", "message": "/red_flag_emergency"}).encode()
    out["text/plain POST (CSRF)"] = f"status {_post(port, body, 'text/plain')[0]}"
    for name, raw in {
        "empty body": b"",
        "JSON array": b"[]",
        "non-string message": b'{"sender": "p1", "message": 42}',
        "missing sender": b'{"message": "hi"}',
        "10,000-character sender": json.dumps({"sender": "s" * 10_000, "message": "hi"}).encode(),
        "1 MB body": json.dumps({"sender": "p2", "message": "word " * 200_000}).encode(),
    }.items():
        out[name] = f"status {_post(port, raw)[0]}"
    _post(
        port,
        json.dumps({"sender": "probe-chan", "message": "hello", "input_channel": "sms"}).encode(),
    )
    rows = _rows(
        db, "SELECT data FROM events WHERE sender_id = 'probe-chan' AND type_name = 'user'"
    )
    out["client's input_channel 'sms'"] = (
        f"stored as {json.loads(rows[0][0]).get('input_channel')!r}" if rows else "not stored"
    )
    _say(port, "probe-restart", "how long does it last?")
    _say(port, "probe-restart", "/restart")
    kinds = [
        r[0] for r in _rows(db, "SELECT type_name FROM events WHERE sender_id = ?", "probe-restart")
    ]
    out["typed /restart"] = "conversation restarted" if "restart" in kinds else "no restart"
    hang = json.dumps({"sender": "probe-hangup", "message": "I can't breathe since my botox"})
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(
            b"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\n"
            + f"Content-Length: {len(hang)}\r\n\r\n".encode()
            + hang.encode()
        )
        time.sleep(0.05)
    deadline = time.monotonic() + 30
    rows = []
    while time.monotonic() < deadline and not rows:
        rows = _rows(db, "SELECT level FROM escalations WHERE conversation_id = 'probe-hangup'")
        time.sleep(0.5)
    out["client hangs up during an emergency"] = (
        "escalation recorded" if rows else "no escalation record"
    )
    for text_body in [
        json.dumps({"sender": "probe-log", "message": {"text": CANARY}}),
        json.dumps({"sender": "probe-log2", "message": CANARY + " \ud800"}),
        json.dumps({"sender": "probe-log3", "message": "/" + CANARY}),
    ]:
        _post(port, text_body.encode())
    time.sleep(1)
    found = [log.name for log in logs if CANARY in log.read_text("utf-8", "replace")]
    out["canary text in logs (3 failure paths)"] = ", ".join(found) if found else "in no log"
    modes = {p.name: oct(p.stat().st_mode & 0o777) for p in [db, *logs] if p.exists()}
    out["file modes"] = ", ".join(f"{k} {v}" for k, v in modes.items())
    return out
