"""Signed web chat session tokens."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from clinic_assistant.channels import web_sessions

KEY = b"a" * 32


def test_an_issued_token_maps_to_a_web_sender_without_its_signature() -> None:
    token = web_sessions.issue(KEY)
    sender = web_sessions.sender_of(token, KEY)
    assert sender is not None and sender.startswith("web-")
    assert token.split(".")[1] not in sender


def test_tokens_not_issued_with_this_key_are_refused() -> None:
    token = web_sessions.issue(KEY)
    session, signature = token.split(".")
    assert web_sessions.sender_of(token, b"b" * 32) is None
    assert web_sessions.sender_of(session, KEY) is None
    assert web_sessions.sender_of(f"{session}.{'0' * 32}", KEY) is None
    assert web_sessions.sender_of(f"{'0' * 32}.{signature}", KEY) is None
    assert web_sessions.sender_of(None, KEY) is None
    assert web_sessions.sender_of(token + "x", KEY) is None


def test_the_key_file_is_made_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "state" / web_sessions.KEY_FILE
    first = web_sessions._key_file(path)
    assert web_sessions._key_file(path) == first and len(first) == 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_a_new_session_s_sender_is_the_token_s(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(web_sessions, "session_key", lambda: KEY)
    token, sender = web_sessions.new_session()
    assert web_sessions.sender_of(token) == sender
