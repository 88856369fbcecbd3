"""Shared test fixtures: paths and the trained model, loaded once per session."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "clinic.tar.gz"
SHEET = ROOT / "data" / "source" / "botox-for-cervical-dystonia.txt"

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")


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
