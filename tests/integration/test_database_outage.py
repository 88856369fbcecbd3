"""PostgreSQL stopped under a running assistant, then started again (issue 13).

Real servers (actions + Rasa) on a private PostgreSQL (tests/private_postgres.py):
while it is down every message gets a kind reply (a danger sign its escalation
instruction first), never silence or an error; once it is back the servers reconnect
and the conversation goes on with nothing before the outage lost.
"""

from __future__ import annotations

import json
from typing import Iterator, List

import psycopg2
import pytest

from clinic_assistant.locks.unavailable import unavailable_reply
from clinic_assistant.servers import action_server, local_settings, rasa_server
from clinic_assistant.settings import get_settings
from tests.conftest import MODEL
from tests.integration.conftest import Stack
from tests.private_postgres import PrivatePostgres

pytestmark = [pytest.mark.integration]

SENDER = "outage-patient"


@pytest.fixture(scope="module")
def postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres().create()
    server.start()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture(scope="module")
def assistant(
    postgres: PrivatePostgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make setup` first")
    folder = tmp_path_factory.mktemp("outage-servers")
    settings = local_settings(postgres.url)
    actions = action_server(settings, folder / "actions.log")
    rasa = rasa_server(settings, folder / "rasa.log")
    try:
        actions.start()
        rasa.start()
        yield Stack(rasa, actions, settings.rasa_port, folder)
    finally:
        rasa.stop()
        actions.stop()


def texts(replies: List[dict]) -> List[str]:
    return [str(r.get("text", "")) for r in replies]


def stored_user_texts(url: str) -> List[str]:
    with psycopg2.connect(url) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT data FROM events WHERE sender_id = %s AND type_name = 'user' ORDER BY id",
            (SENDER,),
        )
        return [json.loads(row[0])["text"] for row in cursor.fetchall()]


def test_an_outage_gets_kind_replies_and_the_conversation_survives_it(
    postgres: PrivatePostgres, assistant: Stack
) -> None:
    before = texts(assistant.say(SENDER, "how long does it last?"))
    assert before and unavailable_reply() not in before

    postgres.stop()
    try:
        down = texts(assistant.say(SENDER, "when does it start working?"))
        assert down == [unavailable_reply()]
        danger = texts(assistant.say(SENDER, "I can't breathe since the shots"))
        emergency = get_settings().clinic.emergency_number
        assert danger[0].startswith("This could be a medical emergency.")
        assert f"Call {emergency} now" in danger[0]
        assert danger[-1] == unavailable_reply()
    finally:
        postgres.start()

    after = texts(assistant.say(SENDER, "how do I prepare?"))
    assert after and unavailable_reply() not in after, after
    # What was stored before the outage is all there, then the turn after it.
    assert stored_user_texts(postgres.url) == ["how long does it last?", "how do I prepare?"]
