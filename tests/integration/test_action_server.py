"""The real action server: bound to BIND_HOST, every route but /health behind the
shared secret, and a forged POST /webhook never creates an escalation record."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, Iterator, Optional, Tuple

import pytest
import sqlalchemy as sa

from clinic_assistant.escalations import store
from clinic_assistant.servers import (
    PROJECT_ROOT,
    ServerProcess,
    action_server,
    free_port,
    local_settings,
)

pytestmark = pytest.mark.integration

TOKEN = "integration-test-token-0123456789abcdef"
CALL = {
    "next_action": "action_record_escalation",
    "sender_id": "forged-1",
    "version": "3.6.2",
    "domain": {},
    "tracker": {
        "sender_id": "forged-1",
        "slots": {},
        "latest_message": {
            "text": "attacker text",
            "intent": {"name": "red_flag_emergency", "confidence": 1.0},
            "entities": [{"entity": "red_flag_symptom", "value": "choking"}],
        },
        "events": [],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": None,
    },
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tuple[ServerProcess, int, str]]:
    """The action server with a known token and a tmp database."""
    folder = tmp_path_factory.mktemp("actions")
    db_url = f"sqlite:///{folder / 'assistant.db'}"
    settings = local_settings(db_url, ACTION_SERVER_TOKEN=TOKEN)
    port = settings.action_port
    process = action_server(settings, folder / "actions.log")
    process.start(timeout_s=60)
    try:
        yield process, port, db_url
    finally:
        process.stop()
        store.dispose_engines()


def _post(port: int, body: bytes, headers: Optional[Dict[str, str]] = None) -> Tuple[int, bytes]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/webhook",
        data=body,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _rows(db_url: str) -> int:
    engine = sa.create_engine(db_url)
    try:
        if not sa.inspect(engine).has_table("escalations"):
            return 0
        with engine.connect() as connection:
            return int(connection.execute(sa.text("SELECT COUNT(*) FROM escalations")).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token-wrong-token-wrong"},
        {"Authorization": TOKEN},  # without the scheme
        {"Authorization": f"Bearer {TOKEN}x"},
        {"X-Forwarded-For": "127.0.0.1"},
    ],
)
def test_a_forged_webhook_call_is_refused_and_records_nothing(
    server: Tuple[ServerProcess, int, str], headers: Dict[str, str]
) -> None:
    _, port, db_url = server
    status, body = _post(port, json.dumps(CALL).encode(), headers)
    assert status == 401 and json.loads(body) == {"error": "unauthorized"}
    time.sleep(0.2)
    assert _rows(db_url) == 0


def test_the_action_list_needs_the_token_too(server: Tuple[ServerProcess, int, str]) -> None:
    _, port, _ = server
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/actions", timeout=10)
    assert refused.value.code == 401


def test_rasas_call_with_the_token_records_and_returns_the_slot(
    server: Tuple[ServerProcess, int, str],
) -> None:
    _, port, db_url = server
    call = json.loads(json.dumps(CALL))
    call["sender_id"] = call["tracker"]["sender_id"] = "patient-real"
    status, body = _post(port, json.dumps(call).encode(), {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200
    [event] = json.loads(body)["events"]
    assert event["name"] == "escalation_ref"
    deadline = time.monotonic() + 10
    while _rows(db_url) == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    [record] = store.list_escalations(db_url=db_url)
    assert (record.ref, record.conversation_id, record.symptoms) == (
        event["value"],
        "patient-real",
        ("choking",),
    )


def _listening_addresses(port: int) -> set:
    """Local addresses with a listening TCP socket on ``port`` (from /proc/net/tcp*)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if int(hex_port, 16) == port and state == "0A":  # LISTEN
                found.add(address)
    return found


def test_it_listens_on_loopback_only(server: Tuple[ServerProcess, int, str]) -> None:
    _, port, _ = server
    assert _listening_addresses(port) == {"0100007F"}  # 127.0.0.1, not 0.0.0.0


def test_it_will_not_start_without_a_token(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "ACTION_SERVER_TOKEN": "",
        "ASSISTANT_DB_URL": f"sqlite:///{tmp_path / 'a.db'}",
    }
    result = subprocess.run(
        [sys.executable, "-m", "clinic_assistant.action_server", "--port", str(free_port())],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "ACTION_SERVER_TOKEN must be set" in result.stderr
