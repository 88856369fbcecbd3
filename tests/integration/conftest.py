"""Real servers on free ports with a throwaway SQLite database."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from clinic_assistant.servers import ServerProcess, action_server, local_settings, rasa_server
from tests.conftest import MODEL


@dataclass
class Stack:
    """The Rasa server and the action server shared by the integration tests."""

    rasa: ServerProcess
    actions: ServerProcess
    rasa_port: int
    db_path: Path

    def say(self, sender: str, text: str, timeout_s: float = 30) -> List[Dict[str, Any]]:
        """POST a message to the REST channel; the bot's messages."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.rasa_port}/webhooks/rest/webhook",
            data=json.dumps({"sender": sender, "message": text}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout_s) as reply:
            return list(json.loads(reply.read()))


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Start the action server and the Rasa server; stop both afterwards."""
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make setup` first")
    folder = tmp_path_factory.mktemp("stack")
    db_path = folder / "assistant.db"
    db_url = f"sqlite:///{db_path}"
    settings = local_settings(db_url)
    rasa_port = settings.rasa_port
    actions = action_server(settings, folder / "actions.log")
    rasa = rasa_server(settings, folder / "rasa.log")
    try:
        actions.start()
        rasa.start()
        yield Stack(rasa, actions, rasa_port, db_path)
    finally:
        rasa.stop()
        actions.stop()
