"""Admin pages: accounts and the audit log (the gate lets only admins in)."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from typing import Optional

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clinic_assistant.console import accounts, analytics, audit, tables
from clinic_assistant.console.web import back, context_of, form_of, query, record, render


async def users_page(request: Request, error: Optional[str] = None, status: int = 200) -> Response:
    """Every account, and a form to add one."""
    users = await run_in_threadpool(accounts.list_users, db_url=context_of(request).db_url)
    return render(
        request,
        "admin_users.html",
        status,
        users=users,
        roles=tables.ROLES,
        error=error,
        now=datetime.now(timezone.utc),
    )


async def users_submit(request: Request) -> Response:
    """Create an account or reset its password (one account per person)."""
    form = await form_of(request)
    try:
        user, created = await run_in_threadpool(
            accounts.set_account,
            form.get("username", ""),
            form.get("password", ""),
            form.get("role") or None,
            db_url=context_of(request).db_url,
        )
    except accounts.AccountError as error:
        return await users_page(request, error=f"Not saved: {error}.", status=400)
    await record(
        request,
        "user_created" if created else "user_reset",
        target=f"user:{user.username}",
        detail=f"role {user.role}",
    )
    return back("/admin/users")


async def user_change(request: Request) -> Response:
    """Change an account: role, disable / enable, unlock, remove its TOTP."""
    form = await form_of(request)
    raw = form.get("user_id", "")
    change = form.get("change", "")
    if not raw.isdigit():
        return await users_page(request, error="Which account?", status=400)
    user_id = int(raw)
    db_url = context_of(request).db_url
    target = await run_in_threadpool(accounts.get_user, user_id, db_url=db_url)
    if target is None:
        return await users_page(request, error="No such account.", status=404)
    me = request.scope["console_user"]
    if target.id == me.id and change in ("disable", "role"):
        return await users_page(
            request, error="Ask another admin to change your own role or access.", status=400
        )
    options: dict[str, object] = {}
    if change == "role" and form.get("role") in tables.ROLES:
        options["role"] = form["role"]
    elif change in ("disable", "enable"):
        options["active"] = change == "enable"
    elif change == "unlock":
        options["unlock"] = True
    elif change == "clear_totp":
        options["clear_totp"] = True
    else:
        return await users_page(request, error="Unknown change.", status=400)
    await run_in_threadpool(lambda: accounts.update_user(user_id, db_url=db_url, **options))  # type: ignore[arg-type]
    detail = change if change != "role" else f"role {form['role']}"
    await record(request, "user_changed", target=f"user:{target.username}", detail=detail)
    return back("/admin/users")


def _day(text: str) -> Optional[datetime]:
    found = analytics._date(text)
    return datetime.combine(found, time(), tzinfo=timezone.utc) if found else None


async def audit_page(request: Request) -> Response:
    """The audit log, newest first, filtered by person, action, target and dates."""
    until = _day(query(request, "to"))
    before = query(request, "before", 20)
    filters = {
        "username": query(request, "user", 64).lower() or None,
        "action": query(request, "action", 32) or None,
        "target": query(request, "target", 300) or None,
        "since": _day(query(request, "from")),
        "until": until + timedelta(days=1) if until else None,
        "before_id": int(before) if before.isdigit() else None,
    }
    db_url = context_of(request).db_url
    rows = await run_in_threadpool(lambda: audit.entries(db_url=db_url, **filters))  # type: ignore[arg-type]
    await record(request, "view_audit")
    params = {k: v for k, v in request.query_params.items() if k != "before"}
    return render(
        request,
        "admin_audit.html",
        rows=rows,
        actions=audit.ACTIONS,
        params=dict(request.query_params),
        next_params={**params, "before": str(rows[-1].id)} if len(rows) == 100 else None,
    )


ROUTES = [
    Route("/admin/users", users_page, methods=["GET"]),
    Route("/admin/users", users_submit, methods=["POST"]),
    Route("/admin/users/change", user_change, methods=["POST"]),
    Route("/admin/audit", audit_page, methods=["GET"]),
]
