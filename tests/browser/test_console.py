"""The staff console in Debian's Chromium, against the real servers.

The console runs as its own process on the same SQLite database as the Rasa
server of this folder's ``stack`` (the one the widget tests use), so the
escalations and conversations it shows are the ones Rasa and the action server
really recorded. Accounts are made with ``bin/staff-user``, the password on
standard input. A second console with a 3-second idle logoff checks the logoff.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List

import pytest
from playwright.sync_api import Page, expect

from clinic_assistant.servers import ServerProcess, console_server, free_port, local_settings
from clinic_assistant.settings import PROJECT_ROOT
from tests.browser.widget import Pages, Stack, axe_violations

PASSWORD = "browser test password"
ADMIN, STAFF, LOCKED = "ada", "sam", "lou"


@dataclass
class Consoles:
    """The console (normal settings) and one that signs out after 3 s idle."""

    url: str
    idle_url: str
    rasa_port: int

    def say(self, sender: str, text: str) -> List[dict]:
        """Send a patient message over Rasa's REST channel."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.rasa_port}/webhooks/rest/webhook",
            data=json.dumps({"sender": sender, "message": text}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as reply:
            return list(json.loads(reply.read()))


def staff_user(db_url: str, name: str, role: str) -> None:
    """Create an account with bin/staff-user, the password on standard input."""
    subprocess.run(
        [str(PROJECT_ROOT / "bin" / "staff-user"), name, "--role", role],
        input=PASSWORD + "\n",
        text=True,
        check=True,
        env={**os.environ, "ASSISTANT_DB_URL": db_url},
        timeout=60,
    )


@pytest.fixture(scope="package")
def consoles(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Consoles]:
    db_url = stack.rasa.env["ASSISTANT_DB_URL"]
    for name, role in ((ADMIN, "admin"), (STAFF, "staff"), (LOCKED, "staff")):
        staff_user(db_url, name, role)
    folder = tmp_path_factory.mktemp("console")
    port, idle_port = free_port(), free_port()
    main = console_server(local_settings(db_url, STAFF_PORT=str(port)), folder / "console.log")
    main.env["STAFF_LOCKOUT_FAILURES"] = "3"
    idle = console_server(local_settings(db_url, STAFF_PORT=str(idle_port)), folder / "idle.log")
    idle.env["STAFF_IDLE_MINUTES"] = "0.05"
    servers: List[ServerProcess] = [main, idle]
    rasa_port = int(stack.rasa_url.rsplit(":", 1)[1])
    try:
        for server in servers:
            server.start(60)
        yield Consoles(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{idle_port}", rasa_port)
    finally:
        for server in servers:
            server.stop()


def sign_in(page: Page, url: str, name: str, password: str = PASSWORD) -> None:
    """Fill the login form by its labels, as a person would."""
    page.goto(f"{url}/login")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_a_red_flag_appears_without_reload_and_is_handled(pages: Pages, consoles: Consoles) -> None:
    page = pages.new()
    sign_in(page, consoles.url, STAFF)
    expect(page.get_by_role("heading", name="Open escalations")).to_be_visible()
    assert axe_violations(page) == []
    page.evaluate("window.__sameDocument = true")
    replies = consoles.say("console-browser-1", "my husband can't breathe properly since his shots")
    assert any((r.get("custom") or {}).get("escalation") for r in replies), replies
    row = page.locator("tr.row-emergency").first
    expect(row).to_be_visible(timeout=20_000)
    expect(page.locator("#new-escalation")).to_be_visible()
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    expect(row).to_contain_text("breathing")
    assert axe_violations(page) == []
    row.get_by_role("button", name="Acknowledge").click()
    row = page.locator("tr.row-emergency").first
    expect(row).to_contain_text(f"acknowledged by {STAFF}")
    row.get_by_label("Resolution note").fill("Called the patient back; ambulance on its way")
    row.get_by_role("button", name="Resolve").click()
    expect(page.locator("tr.row-emergency")).to_have_count(0)
    expect(page.get_by_text("Called the patient back; ambulance on its way")).to_be_visible()
    page.get_by_role("link", name="Transcript").first.click()
    expect(page.get_by_text("my husband can't breathe properly since his shots")).to_be_visible()
    expect(page.get_by_text("escalation: emergency").first).to_be_visible()
    assert axe_violations(page) == []


def test_filter_and_search_conversations(pages: Pages, consoles: Consoles) -> None:
    consoles.say("console-browser-2", "how long does the botox last?")
    page = pages.new()
    sign_in(page, consoles.url, STAFF)
    page.get_by_role("link", name="Conversations").click()
    page.get_by_label("Text search").fill("botox last")
    page.get_by_role("button", name="Show").click()
    table = page.locator("#conversation-list")
    expect(table).to_contain_text("console-browser-2")
    page.get_by_label("Outcome").select_option("escalated")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("No conversations match.")).to_be_visible()
    page.get_by_role("link", name="Clear").click()
    page.get_by_label("Channel").select_option("rest")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#conversation-list")).to_contain_text("console-browser-2")
    assert axe_violations(page) == []


def test_label_a_message_and_export_yaml(pages: Pages, consoles: Consoles, tmp_path: Path) -> None:
    consoles.say("console-browser-3", "qwzx blorf florp")
    page = pages.new()
    sign_in(page, consoles.url, STAFF)
    page.get_by_role("link", name="Improve the assistant").click()
    row = page.locator("tr", has_text="qwzx blorf florp")
    expect(row).to_be_visible()
    row.get_by_label("Right answer for this message").select_option("faq/what_is")
    row.get_by_role("button", name="Save").click()
    expect(page.locator("tr", has_text="qwzx blorf florp")).to_have_count(0)
    assert axe_violations(page) == []
    with page.expect_download() as download:
        page.get_by_role("link", name="Export the picks (YAML)").click()
    path = tmp_path / "picks.yml"
    download.value.save_as(path)
    text = path.read_text("utf-8")
    assert "intent: faq/what_is" in text and "- qwzx blorf florp" in text


def test_a_chart_renders(pages: Pages, consoles: Consoles) -> None:
    page = pages.new()
    sign_in(page, consoles.url, STAFF)
    page.get_by_role("link", name="Analytics").click()
    expect(page.locator("body[data-charts=drawn]")).to_be_attached()
    size = page.locator("#chart-escalations").bounding_box()
    assert size is not None and size["width"] > 100 and size["height"] > 100
    # Chart.js drew something: the canvas is not blank.
    assert page.evaluate(
        """() => { const c = document.getElementById('chart-escalations');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        return d.some(v => v !== 0); }"""
    )
    assert axe_violations(page) == []


def test_automatic_logoff_after_idle(pages: Pages, consoles: Consoles) -> None:
    # The polling's first request after the logoff is refused (401), as it must be.
    pages.expect_errors(r"status of 401")
    page = pages.new()
    sign_in(page, consoles.idle_url, STAFF)
    expect(page.get_by_role("heading", name="Open escalations")).to_be_visible()
    # No activity: the page itself goes to the login form once the 3 s have passed,
    # although the escalation list keeps polling the server.
    expect(page.get_by_text("You were signed out after")).to_be_visible(timeout=15_000)
    assert "/login" in page.url


def test_lockout_after_repeated_failures(pages: Pages, consoles: Consoles) -> None:
    # A refused sign-in is answered 401, which the browser notes in its console.
    pages.expect_errors(r"status of 401")
    page = pages.new()
    for _ in range(3):
        sign_in(page, consoles.url, LOCKED, "not the password")
        expect(page.get_by_role("alert")).to_be_visible()
    sign_in(page, consoles.url, LOCKED)
    expect(page.get_by_role("alert")).to_contain_text("locked")
    assert axe_violations(page) == []


def test_an_admin_finds_every_action_in_the_audit_log(pages: Pages, consoles: Consoles) -> None:
    """Runs after the tests above (file order) and finds what each of them did."""
    page = pages.new()
    sign_in(page, consoles.url, ADMIN)
    page.get_by_role("link", name="Audit log").click()
    log = page.locator("#audit-log")
    expect(log).to_be_visible()
    actions = set(log.locator("td.action").all_inner_texts())
    expected = {
        "login",
        "login_failed",
        "locked_out",
        "acknowledge",
        "resolve",
        "view_transcript",
        "search",
        "label",
        "export_yaml",
        "logoff_idle",
        "user_created",
    }
    assert expected <= actions, expected - actions
    page.get_by_label("Action").select_option("resolve")
    page.get_by_role("button", name="Show").click()
    expect(log.locator("td.action")).to_have_text(["resolve"])
    assert axe_violations(page) == []
    page.get_by_role("link", name="Accounts").click()
    expect(page.locator("#accounts")).to_contain_text(LOCKED)
    assert axe_violations(page) == []


def test_console_screenshots_for_the_readme(
    pages: Pages, consoles: Consoles, tmp_path: Path
) -> None:
    """The README's pictures (``make screenshots`` sets SCREENSHOT_DIR)."""
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    consoles.say("console-browser-4", "I see double since yesterday's injections")
    consoles.say("console-browser-4", "when does it start working?")
    page = pages.new()
    sign_in(page, consoles.url, STAFF)
    expect(page.locator("tr.row-urgent").first).to_be_visible(timeout=20_000)
    shots = {
        "console-escalations": "/",
        "console-conversations": "/conversations",
        "console-transcript": "/conversation?id=console-browser-4",
        "console-analytics": "/analytics",
    }
    for name, path in shots.items():
        page.goto(f"{consoles.url}{path}")
        if name == "console-analytics":
            expect(page.locator("body[data-charts=drawn]")).to_be_attached()
        page.screenshot(path=str(folder / f"{name}.png"))
        assert (folder / f"{name}.png").stat().st_size > 10_000
