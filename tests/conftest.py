"""Shared test fixtures: paths and the trained model, loaded once per session."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "clinic.tar.gz"
SHEET = ROOT / "data" / "source" / "botox-for-cervical-dystonia.txt"

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

#: Folders whose every test is of that kind (the marker has the folder's name).
FOLDER_MARKERS = ("integration", "browser")
#: Fixtures that need the trained model: a test using one is a `model` test.
MODEL_FIXTURES = frozenset({"parser", "net"})  # "net": needs the sentence encoder files


def pytest_collection_modifyitems(items: List[pytest.Item]) -> None:
    """Mark each test by what it needs, so `make unit` runs only the fast ones.

    A test under tests/integration or tests/browser gets that folder's marker; any
    other test that uses the trained model (through a fixture in MODEL_FIXTURES)
    gets ``model``. Everything else is a unit test: no model, no server, no browser.
    """
    tests_dir = ROOT / "tests"
    for item in items:
        folder = Path(str(item.path)).relative_to(tests_dir).parts[0]
        if folder in FOLDER_MARKERS:
            item.add_marker(folder)
        elif MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker("model")


class Parser:
    """The trained model's NLU, in this process (no HTTP): text -> parse data."""

    def __init__(self, model: Path) -> None:
        from rasa.core.agent import Agent

        self.loop = asyncio.new_event_loop()
        self.agent = Agent.load(str(model))

    def parse(self, text: str) -> Dict[str, Any]:
        """What the NLU makes of ``text``."""
        return self.loop.run_until_complete(self.agent.parse_message(text))


@pytest.fixture(scope="session")
def parser() -> Iterator[Parser]:
    """The trained model; `make test` trains it before pytest runs."""
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make setup` (or `make test`) first")
    parser = Parser(MODEL)
    yield parser
    parser.loop.close()
