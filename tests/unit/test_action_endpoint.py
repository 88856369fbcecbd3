"""Rasa reads endpoints.yml so that every call to the action server carries the secret."""

from __future__ import annotations

import pytest
from rasa.utils.endpoints import read_endpoint_config

from clinic_assistant.settings import PROJECT_ROOT, load_settings


def test_rasa_sends_the_action_server_token_from_the_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = "a-shared-secret-of-thirty-two-chars"
    settings = load_settings({"ACTION_SERVER_TOKEN": token})
    for key, value in settings.endpoint_env().items():
        monkeypatch.setenv(key, value)

    # Rasa's own reader: a quoted ${VAR} would not be expanded, for instance.
    endpoint = read_endpoint_config(str(PROJECT_ROOT / "endpoints.yml"), "action_endpoint")

    assert endpoint is not None
    assert endpoint.url == settings.action_server_url
    assert endpoint.headers == {"Authorization": f"Bearer {token}"}
