"""Shared fixtures for the red-flag tests: the detector, built once per session."""

from __future__ import annotations

import pytest

from clinic_assistant.red_flags.detector import RedFlagDetector, default_detector


@pytest.fixture(scope="session")
def detector() -> RedFlagDetector:
    """The project's detector (lexicon + pipeline); building it takes a few seconds."""
    return default_detector()
