"""Bot text stays text, links stay safe, and only the configured origin may chat."""

from __future__ import annotations

import base64
import os
import socket
from typing import Callable, List
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.widget import Chat, Pages, Stack

NETWORK_ERRORS = r"WebSocket connection to|CORS policy|Failed to load resource|ERR_FAILED"


def test_bot_text_never_becomes_markup(
    chat_factory: Callable[..., Chat], scripted_site: str, pages: Pages
) -> None:
    # The scripted bot refuses WebSocket: Chromium logs the failed handshake, and
    # the widget carries on over long-polling.
    pages.expect_errors(r"WebSocket connection to .* failed")
    chat = chat_factory(url=scripted_site + "/")
    polls: List[str] = []
    chat.page.on("request", lambda request: polls.append(request.url))
    chat.open()
    expect(chat.bot.first).to_have_text("Scripted greeting.")
    # A button whose title is markup is shown as that text, and so is the reply.
    reply = chat.page.locator(".cc-reply")
    expect(reply).to_have_text("<i>Hostile</i> button")
    reply.click()
    expect(chat.user.last).to_have_text("<i>Hostile</i> button")
    expect(chat.bot.last).to_contain_text('<img src=x onerror="window.__xss=1"> <b>bold</b>')
    chat.ask("links")
    expect(chat.bot.last).to_contain_text("javascript:alert(1)")

    page = chat.page
    assert page.evaluate("window.__xss") is None
    assert page.locator(".cc-log img, .cc-log b, .cc-log i, .cc-log script").count() == 0
    links = page.eval_on_selector_all(
        ".cc-log a", "els => els.map(a => [a.childNodes[0].textContent, a.getAttribute('href')])"
    )
    # Only http(s) and tel: links, each the exact text it was made from; the rest
    # (javascript:, data:, ftp:) stays plain text.
    assert links == [
        ["https://example.org/info?a=1&b=", "https://example.org/info?a=1&b="],
        ["tel:+15550100199", "tel:+15550100199"],
        ["(555) 010-0199", "tel:5550100199"],
        ["http://clinic.example/a", "http://clinic.example/a"],
    ]
    web = page.locator(".cc-log a[target=_blank]")
    expect(web.first).to_have_attribute("rel", "noopener noreferrer")
    # All of it went over long-polling, since WebSocket was refused.
    assert any("transport=polling" in url for url in polls)


def test_a_page_from_another_origin_cannot_chat(
    chat_factory: Callable[..., Chat], stack: Stack, pages: Pages
) -> None:
    # Same page, but as http://localhost:<port>: not in WEB_ALLOWED_ORIGINS.
    pages.expect_errors(NETWORK_ERRORS)
    chat = chat_factory(url=stack.web_url.replace("127.0.0.1", "localhost") + "/").open()
    expect(chat.status).to_contain_text("We can't reach the assistant right now.")
    assert chat.bot.count() == 0


def websocket_handshake(base_url: str, origin: str) -> int:
    """The HTTP status of a browser-like WebSocket handshake sent with ``origin``.

    Written out by hand: Playwright's sync API owns this thread's event loop.
    """
    parts = urlsplit(base_url)
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
        f"Host: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Origin: {origin}\r\n\r\n"
    )
    address = (parts.hostname or "127.0.0.1", parts.port or 80)
    with socket.create_connection(address, timeout=10) as conn:
        conn.sendall(request.encode())
        status_line = conn.recv(4096).split(b"\r\n", 1)[0]
    return int(status_line.split()[1])


@pytest.mark.parametrize(("allowed", "status"), [(True, 101), (False, 400)])
def test_the_real_server_checks_the_websocket_origin(
    stack: Stack, allowed: bool, status: int
) -> None:
    origin = stack.web_url if allowed else "https://evil.example"
    assert websocket_handshake(stack.rasa_url, origin) == status


def test_without_clinic_facts_the_widget_does_not_guess_them(
    chat_factory: Callable[..., Chat], scripted_site: str, pages: Pages
) -> None:
    # A host page that sets only the server URL: no clinic facts on the tag.
    pages.expect_errors(r"WebSocket connection to .* failed")
    chat = chat_factory(url="about:blank")
    # Strip the attributes from the tag as the parser inserts it (the widget, a
    # deferred script, reads them only after parsing).
    chat.page.add_init_script(
        """new MutationObserver(() => {
            const tag = document.querySelector('script[src*="clinic-chat.js"]');
            if (tag) {
                for (const name of ['data-clinic-phone', 'data-emergency-number',
                                    'data-clinic-name']) { tag.removeAttribute(name); }
            }
        }).observe(document, {childList: true, subtree: true});"""
    )
    chat.page.goto(scripted_site + "/")
    chat.open()
    expect(chat.bot.first).to_have_text("Scripted greeting.")
    footnote = chat.page.locator(".cc-footnote")
    expect(footnote).to_contain_text("In an emergency call your local emergency number.")
    assert footnote.locator("a").count() == 0
    expect(chat.page.locator(".cc-subtitle")).to_have_text("the clinic")
