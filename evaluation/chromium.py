"""How the browser tests and the browser bench launch Debian's Chromium."""

from __future__ import annotations

#: Headless on a server with no GPU, no sandbox (root in a container) and nothing
#: that reaches the network on its own (component updates, sync, background fetches).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
