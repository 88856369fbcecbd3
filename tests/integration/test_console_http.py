"""The staff console over real HTTP (uvicorn on a free port, SQLite of its own).

Every route refuses an anonymous request, CSRF is enforced on every form, a staff
account cannot reach the admin pages, and the main actions are audited.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, List, Optional

import pyotp
import pytest
import requests
import sqlalchemy as sa
import uvicorn
from starlette.routing import Mount, Route

from clinic_assistant.console import accounts, admin_routes, audit, auth_routes, pages, tables
from clinic_assistant.console.app import create_app
from clinic_assistant.console.web import PUBLIC
from clinic_assistant.escalations import store
from clinic_assistant.escalations.model import Escalation, new_ref
from clinic_assistant.servers import free_port
from clinic_assistant.settings import ConsoleSettings, load_settings
from evaluation import tracker_events as ev
from tests.unit.console.conftest import FAST_HASHER

ADMIN, STAFF, PASSWORD = "ada.admin", "sam.staff", "a long enough secret"
PATIENT_TEXT = "my husband can barely swallow since tuesday"
CONVERSATION = "web-abc123"
TOKEN = re.compile(r'name="csrftoken" value="([^"]+)"')


@dataclass
class Console:
    """A running console and its database."""

    url: str
    db_url: str
    escalation_id: int

    def login(self, name: str, password: str = PASSWORD) -> requests.Session:
        """A browser-like session signed in as ``name``."""
        session = requests.Session()
        reply = session.post(
            f"{self.url}/login",
            data={"username": name, "password": password, "csrftoken": token_of(session, self.url)},
            allow_redirects=False,
            timeout=10,
        )
        assert reply.status_code == 303, reply.text
        return session

    def actions(self, username: Optional[str] = None) -> List[str]:
        """Audit actions, newest first."""
        return [e.action for e in audit.entries(username=username, db_url=self.db_url)]


def token_of(session: requests.Session, url: str, page: str = "/login") -> str:
    """The CSRF token of a page's forms."""
    reply = session.get(f"{url}{page}", timeout=10)
    found = TOKEN.search(reply.text)
    assert found, f"no CSRF token on {page}"
    return found.group(1)


def serve(settings_console: ConsoleSettings, db_url: str) -> Iterator[str]:
    """Run the console in this process on a free port until the caller is done."""
    settings = replace(load_settings({}), console=settings_console)
    app = create_app(settings, db_url, secret="test-signing-secret")
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", access_log=False, ws="none"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the console did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def _seed(db_url: str) -> int:
    engine = tables.get_engine(db_url)
    t = time.time() - 60
    ev.insert(
        engine,
        [
            ev.user(CONVERSATION, t, PATIENT_TEXT, "red_flag_emergency", 1.0, channel="rest"),
            ev.bot(
                CONVERSATION,
                t + 1,
                "Call 911 now",
                custom=ev.escalation_payload("emergency", ["difficulty_swallowing"]),
            ),
            ev.user(CONVERSATION, t + 5, "qwzx blorf", "unreadable_input", channel="rest"),
        ],
    )
    for name, role in ((ADMIN, "admin"), (STAFF, "staff")):
        accounts.set_account(name, PASSWORD, role, db_url=db_url)
    when = datetime.now(timezone.utc)
    sighting = Escalation(
        ref=new_ref(),
        conversation_id=CONVERSATION,
        channel="rest",
        level="emergency",
        symptoms=("difficulty_swallowing",),
        message=PATIENT_TEXT,
        created_at=when,
        last_seen_at=when,
        notification_status="failed",
    )
    escalation_id = store.record(sighting, db_url=db_url).escalation.id
    assert escalation_id is not None
    return escalation_id


