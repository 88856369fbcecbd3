"""``python -m clinic_assistant.console.server``: serve the console with uvicorn.

Bound to ``BIND_HOST`` (127.0.0.1 by default) on ``STAFF_PORT`` (8090), like the
other servers. The access log is off: request lines carry searches and
conversation ids, which are no business of a log file.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import List, Optional

import uvicorn

from clinic_assistant.console.app import create_app
from clinic_assistant.settings import SettingsError, get_settings


def main(argv: Optional[List[str]] = None) -> int:
    """Run until stopped."""
    parser = argparse.ArgumentParser(description="The staff console.")
    parser.add_argument("--port", type=int, default=None, help="default: STAFF_PORT (8090)")
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
    except SettingsError as error:
        print(f"Bad setting: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING)
    uvicorn.run(
        create_app(settings),
        host=settings.bind_host,
        port=args.port or settings.console.port,
        access_log=False,
        server_header=False,
        log_level="warning",
        # No websockets: the console has none, and Rasa pins an old websockets.
        ws="none",
        # A TLS proxy on this machine may say the request was https (Secure cookies).
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
