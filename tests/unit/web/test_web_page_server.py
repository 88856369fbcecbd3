"""The demo page server: settings in the page, escaping, CSP, vendor check, no traversal."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any, Dict, Tuple

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from clinic_assistant.servers import free_port
from clinic_assistant.settings import load_settings
from clinic_assistant.web.build import (
    VENDOR_FILES,
    WEB_ROOT,
    BuildError,
    check_vendor,
    pinned_versions,
)
from clinic_assistant.web.server import content_security_policy, create_app, render_page


@pytest.fixture
def web_root(tmp_path: Path) -> Path:
    """A copy of web/ (without node_modules) with a vendor/ as the build leaves it."""
    root = tmp_path / "web"
    shutil.copytree(WEB_ROOT, root, ignore=shutil.ignore_patterns("node_modules", "vendor"))
    vendor = root / "vendor"
    vendor.mkdir()
    for files in VENDOR_FILES.values():
        for name in files:
            (vendor / Path(name).name).write_text("/* stand-in */", "utf-8")
    pinned = {package: pinned_versions(root)[package] for package in VENDOR_FILES}
    (vendor / "versions.json").write_text(json.dumps(pinned), "utf-8")
    return root


def fetch(app: web.Application, *paths: str) -> Dict[str, Tuple[int, Dict[str, str], str]]:
    """GET each path from ``app`` served on a free port: status, headers, body."""

    async def scenario() -> Dict[str, Tuple[int, Dict[str, str], str]]:
        runner = web.AppRunner(app)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        results: Dict[str, Tuple[int, Dict[str, str], str]] = {}
        try:
            async with aiohttp.ClientSession() as session:
                for path in paths:
                    # encoded=True: send "../" as written, as a hostile client would.
                    url = URL(f"http://127.0.0.1:{port}{path}", encoded=True)
                    async with session.get(url, allow_redirects=False) as reply:
                        results[path] = (reply.status, dict(reply.headers), await reply.text())
        finally:
            await runner.cleanup()
        return results

    return asyncio.run(scenario())


def test_page_carries_the_clinic_facts_from_the_settings(web_root: Path) -> None:
    settings = load_settings(
        {
            "CLINIC_NAME": 'Lakeside <Neuro> & "Pain"',
            "CLINIC_PHONE": "+1 (312) 555-0101",
            "CLINIC_EMERGENCY_NUMBER": "112",
            "WEB_RASA_URL": "https://chat.lakeside.example",
        }
    )
    status, _, page = fetch(create_app(settings, web_root=web_root), "/")["/"]
    assert status == 200
    assert 'data-clinic-name="Lakeside &lt;Neuro&gt; &amp; &quot;Pain&quot;"' in page
    assert 'data-clinic-phone="+1 (312) 555-0101"' in page
    assert 'data-emergency-number="112"' in page
    assert 'data-server-url="https://chat.lakeside.example"' in page
    assert 'href="tel:+13125550101"' in page and 'href="tel:112"' in page
    assert "{{" not in page and "<Neuro>" not in page


def test_web_page_names_no_clinic_fact_itself() -> None:
    template = (WEB_ROOT / "index.html").read_text("utf-8")
    clinic = load_settings({}).clinic
    for fact in (clinic.name, clinic.phone, clinic.hours, "911"):
        assert fact not in template


def test_every_response_has_the_strict_csp(web_root: Path) -> None:
    settings = load_settings({})
    replies = fetch(
        create_app(settings, "http://localhost:5005", web_root),
        "/",
        "/widget/clinic-chat.js",
        "/nope",
    )
    for _status, headers, _ in replies.values():
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self';" in csp and "'unsafe-inline'" not in csp
        assert "connect-src 'self' http://localhost:5005 ws://localhost:5005;" in csp
        assert "require-trusted-types-for 'script'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
    assert [reply[0] for reply in replies.values()] == [200, 200, 404]


def test_csp_for_an_https_chat_server_uses_wss() -> None:
    assert "https://chat.example wss://chat.example;" in content_security_policy(
        "https://chat.example"
    )


def test_static_files_cannot_reach_outside_web(web_root: Path) -> None:
    (web_root.parent / "secret.txt").write_text("secret", "utf-8")
    replies = fetch(
        create_app(load_settings({}), web_root=web_root),
        "/widget/../../secret.txt",
        "/widget/%2e%2e/%2e%2e/secret.txt",
        "/vendor/versions.json",
    )
    statuses = {path: reply[0] for path, reply in replies.items()}
    assert statuses["/vendor/versions.json"] == 200
    for path in ("/widget/../../secret.txt", "/widget/%2e%2e/%2e%2e/secret.txt"):
        assert statuses[path] in (403, 404), path
        assert "secret" not in replies[path][2]


def test_stale_or_missing_vendor_stops_the_server(web_root: Path) -> None:
    (web_root / "vendor" / "versions.json").write_text('{"socket.io-client": "1.0.0"}', "utf-8")
    with pytest.raises(BuildError, match="pins"):
        check_vendor(web_root)
    shutil.rmtree(web_root / "vendor")
    with pytest.raises(BuildError, match="make setup"):
        create_app(load_settings({}), web_root=web_root)


def test_unknown_placeholder_is_an_error() -> None:
    with pytest.raises(KeyError):
        render_page("<p>{{ clinic_fax }}</p>", {"clinic_name": "x"})


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, ("http://localhost:8080", "http://127.0.0.1:8080")),
        ({"WEB_PORT": "9000"}, ("http://localhost:9000", "http://127.0.0.1:9000")),
        (
            {"WEB_ALLOWED_ORIGINS": "https://clinic.example/, http://localhost:8080"},
            ("https://clinic.example", "http://localhost:8080"),
        ),
    ],
)
def test_allowed_origins_setting(env: Dict[str, str], expected: Tuple[str, ...]) -> None:
    assert load_settings(env).web_allowed_origins == expected


@pytest.mark.parametrize(
    "env",
    [
        {"WEB_ALLOWED_ORIGINS": "*"},  # would switch the origin check off
        {"WEB_ALLOWED_ORIGINS": " , "},  # as would an empty list
        {"WEB_ALLOWED_ORIGINS": "https://clinic.example/chat"},
        {"WEB_PORT": "0"},
        {"WEB_PORT": "eighty"},
        {"WEB_RASA_URL": "localhost:5005"},
    ],
)
def test_bad_web_settings_fail_fast(env: Dict[str, str]) -> None:
    from clinic_assistant.settings import SettingsError

    with pytest.raises(SettingsError):
        load_settings(env)


def test_the_pinned_versions_are_exact() -> None:
    # `npm ci` installs the lock file; exact pins in package.json keep the two honest.
    for package, version in pinned_versions().items():
        assert version[0].isdigit(), f"{package} {version} is a range"
    lock: Dict[str, Any] = json.loads((WEB_ROOT / "package-lock.json").read_text("utf-8"))
    for package, version in pinned_versions().items():
        assert lock["packages"][f"node_modules/{package}"]["version"] == version
