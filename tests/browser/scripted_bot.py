"""A Rasa stand-in for widget tests that need replies the real bot never gives.

``python tests/browser/scripted_bot.py PORT ORIGIN`` serves the project's real
socket.io channel (ClinicSocketIOInput, with its origin check and history) on
PORT, but answers from the fixed SCRIPT below instead of a trained model: hostile
markup and odd links, to prove the widget renders bot text as text. It refuses
WebSocket, so the widget has to fall back to long-polling. Everything else the
browser tests check runs against the real Rasa server.
"""

from __future__ import annotations

import sys
from typing import Any, Dict, List

from rasa.core.channels.channel import UserMessage
from sanic import Sanic

from clinic_assistant.channels.socketio import ClinicSocketIOInput

HOSTILE = (
    '<img src=x onerror="window.__xss=1"> <b>bold</b> '
    "javascript:window.__xss=2 "
    "see https://example.org/info?a=1&b=<2>. "
    "or call tel:+15550100199, or (555) 010-0199"
)
SCRIPT: Dict[str, List[Dict[str, Any]]] = {
    "/greet": [
        {
            "text": "Scripted greeting.",
            "buttons": [
                {"title": "<i>Hostile</i> button", "payload": "/hostile"},
            ],
        }
    ],
    "/hostile": [{"text": HOSTILE}],
    "hostile": [{"text": HOSTILE}],
    "links": [
        {
            "text": "Bad: javascript:alert(1) data:text/html,hi ftp://x.example "
            "Good: http://clinic.example/a."
        }
    ],
}


def main(port: int, origin: str) -> None:
    """Run until killed."""

    async def on_new_message(message: UserMessage) -> None:
        for reply in SCRIPT.get(message.text or "", [{"text": f"echo: {message.text}"}]):
            await message.output_channel.send_response(message.sender_id, dict(reply))

    app = Sanic("scripted_bot")
    channel = ClinicSocketIOInput(
        "user_uttered", "bot_uttered", session_persistence=True, allowed_origins=[origin]
    )
    app.blueprint(channel.blueprint(on_new_message), url_prefix="/webhooks/socketio")
    # Long-polling only, as behind a proxy that blocks WebSockets: the widget's
    # fallback is then exercised on every run (the real server uses WebSocket).
    assert channel.sio is not None
    channel.sio.eio.transports = ["polling"]
    app.run(host="127.0.0.1", port=port, access_log=False, motd=False)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
