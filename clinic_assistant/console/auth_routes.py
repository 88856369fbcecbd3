"""Signing in and out: the login form, the TOTP step, logout and TOTP enrolment."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from clinic_assistant.console import accounts, sessions
from clinic_assistant.console.web import (
    HERE,
    back,
    context_of,
    form_of,
    record,
    render,
    set_session_cookie,
    user_of,
)

WRONG = "Wrong username or password."


async def login_page(request: Request) -> Response:
    """The login form (also after an idle logoff)."""
    notice = None
    if request.query_params.get("idle"):
        minutes = context_of(request).settings.console.idle_minutes
        notice = f"You were signed out after {minutes:g} minutes without activity."
    return render(request, "login.html", error=None, notice=notice, username="")


async def login_style(request: Request) -> Response:
    """The console's stylesheet, for the login page (the only public file)."""
    return FileResponse(HERE / "static" / "console.css", media_type="text/css")


async def login_submit(request: Request) -> Response:
    """Check the password; start a session (half-open when a TOTP code is due)."""
    ctx = context_of(request)
    form = await form_of(request)
    name = form.get("username", "").strip()[:64]
    password = form.get("password", "")[: accounts.MAX_PASSWORD_CHARS + 1]
    result = await run_in_threadpool(
        accounts.authenticate, name, password, ctx.settings.console, db_url=ctx.db_url
    )
    shown = name.lower() or "(empty)"
    if result.reason != "ok" or result.user is None:
        await record(request, "login_failed", detail=result.reason, username=shown)
        error = WRONG
        if result.locked_now:
            await record(request, "locked_out", username=shown)
        if result.reason == "locked" or result.locked_now:
            minutes = ctx.settings.console.lockout_minutes
            error = (
                "This account is locked after too many failed sign-ins. Try again in "
                f"{minutes:g} minutes, or ask an admin to unlock it."
            )
        return render(request, "login.html", 401, error=error, notice=None, username=name)
    user = result.user
    old = request.cookies.get(sessions.COOKIE)
    if old:
        await run_in_threadpool(sessions.end, old, db_url=ctx.db_url)
    token = await run_in_threadpool(
        sessions.start, user.id, verified=not user.has_totp, db_url=ctx.db_url
    )
    if user.has_totp:
        response: Response = RedirectResponse("/login/totp", status_code=303)
    else:
        await record(request, "login", username=user.username)
        response = RedirectResponse("/", status_code=303)
    set_session_cookie(response, request, token)
    return response


async def totp_page(request: Request) -> Response:
    """The second step: the code from the authenticator app."""
    return render(request, "login_totp.html", error=None)


async def totp_submit(request: Request) -> Response:
    """Check the code; on success the session becomes a full one (new token)."""
    ctx = context_of(request)
    user = user_of(request)
    form = await form_of(request)
    result = await run_in_threadpool(
        accounts.check_totp,
        user.id,
        form.get("code", "")[:20],
        ctx.settings.console,
        db_url=ctx.db_url,
    )
    if result.reason != "ok":
        await record(request, "totp_failed", detail=result.reason)
        if result.locked_now:
            await record(request, "locked_out")
        if result.reason == "locked" or result.locked_now:
            await run_in_threadpool(sessions.end, request.scope["console_token"], db_url=ctx.db_url)
            response = render(
                request,
                "login.html",
                401,
                error="This account is locked after too many failed sign-ins. Ask an admin "
                "to unlock it, or try again later.",
                notice=None,
                username=user.username,
            )
            response.delete_cookie(sessions.COOKIE, path="/")
            return response
        return render(request, "login_totp.html", 401, error="That code is not right. Try again.")
    token = await run_in_threadpool(
        sessions.mark_verified, request.scope["console_token"], db_url=ctx.db_url
    )
    await record(request, "login", detail="with TOTP")
    redirect = RedirectResponse("/", status_code=303)
    set_session_cookie(redirect, request, token)
    return redirect


async def logout(request: Request) -> Response:
    """End the session."""
    ctx = context_of(request)
    await run_in_threadpool(sessions.end, request.scope["console_token"], db_url=ctx.db_url)
    await record(request, "logout")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(sessions.COOKIE, path="/")
    return response


async def enrol_page(request: Request) -> Response:
    """Set up a TOTP second factor: a new secret to add to an authenticator app."""
    user = user_of(request)
    secret = accounts.new_totp_secret()
    return render(
        request,
        "totp_enrol.html",
        secret=secret,
        uri=accounts.totp_uri(secret, user.username),
        error=None,
        required=context_of(request).settings.console.totp_required,
    )


async def enrol_submit(request: Request) -> Response:
    """Keep the secret once the first code from the app matches it."""
    ctx = context_of(request)
    user = user_of(request)
    form = await form_of(request)
    secret = form.get("secret", "")[:64]
    if not secret or not accounts.totp_matches(secret, form.get("code", "")[:20]):
        return render(
            request,
            "totp_enrol.html",
            400,
            secret=secret or accounts.new_totp_secret(),
            uri=accounts.totp_uri(secret, user.username) if secret else "",
            error="That code does not match. Check the app's clock and try again.",
            required=ctx.settings.console.totp_required,
        )
    await run_in_threadpool(accounts.enable_totp, user.id, secret, db_url=ctx.db_url)
    await record(request, "totp_enrolled")
    return back("/")


ROUTES = [
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login_submit, methods=["POST"]),
    Route("/login/style.css", login_style, methods=["GET"]),
    Route("/login/totp", totp_page, methods=["GET"]),
    Route("/login/totp", totp_submit, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/account/totp", enrol_page, methods=["GET"]),
    Route("/account/totp", enrol_submit, methods=["POST"]),
]
