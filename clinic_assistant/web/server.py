"""The demo clinic page with the chat widget: ``python -m clinic_assistant.web.server``.

Serves web/ on WEB_PORT (8080): ``/`` is web/index.html with the clinic's facts
filled in from clinic_assistant/settings.py (the page itself names none of them),
``/widget/`` the widget, ``/vendor/`` the pinned socket.io client copied there by
``python -m clinic_assistant.web.build`` and ``/static/`` the page's own assets.

Every response carries a strict Content-Security-Policy: scripts, styles and
images only from this server, connections only to it and to the Rasa server
(WEB_RASA_URL), no inline code, no framing, and Trusted Types enforced with the
widget's one policy (which converts only the socket.io client's URL and no HTML),
so that even a bug cannot turn bot text into markup.
"""

from __future__ import annotations

import argparse
import html
import logging
import re
import sys
from pathlib import Path
from typing import Awaitable, Callable, Dict, Mapping
from urllib.parse import urlsplit

from aiohttp import web

from clinic_assistant.settings import Settings, SettingsError, load_settings
from clinic_assistant.web.build import WEB_ROOT, BuildError, check_vendor

logger = logging.getLogger(__name__)

PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def tel_digits(phone: str) -> str:
    """The ``tel:`` form of a phone number: digits and a leading plus only."""
    return re.sub(r"[^0-9+]", "", phone)


def page_values(settings: Settings, rasa_url: str) -> Dict[str, str]:
    """What the page template may name; all of it comes from the settings."""
    clinic = settings.clinic
    return {
        "clinic_name": clinic.name,
        "clinic_phone": clinic.phone,
        "clinic_phone_tel": tel_digits(clinic.phone),
        "clinic_hours": clinic.hours,
        "emergency_number": clinic.emergency_number,
        "emergency_tel": tel_digits(clinic.emergency_number),
        "rasa_url": rasa_url,
    }


def render_page(template: str, values: Mapping[str, str]) -> str:
    """Fill ``{{ name }}`` placeholders, HTML-escaped; an unknown name is an error."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(f"web/index.html names {{{{ {name} }}}}, which is not a page value")
        return html.escape(values[name], quote=True)

    return PLACEHOLDER.sub(fill, template)


def content_security_policy(rasa_url: str) -> str:
    """The page's CSP: only this server, plus the Rasa server for the chat socket."""
    parts = urlsplit(rasa_url)
    socket_scheme = "wss" if parts.scheme == "https" else "ws"
    chat = f"{parts.scheme}://{parts.netloc} {socket_scheme}://{parts.netloc}"
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self'",
            f"connect-src 'self' {chat}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
            "object-src 'none'",
            # Only the widget's policy may exist and it converts one script URL;
            # every string assigned to innerHTML & co. throws.
            "require-trusted-types-for 'script'",
            "trusted-types clinic-chat",
        ]
    )


def security_headers(csp: str) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """Middleware that adds the CSP and the other protective headers to every response."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as error:
            response = error
        response.headers["Content-Security-Policy"] = csp
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        # A demo served from the working tree: always revalidate, so edits show.
        response.headers["Cache-Control"] = "no-cache"
        if isinstance(response, web.HTTPException):
            raise response
        return response

    return middleware


def create_app(
    settings: Settings, rasa_url: str | None = None, web_root: Path = WEB_ROOT
) -> web.Application:
    """The page server; fails at once if vendor/ is stale or the template is wrong."""
    check_vendor(web_root)
    rasa_url = (rasa_url or settings.web_rasa_url).rstrip("/")
    template = (web_root / "index.html").read_text("utf-8")
    page = render_page(template, page_values(settings, rasa_url))

    async def index(_: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html", charset="utf-8")

    async def health(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application(middlewares=[security_headers(content_security_policy(rasa_url))])
    app.router.add_get("/", index)
    app.router.add_get("/index.html", index)
    app.router.add_get("/healthz", health)
    # add_static refuses paths that leave the folder and does not follow symlinks.
    for prefix in ("widget", "vendor", "static"):
        app.router.add_static(f"/{prefix}/", web_root / prefix)
    return app


def main(argv: list[str] | None = None) -> int:
    """Command line entry (what `make run` starts)."""
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"Bad setting: {error}", file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # localhost only: this is a demo page, not a production web server.
    parser.add_argument("--host", default="localhost", help="interface (default: localhost)")
    parser.add_argument("--port", type=int, default=settings.web_port, help="default: WEB_PORT")
    parser.add_argument("--rasa-url", default=settings.web_rasa_url, help="default: WEB_RASA_URL")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        app = create_app(settings, args.rasa_url)
    except (BuildError, KeyError, OSError) as error:
        print(f"web server: {error}", file=sys.stderr)
        return 1
    print(f"Demo page on http://{args.host}:{args.port}/ (chat server {args.rasa_url})", flush=True)
    web.run_app(app, host=args.host, port=args.port, print=None, access_log=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
