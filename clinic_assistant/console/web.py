"""What every console page shares: templates, the signed-in user, forms, audit, headers.

The login gate (:class:`LoginGate`) is ASGI middleware in front of every route,
static files included: a request without a valid session is sent to the login
page (pages) or gets 401 (background requests), before any route runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Mapping, MutableMapping, Optional
from urllib.parse import quote

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Receive, Scope, Send

from clinic_assistant.console import audit, sessions
from clinic_assistant.console.accounts import User
from clinic_assistant.escalations.service import EscalationService
from clinic_assistant.settings import Settings

HERE = Path(__file__).parent
#: Routes that answer without a session: the login form, its second step and its style.
PUBLIC = frozenset({"/login", "/login/style.css"})
#: Routes a session that has not passed its second factor may reach.
HALF_SIGNED_IN = frozenset({"/login/totp", "/logout"})
#: Routes that do not count as activity for the idle logoff (background polling).
BACKGROUND = frozenset({"/escalations/feed"})
#: Where an account must go before anything else when TOTP is required.
ENROL = "/account/totp"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    # Pages carry patient data: never kept by the browser or a proxy.
    (b"cache-control", b"no-store"),
]


def make_templates() -> Jinja2Templates:
    """Jinja2 with autoescaping on for every template (they are all HTML)."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=True,
    )
    environment.filters["when"] = lambda value: (
        value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else ""
    )
    environment.filters["pct"] = lambda value: "" if value is None else f"{value * 100:.0f}%"
    environment.filters["q"] = lambda value: quote(str(value), safe="")
    return Jinja2Templates(env=environment)


@dataclass(frozen=True)
class Context:
    """The app's settings and database, shared by the routes."""

    settings: Settings
    db_url: str
    templates: Jinja2Templates
    #: The one escalation service, on :attr:`db_url`: staff acknowledge and resolve
    #: through it, under their own names.
    escalations: EscalationService

    @property
    def idle_seconds(self) -> float:
        """The idle logoff, in seconds."""
        return self.settings.console.idle_minutes * 60


def context_of(request: Request) -> Context:
    """The app's :class:`Context`."""
    return request.app.state.context  # type: ignore[no-any-return]


def user_of(request: Request) -> User:
    """The signed-in user (the gate guarantees there is one on non-public routes)."""
    return request.scope["console_user"]  # type: ignore[no-any-return]


def address_of(request: Request) -> Optional[str]:
    """The client's address for the audit log."""
    return request.client.host if request.client else None


async def record(
    request: Request,
    action: str,
    target: Optional[str] = None,
    detail: Optional[str] = None,
    username: Optional[str] = None,
) -> None:
    """Append an audit entry for this request's user."""
    name = username if username is not None else user_of(request).username
    await run_in_threadpool(
        audit.record,
        name,
        action,
        target,
        detail,
        address_of(request),
        db_url=context_of(request).db_url,
    )


def render(request: Request, name: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    """A page from a template, with the user, the CSRF token and the idle logoff."""
    ctx = context_of(request)
    return ctx.templates.TemplateResponse(
        request,
        name,
        {
            "user": request.scope.get("console_user"),
            "csrf_token": request.scope["csrftoken"](),
            "idle_seconds": int(ctx.idle_seconds),
            "clinic": ctx.settings.clinic.name,
            **values,
        },
        status_code=status_code,
    )


async def form_of(request: Request) -> Dict[str, str]:
    """The posted form's text fields (files are refused by the CSRF check already)."""
    form = await request.form(max_files=0, max_fields=50)
    return {key: value for key, value in form.items() if isinstance(value, str)}


def back(url: str) -> RedirectResponse:
    """303 to a page of this console (POST -> GET)."""
    if not url.startswith("/") or url.startswith("//"):
        url = "/"
    return RedirectResponse(url, status_code=303)


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    """The session cookie: HttpOnly, SameSite=Strict, Secure over TLS."""
    ctx = context_of(request)
    response.set_cookie(
        sessions.COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=ctx.settings.console.cookie_secure or request.url.scheme == "https",
        path="/",
    )


class SecurityHeaders:
    """Adds the CSP and the other protective headers to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                headers = list(message.get("headers", []))
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _cookie(scope: Scope, name: str) -> str:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                cookie_name, _, cookie_value = part.strip().partition("=")
                if cookie_name == name:
                    return cookie_value
    return ""


def _wants_page(scope: Scope) -> bool:
    headers = dict(scope.get("headers", []))
    return scope["method"] == "GET" and b"hx-request" not in headers


class LoginGate:
    """No route but the login form answers without a signed-in, verified session."""

    def __init__(
        self,
        app: ASGIApp,
        context: Callable[[], Context],
    ) -> None:
        self.app = app
        self.context = context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path in PUBLIC:
            await self.app(scope, receive, send)
            return
        ctx = self.context()
        token = _cookie(scope, sessions.COOKIE)
        session = (
            await run_in_threadpool(
                sessions.look_up,
                token,
                ctx.settings.console.idle_minutes,
                touch=path not in BACKGROUND,
                db_url=ctx.db_url,
            )
            if token
            else None
        )
        if session is not None and session.expired:
            await run_in_threadpool(
                audit.record,
                session.user.username,
                "logoff_idle",
                None,
                None,
                _client(scope),
                db_url=ctx.db_url,
            )
            await self._refuse(scope, receive, send, "/login?idle=1")
            return
        if session is None:
            await self._refuse(scope, receive, send, "/login")
            return
        if not session.verified and path not in HALF_SIGNED_IN:
            await self._refuse(scope, receive, send, "/login/totp")
            return
        user = session.user
        needs_totp = ctx.settings.console.totp_required and not user.has_totp
        if (
            session.verified
            and needs_totp
            and path not in (ENROL, "/logout", "/static/console.css")
        ):
            await self._refuse(scope, receive, send, ENROL)
            return
        if path.startswith("/admin") and not user.is_admin:
            response: Response = PlainTextResponse("Only an admin may open this page.", 403)
            await response(scope, receive, send)
            return
        scope["console_user"] = user
        scope["console_token"] = token
        await self.app(scope, receive, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, to: str) -> None:
        response: Response
        if _wants_page(scope):
            response = RedirectResponse(to, status_code=303)
        else:
            response = PlainTextResponse("Sign in first.", 401, headers={"HX-Redirect": to})
        await response(scope, receive, send)


def _client(scope: Scope) -> Optional[str]:
    client = scope.get("client")
    return str(client[0]) if client else None


Handler = Callable[[Request], Awaitable[Response]]


def query(request: Request, name: str, limit: int = 200) -> str:
    """A query-string parameter, stripped and bounded."""
    return request.query_params.get(name, "").strip()[:limit]


def mapping_get(values: Mapping[str, str], name: str, limit: int = 2000) -> str:
    """A form field, stripped and bounded."""
    return values.get(name, "").strip()[:limit]