@pytest.fixture(scope="module", autouse=True)
def fast_hashes() -> Iterator[None]:
    """Cheap Argon2id costs (the real profile takes seconds on a busy CI machine)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "_hasher", FAST_HASHER)
        yield


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    db_url = f"sqlite:///{tmp_path_factory.mktemp('console') / 'assistant.db'}"
    escalation_id = _seed(db_url)
    for url in serve(ConsoleSettings(lockout_failures=3), db_url):
        yield Console(url, db_url, escalation_id)
    tables.forget_engines()


def _routes() -> List[tuple[str, str]]:
    """(method, path) of every route the app has, path parameters filled in."""
    found = []
    for route in [*auth_routes.ROUTES, *pages.ROUTES, *admin_routes.ROUTES]:
        assert isinstance(route, Route)
        for method in sorted(route.methods or []):
            if method == "HEAD":
                continue
            found.append((method, route.path.replace("{escalation_id:int}", "1")))
    return found


STATIC = [
    "/static/console.css",
    "/static/console.js",
    "/vendor/htmx.min.js",
    "/vendor/chart.umd.min.js",
    "/nowhere",
]


def test_the_route_list_covers_the_mounts() -> None:
    # A new mount (files) must be added to STATIC so that it is tested below.
    from clinic_assistant.console import app as app_module

    assert {m.path for m in app_module.MOUNTS if isinstance(m, Mount)} == {"/static", "/vendor"}


@pytest.mark.parametrize(
    "method, path", [r for r in _routes() if r[1] not in PUBLIC] + [("GET", p) for p in STATIC]
)
def test_every_route_refuses_an_anonymous_request(console: Console, method: str, path: str) -> None:
    reply = requests.request(method, f"{console.url}{path}", allow_redirects=False, timeout=10)
    if method == "GET":
        assert reply.status_code == 303 and reply.headers["location"].startswith("/login")
    else:
        assert reply.status_code in (401, 403)
    assert PATIENT_TEXT not in reply.text and CONVERSATION not in reply.text
    # htmx polling gets a 401 rather than a page.
    polled = requests.get(
        f"{console.url}{path}", headers={"HX-Request": "true"}, allow_redirects=False, timeout=10
    )
    assert polled.status_code in (303, 401) and PATIENT_TEXT not in polled.text


def test_a_forged_session_cookie_is_refused(console: Console) -> None:
    reply = requests.get(
        f"{console.url}/conversations",
        cookies={"console_session": "made-up"},
        allow_redirects=False,
        timeout=10,
    )
    assert reply.status_code == 303 and reply.headers["location"] == "/login"


def test_only_the_login_form_is_public(console: Console) -> None:
    assert PUBLIC == {"/login", "/login/style.css"}
    page = requests.get(f"{console.url}/login", timeout=10)
    assert page.status_code == 200
    assert '<label for="username">Username</label>' in page.text
    assert '<label for="password">Password</label>' in page.text


def test_headers_and_cookies_are_strict(console: Console) -> None:
    session = requests.Session()
    token = token_of(session, console.url)
    reply = session.post(
        f"{console.url}/login",
        data={"username": STAFF, "password": PASSWORD, "csrftoken": token},
        allow_redirects=False,
        timeout=10,
    )
    cookie = reply.headers["set-cookie"]
    assert "console_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    page = session.get(f"{console.url}/", timeout=10)
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text and 'style="' not in page.text


def test_csrf_is_enforced_on_every_form(console: Console) -> None:
    session = console.login(STAFF)
    url = f"{console.url}/escalations/{console.escalation_id}/acknowledge"
    assert session.post(url, data={}, allow_redirects=False, timeout=10).status_code == 403
    assert (
        session.post(
            url, data={"csrftoken": "forged"}, allow_redirects=False, timeout=10
        ).status_code
        == 403
    )
    other = requests.Session()
    forged = token_of(other, console.url)  # a valid token, of another browser
    assert (
        session.post(url, data={"csrftoken": forged}, allow_redirects=False, timeout=10).status_code
        == 403
    )
    # The login form too, even without any cookie (login CSRF).
    fresh = requests.post(
        f"{console.url}/login",
        data={"username": STAFF, "password": PASSWORD},
        allow_redirects=False,
        timeout=10,
    )
    assert fresh.status_code == 403
    assert "acknowledge" not in console.actions(STAFF)


def test_a_staff_account_cannot_reach_admin_pages(console: Console) -> None:
    session = console.login(STAFF)
    token = token_of(session, console.url, "/")
    for method, path in [r for r in _routes() if r[1].startswith("/admin")]:
        reply = session.request(
            method,
            f"{console.url}{path}",
            data={"csrftoken": token},
            allow_redirects=False,
            timeout=10,
        )
        assert reply.status_code == 403, path
    assert "Accounts" not in session.get(f"{console.url}/", timeout=10).text
    admin = console.login(ADMIN)
    assert admin.get(f"{console.url}/admin/users", timeout=10).status_code == 200
    assert admin.get(f"{console.url}/admin/audit", timeout=10).status_code == 200


def test_wrong_passwords_lock_the_account_and_are_audited(console: Console) -> None:
    accounts.set_account("lou", PASSWORD, db_url=console.db_url)
    session = requests.Session()
    for _ in range(3):
        reply = session.post(
            f"{console.url}/login",
            data={
                "username": "lou",
                "password": "not the password",
                "csrftoken": token_of(session, console.url),
            },
            allow_redirects=False,
            timeout=10,
        )
        assert reply.status_code == 401
    reply = session.post(
        f"{console.url}/login",
        data={"username": "lou", "password": PASSWORD, "csrftoken": token_of(session, console.url)},
        allow_redirects=False,
        timeout=10,
    )
    assert reply.status_code == 401 and "locked" in reply.text
    assert console.actions("lou")[:5] == [
        "login_failed",
        "locked_out",
        "login_failed",
        "login_failed",
        "login_failed",
    ]


def test_escalation_is_acknowledged_then_resolved_with_who_and_a_note(console: Console) -> None:
    session = console.login(STAFF)
    page = session.get(f"{console.url}/", timeout=10).text
    assert f'id="escalation-{console.escalation_id}"' in page and "notice failed" in page
    assert "difficulty swallowing" in page
    token = token_of(session, console.url, "/")
    base = f"{console.url}/escalations/{console.escalation_id}"
    assert session.post(f"{base}/acknowledge", data={"csrftoken": token}, timeout=10).ok
    assert (
        f"acknowledged by {STAFF}"
        in session.get(f"{console.url}/escalations/feed", timeout=10).text
    )
    assert (
        session.post(
            f"{base}/resolve",
            data={"csrftoken": token, "note": ""},
            allow_redirects=False,
            timeout=10,
        ).status_code
        == 400
    )
    assert session.post(
        f"{base}/resolve",
        data={"csrftoken": token, "note": "Called the patient; went to ER"},
        timeout=10,
    ).ok
    feed = session.get(f"{console.url}/escalations/feed", timeout=10).text
    assert f'id="escalation-{console.escalation_id}"' not in feed
    assert "Called the patient; went to ER" in session.get(f"{console.url}/", timeout=10).text
    assert console.actions(STAFF)[:2] == ["resolve", "acknowledge"]
    # The escalation record itself names the signed-in person (the one service's row,
    # the same one `make review` and the notices read).
    done = store.get_escalation(console.escalation_id, db_url=console.db_url)
    assert done is not None and not done.open
    assert (done.acknowledged_by, done.resolved_by) == (STAFF, STAFF)
    assert done.resolution_note == "Called the patient; went to ER"
    # A second resolution (another person, a stale page) changes nothing and is not audited.
    admin = console.login(ADMIN)
    assert admin.post(
        f"{base}/resolve",
        data={"csrftoken": token_of(admin, console.url, "/"), "note": "overwritten?"},
        timeout=10,
    ).ok
    again = store.get_escalation(console.escalation_id, db_url=console.db_url)
    assert again is not None and again.resolution_note == "Called the patient; went to ER"
    assert "resolve" not in console.actions(ADMIN)


def test_a_new_danger_sign_reopens_a_resolved_escalation_on_the_board(console: Console) -> None:
    session = console.login(STAFF)
    when = datetime.now(timezone.utc)
    first = store.record(
        Escalation(
            ref=new_ref(),
            conversation_id="web-reopened",
            channel="rest",
            level="urgent",
            symptoms=("vision_changes",),
            message="blurry since the shots",
            created_at=when,
            last_seen_at=when,
        ),
        db_url=console.db_url,
    ).escalation
    token = token_of(session, console.url, "/")
    assert session.post(
        f"{console.url}/escalations/{first.id}/resolve",
        data={"csrftoken": token, "note": "Called back; fine"},
        timeout=10,
    ).ok
    assert (
        f'id="escalation-{first.id}"'
        not in session.get(f"{console.url}/escalations/feed", timeout=10).text
    )
    # The same conversation reports a danger sign again, past its limit of new records:
    # the store reopens the row, and the board shows it open again, not acknowledged.
    reopened = store.record(
        replace(first, ref=new_ref(), last_seen_at=datetime.now(timezone.utc)),
        max_new_per_day=1,
        db_url=console.db_url,
    )
    assert not reopened.new and reopened.escalation.id == first.id
    feed = session.get(f"{console.url}/escalations/feed", timeout=10).text
    row = feed[feed.index(f'id="escalation-{first.id}"') :].split("</tr>", 1)[0]
    assert "<strong>new</strong>" in row and "Acknowledge" in row
    # The page's alert follows the latest message of any open escalation, not only new ids.
    assert f'data-latest-id="{first.id}"' in feed
    stamp = re.search(r'data-latest-at="(\d+)"', feed)
    assert stamp is not None
    assert int(stamp.group(1)) == int(reopened.escalation.last_seen_at.timestamp() * 1000)


def test_transcripts_searches_and_exports_are_audited_without_patient_text(
    console: Console,
) -> None:
    session = console.login(STAFF)
    listed = session.get(f"{console.url}/conversations", params={"q": "barely swallow"}, timeout=10)
    assert CONVERSATION in listed.text
    assert (
        session.get(
            f"{console.url}/conversations", params={"q": "nothing like this"}, timeout=10
        ).text.count(CONVERSATION)
        == 0
    )
    transcript = session.get(f"{console.url}/conversation", params={"id": CONVERSATION}, timeout=10)
    assert PATIENT_TEXT in transcript.text and "escalation: emergency" in transcript.text
    csv = session.get(f"{console.url}/analytics/export.csv", timeout=10)
    assert csv.headers["content-type"].startswith("text/csv") and PATIENT_TEXT not in csv.text
    assert "escalations" in csv.text
    token = token_of(session, console.url, "/improve")
    improve = session.get(f"{console.url}/improve", timeout=10).text
    assert "qwzx blorf" in improve
    event_id = re.search(r'name="event_id" value="(\d+)"', improve).group(1)  # type: ignore[union-attr]
    assert session.post(
        f"{console.url}/improve/label",
        data={"csrftoken": token, "event_id": event_id, "answer": "faq/what_is"},
        timeout=10,
    ).ok
    assert (
        session.post(
            f"{console.url}/improve/label",
            data={"csrftoken": token, "event_id": event_id, "answer": "faq/made_up"},
            allow_redirects=False,
            timeout=10,
        ).status_code
        == 400
    )
    exported = session.get(f"{console.url}/improve/export.yml", timeout=10)
    assert "intent: faq/what_is" in exported.text and "- qwzx blorf" in exported.text
    actions = console.actions(STAFF)
    for expected in ("search", "view_transcript", "export_csv", "label", "export_yaml"):
        assert expected in actions
    with tables.get_engine(console.db_url).connect() as connection:
        details = " ".join(str(r.detail) for r in connection.execute(sa.select(tables.audit)))
    assert PATIENT_TEXT not in details


def test_review_state_and_tags(console: Console) -> None:
    session = console.login(STAFF)
    token = token_of(session, console.url, "/conversations")
    for data in ({"action": "review", "state": "reviewed"}, {"action": "tag", "tag": "Follow Up"}):
        assert session.post(
            f"{console.url}/conversation",
            data={"csrftoken": token, "id": CONVERSATION, **data},
            timeout=10,
        ).ok
    listed = session.get(
        f"{console.url}/conversations",
        params={"tag": "follow up", "review": "reviewed"},
        timeout=10,
    )
    assert CONVERSATION in listed.text
    assert (
        CONVERSATION
        not in session.get(
            f"{console.url}/conversations", params={"review": "needs_review"}, timeout=10
        ).text
    )


def test_idle_sessions_are_signed_out_and_polling_does_not_keep_them(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'idle.db'}"
    _seed(db_url)
    for url in serve(ConsoleSettings(idle_minutes=0.15), db_url):  # 9 s
        console = Console(url, db_url, 0)
        session = console.login(STAFF)
        assert session.get(f"{url}/", allow_redirects=False, timeout=10).status_code == 200
        for _ in range(3):
            time.sleep(2)
            polled = session.get(
                f"{url}/escalations/feed", headers={"HX-Request": "true"}, timeout=10
            )
            assert polled.status_code == 200
        time.sleep(4)
        reply = session.get(f"{url}/", allow_redirects=False, timeout=10)
        assert reply.status_code == 303 and reply.headers["location"] == "/login?idle=1"
        assert "logoff_idle" in console.actions(STAFF)
    tables.forget_engines()


def test_every_page_renders_for_a_signed_in_admin(console: Console) -> None:
    session = console.login(ADMIN)
    for method, path in _routes():
        if method != "GET" or path in ("/login/totp",):
            continue
        params = {"id": CONVERSATION} if path == "/conversation" else {}
        reply = session.get(f"{console.url}{path}", params=params, timeout=10)
        assert reply.status_code == 200, path
    for path in STATIC[:-1]:
        assert session.get(f"{console.url}{path}", timeout=10).status_code == 200, path
    assert session.get(f"{console.url}/nowhere", timeout=10).status_code == 404
    assert (
        session.get(f"{console.url}/conversation", params={"id": "nobody"}, timeout=10).status_code
        == 404
    )


def test_totp_enrolment_then_sign_in_with_a_code(console: Console) -> None:
    accounts.set_account("tia", PASSWORD, db_url=console.db_url)
    session = console.login("tia")
    page = session.get(f"{console.url}/account/totp", timeout=10).text
    secret = re.search(r'name="secret" value="([A-Z2-7]+)"', page).group(1)  # type: ignore[union-attr]
    token = TOKEN.search(page).group(1)  # type: ignore[union-attr]
    wrong = session.post(
        f"{console.url}/account/totp",
        data={"csrftoken": token, "secret": secret, "code": "000000"},
        allow_redirects=False,
        timeout=10,
    )
    assert wrong.status_code == 400 or pyotp.TOTP(secret).now() == "000000"
    done = session.post(
        f"{console.url}/account/totp",
        data={"csrftoken": token, "secret": secret, "code": pyotp.TOTP(secret).now()},
        allow_redirects=False,
        timeout=10,
    )
    assert done.status_code == 303
    # Next sign-in: the password alone opens nothing but the code form.
    fresh = requests.Session()
    reply = fresh.post(
        f"{console.url}/login",
        data={"username": "tia", "password": PASSWORD, "csrftoken": token_of(fresh, console.url)},
        allow_redirects=False,
        timeout=10,
    )
    assert reply.headers["location"] == "/login/totp"
    blocked = fresh.get(f"{console.url}/conversations", allow_redirects=False, timeout=10)
    assert blocked.status_code == 303 and blocked.headers["location"] == "/login/totp"
    code_token = token_of(fresh, console.url, "/login/totp")
    bad = fresh.post(
        f"{console.url}/login/totp",
        data={"csrftoken": code_token, "code": "12"},
        allow_redirects=False,
        timeout=10,
    )
    assert bad.status_code == 401
    good = fresh.post(
        f"{console.url}/login/totp",
        data={"csrftoken": code_token, "code": pyotp.TOTP(secret).now()},
        allow_redirects=False,
        timeout=10,
    )
    assert good.status_code == 303 and good.headers["location"] == "/"
    assert (
        fresh.get(f"{console.url}/conversations", allow_redirects=False, timeout=10).status_code
        == 200
    )
    assert console.actions("tia")[:2] == ["login", "totp_failed"]


def test_totp_required_sends_an_account_without_one_to_set_it_up(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'totp.db'}"
    _seed(db_url)
    for url in serve(ConsoleSettings(totp_required=True), db_url):
        session = Console(url, db_url, 0).login(STAFF)
        reply = session.get(f"{url}/conversations", allow_redirects=False, timeout=10)
        assert reply.status_code == 303 and reply.headers["location"] == "/account/totp"
    tables.forget_engines()


def test_bin_staff_user_reads_the_password_once_from_a_pipe(tmp_path: Path) -> None:
    import os
    import subprocess

    from clinic_assistant.settings import PROJECT_ROOT

    db_url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {**os.environ, "ASSISTANT_DB_URL": db_url}
    run = lambda *args, text: subprocess.run(  # noqa: E731
        [str(PROJECT_ROOT / "bin" / "staff-user"), *args],
        input=text,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    created = run("Ana", "--role", "admin", text=PASSWORD + "\n")
    assert created.returncode == 0, created.stderr
    assert "Created ana (admin)" in created.stdout
    assert run("ana", text="short\n").returncode == 1
    reset = run("ana", text="a different long password\n")
    assert reset.returncode == 0 and "Reset ana (admin)" in reset.stdout
    assert PASSWORD not in created.stdout + created.stderr
    user = accounts.list_users(db_url=db_url)[0]
    assert (user.username, user.role) == ("ana", "admin")
    assert [e.action for e in audit.entries(db_url=db_url)] == ["user_reset", "user_created"]
    tables.forget_engines()
