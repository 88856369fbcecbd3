"""The console's ASGI app: routes behind the login gate, CSRF checks, strict headers.

Layers, outermost first: security headers (CSP without inline code, no-store) ->
login gate (every route but the login form needs a session) -> CSRF check
(asgi-csrf: every POST carries the token of the signed ``csrftoken`` cookie; the
login form too) -> the routes.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import replace
from pathlib import Path
from typing import Optional

from asgi_csrf import asgi_csrf
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from clinic_assistant.console import admin_routes, auth_routes, pages, tables
from clinic_assistant.console.web import HERE, Context, LoginGate, SecurityHeaders, make_templates
from clinic_assistant.escalations.service import EscalationService
from clinic_assistant.settings import STATE_DIR, Settings, get_settings
from clinic_assistant.web.build import WEB_ROOT

VENDOR = WEB_ROOT / "vendor"
SECRET_FILE = STATE_DIR / "console-secret"
#: Files, behind the login gate like every route: the console's own and the pinned
#: front-end builds (htmx, Chart.js) that `make setup` copies into web/vendor.
MOUNTS = [
    Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    Mount("/vendor", StaticFiles(directory=str(VENDOR), check_dir=False), name="vendor"),
]


def signing_secret(settings: Settings, path: Path = SECRET_FILE) -> str:
    """The CSRF cookies' signing key: ``STAFF_SECRET`` or a private file made once.

    Kept across restarts so a form opened before a restart still submits.
    """
    if settings.console.secret:
        return settings.console.secret
    try:
        return path.read_text("utf-8").strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        secret = secrets.token_urlsafe(48)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(secret)
        return secret


async def not_found(request: Request, exc: Exception) -> Response:
    """A plain 404 page (only signed-in staff ever get this far)."""
    from clinic_assistant.console.web import render

    return render(request, "not_found.html", 404, what="page")


def create_app(
    settings: Optional[Settings] = None,
    db_url: Optional[str] = None,
    secret: Optional[str] = None,
) -> ASGIApp:
    """The console for ``settings`` (the process's by default) on ``db_url``."""
    settings = settings or get_settings()
    db_url = db_url or settings.db_url
    context = Context(
        settings=settings,
        db_url=db_url,
        templates=make_templates(),
        escalations=EscalationService(replace(settings, db_url=db_url)),
    )
    tables.get_engine(context.db_url)
    routes = [
        *auth_routes.ROUTES,
        *pages.ROUTES,
        *admin_routes.ROUTES,
        *MOUNTS,
    ]
    app = Starlette(routes=routes, exception_handlers={404: not_found})
    app.state.context = context
    protected = asgi_csrf(
        app,
        signing_secret=secret or signing_secret(settings),
        # Without a cookie asgi-csrf lets a POST through; the login form must not be.
        always_protect={"/login", "/login/totp"},
        cookie_secure=settings.console.cookie_secure,
        cookie_samesite="Strict",
    )
    return SecurityHeaders(LoginGate(protected, lambda: context))
