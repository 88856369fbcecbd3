"""Fixtures shared by the unit tests: a real local webhook receiver."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Dict, List, Tuple

import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass
class Webhook:
    """A local webhook receiver; ``script`` says how to answer each next request."""

    url: str = ""
    bodies: List[Dict[str, Any]] = field(default_factory=list)
    #: Each request's exact bytes and headers (for the signature).
    raw: List[bytes] = field(default_factory=list)
    headers: List[Dict[str, str]] = field(default_factory=list)
    script: List[Tuple[int, float]] = field(default_factory=list)  # (status, delay in s)
    release: asyncio.Event = field(default_factory=asyncio.Event)


@pytest_asyncio.fixture
async def webhook() -> AsyncIterator[Webhook]:
    """An aiohttp server on 127.0.0.1 and an ephemeral port."""
    hook = Webhook()

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        hook.raw.append(body)
        hook.headers.append(dict(request.headers))
        hook.bodies.append(json.loads(body))
        status, delay = hook.script.pop(0) if hook.script else (200, 0.0)
        if delay:
            # Wait for the delay, or until the test ends, whichever comes first:
            # the server then shuts down without sitting out a long sleep.
            try:
                await asyncio.wait_for(hook.release.wait(), delay)
            except asyncio.TimeoutError:
                pass
        return web.json_response({"ok": status < 300}, status=status)

    app = web.Application()
    app.router.add_post("/escalations", receive)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    hook.url = str(server.make_url("/escalations"))
    try:
        yield hook
    finally:
        hook.release.set()
        await server.close()
