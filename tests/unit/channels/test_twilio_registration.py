"""credentials.yml registers the Twilio channel the way `rasa run` does, on only with a token.

Rasa's own ``create_http_input_channels`` reads credentials.yml and ``register``
mounts every channel under /webhooks/ on a real Sanic server, as ``rasa run`` does.
"""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
import uuid
from typing import Any, Dict

import pytest
from rasa.core.channels.channel import register
from rasa.core.run import create_http_input_channels
from sanic import Sanic

from clinic_assistant.channels.twilio_channel import ClinicTwilioInput
from clinic_assistant.servers import free_port
from clinic_assistant.settings import PROJECT_ROOT, get_settings
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, CLINIC_NUMBER, ID_KEY

ON: Dict[str, str] = {
    "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
    "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
    "TWILIO_NUMBER": CLINIC_NUMBER,
    "TWILIO_ID_KEY": ID_KEY,
}


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(Sanic, "test_mode", True)
    for key in ON:
        monkeypatch.delenv(key, raising=False)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def status_of(url: str, data: bytes | None = None) -> int:
    try:
        # Our own local test server.
        with urllib.request.urlopen(url, data=data, timeout=5) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


async def statuses() -> Dict[str, int]:
    """Mount credentials.yml's channels like `rasa run` and probe the routes."""
    channels = create_http_input_channels(None, str(PROJECT_ROOT / "credentials.yml"))
    assert any(isinstance(channel, ClinicTwilioInput) for channel in channels)
    app = Sanic(f"test_{uuid.uuid4().hex}")
    register(channels, app, route="/webhooks/")
    port = free_port()
    server = await app.create_server(
        host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
    )
    assert server is not None
    await server.startup()
    await server.before_start()
    await server.after_start()
    base = f"http://127.0.0.1:{port}/webhooks"
    try:
        return {
            "rest": await asyncio.to_thread(status_of, f"{base}/rest/"),
            "health": await asyncio.to_thread(status_of, f"{base}/twilio/"),
            "webhook": await asyncio.to_thread(status_of, f"{base}/twilio/webhook", b"Body=x"),
        }
    finally:
        await server.before_stop()
        await server.close()
        await server.after_stop()


def test_without_a_token_the_twilio_routes_do_not_exist() -> None:
    assert asyncio.run(statuses()) == {"rest": 200, "health": 404, "webhook": 404}


def test_with_a_token_the_routes_exist_and_refuse_unsigned_requests(
    fresh_settings: pytest.MonkeyPatch,
) -> None:
    for key, value in ON.items():
        fresh_settings.setenv(key, value)
    assert asyncio.run(statuses()) == {"rest": 200, "health": 200, "webhook": 403}
