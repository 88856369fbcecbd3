"""The action server: rasa-sdk's app with the project's actions, bound and authenticated.

``python -m clinic_assistant.action_server`` (port ACTION_PORT) replaces ``rasa run
actions``, which listens on every interface (rasa-sdk reads ``SANIC_HOST``, not
our ``BIND_HOST``) and runs any action for anybody who can reach it. Here:

* it listens on ``Settings.bind_host`` (127.0.0.1 by default);
* every route but ``/health`` needs ``Authorization: Bearer $ACTION_SERVER_TOKEN``
  (endpoints.yml sends it), compared in constant time; without the token set
  the server refuses to start, on loopback too: another account on the same
  machine must not be able to forge an escalation either;
* on shutdown it waits (bounded) for escalations still being recorded and
  notified, so stopping the server does not drop them.
"""

from __future__ import annotations

import argparse
import hmac
import logging
import sys
from typing import List, Optional

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from clinic_assistant.settings import Settings, SettingsError, get_settings

logger = logging.getLogger(__name__)

#: Routes open without the token (the readiness probe; it says nothing but "ok").
OPEN_PATHS = frozenset({"/health"})


def create_app(settings: Settings, actions_package: str = "actions") -> Sanic:
    """rasa-sdk's app for ``actions_package``, behind the shared-secret check."""
    from rasa_sdk.endpoint import create_app as sdk_app

    if not settings.action_server_token:
        raise SettingsError("ACTION_SERVER_TOKEN must be set for the action server")
    expected = f"Bearer {settings.action_server_token}".encode()
    # No CORS: only the Rasa server calls this, never a browser.
    app = sdk_app(actions_package, cors_origins="")

    @app.middleware("request")
    async def require_token(request: Request) -> Optional[HTTPResponse]:
        if request.path in OPEN_PATHS:
            return None
        supplied = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(supplied, expected):
            logger.warning(
                "Action server: refused a %s %s without the shared secret",
                request.method,
                request.path,
            )
            return response.json({"error": "unauthorized"}, status=401)
        return None

    @app.listener("before_server_stop")
    async def finish_escalations(app: Sanic, loop: object) -> None:
        from clinic_assistant.escalations.service import get_service

        bound = settings.notify_timeout_s * settings.notify_attempts + 5
        if not await get_service().drain(timeout_s=bound):
            logger.error(
                "Action server stopping with escalation work unfinished after %.0f s; "
                "its notices stay 'pending' for staff tools to flag",
                bound,
            )

    return app


def main(argv: Optional[List[str]] = None) -> int:
    """Command line: ``--port`` (default ACTION_PORT); the rest comes from the settings."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--actions", default="actions", help="package with the actions")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = get_settings()
        app = create_app(settings, args.actions)
    except SettingsError as error:
        print(f"Bad setting: {error}", file=sys.stderr)
        return 2
    port = args.port or settings.action_port
    logger.info("Action server on http://%s:%d", settings.bind_host, port)
    app.run(host=settings.bind_host, port=port, workers=1, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
