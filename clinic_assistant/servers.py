"""Start, watch and stop the assistant's servers: one place for their commands.

``python -m clinic_assistant.servers`` is what ``make run`` calls: it starts the
action server (ACTION_PORT, default 5055), the Rasa server (RASA_PORT, 5005; REST +
socket.io), the demo web page (WEB_PORT, 8080) and the staff console (STAFF_PORT,
8090), waits until each answers, and stops them all on Ctrl-C or when one dies.
Every port and URL comes from :class:`~clinic_assistant.settings.Settings`, and each
child gets the environment that gives it the same settings. The tests and the bench
start real servers with the same helpers, on free ports (:func:`local_settings`).
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Dict, List, Mapping, Optional

from clinic_assistant.file_modes import PRIVATE_UMASK, open_private, private_dir
from clinic_assistant.settings import (
    PROJECT_ROOT,
    STATE_DIR,
    Settings,
    get_settings,
    load_settings,
)

DEFAULT_MODEL = PROJECT_ROOT / "models" / "clinic.tar.gz"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    """One server as a child process, with its log in a file."""

    name: str
    command: List[str]
    ready_url: str
    log_path: Path
    env: Dict[str, str] = field(default_factory=dict)
    process: Optional[subprocess.Popen[bytes]] = None

    def start(self, timeout_s: float = 300.0) -> ServerProcess:
        """Start the process and wait until ``ready_url`` answers."""
        self.spawn()
        self.wait_ready(timeout_s)
        return self

    def spawn(self) -> ServerProcess:
        """Start the process without waiting for it to be ready."""
        self.log_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        log = open_private(self.log_path)
        self.process = subprocess.Popen(
            self.command,
            cwd=PROJECT_ROOT,
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # What the servers create (database, key, logs) is the service's only.
            umask=PRIVATE_UMASK,
        )
        log.close()
        return self

    def wait_ready(self, timeout_s: float) -> float:
        """Seconds until ready; raises with the log's tail if it never gets there."""
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log_tail()}")
            try:
                # Our own http:// URL on this machine, never user input.
                with urllib.request.urlopen(self.ready_url, timeout=2) as reply:  # noqa: S310
                    if reply.status < 500:
                        return time.monotonic() - started
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.25)
        raise TimeoutError(f"{self.name} not ready after {timeout_s} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the server's log (for error messages)."""
        try:
            return "\n".join(self.log_path.read_text("utf-8", "replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def stop(self, timeout_s: float = 20.0) -> None:
        """Stop the process group politely, then firmly."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout_s)
        except ProcessLookupError:
            pass

    @property
    def alive(self) -> bool:
        """True while the process runs."""
        return self.process is not None and self.process.poll() is None


#: Never from the settings: Rasa's own telemetry would try to reach the internet.
QUIET_ENV = {"RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}


def local_settings(
    db_url: str, env: Optional[Mapping[str, str]] = None, /, **extra: str
) -> Settings:
    """Settings for a whole stack on free ports of 127.0.0.1 (tests, bench).

    The environment's settings with a fresh database, fresh ports and the URLs that
    follow from them; ``extra`` (variable name -> value) wins over both. They are read
    by :func:`load_settings`, so they are checked like any deployment's.
    """
    rasa_port, action_port, web_port = free_port(), free_port(), free_port()
    overrides = {
        "ASSISTANT_DB_URL": db_url,
        "BIND_HOST": "127.0.0.1",
        "RASA_PORT": str(rasa_port),
        "ACTION_PORT": str(action_port),
        "WEB_PORT": str(web_port),
        "ACTION_SERVER_URL": f"http://127.0.0.1:{action_port}/webhook",
        "WEB_RASA_URL": f"http://127.0.0.1:{rasa_port}",
        "WEB_ALLOWED_ORIGINS": f"http://127.0.0.1:{web_port}",
        **extra,
    }
    return with_action_token(load_settings({**(os.environ if env is None else env), **overrides}))


def with_action_token(settings: Settings) -> Settings:
    """``settings`` with an ACTION_SERVER_TOKEN: the configured one, or a fresh one.

    Rasa and the action server started from one process share it through their
    environment (``endpoint_env``), so ``make run`` and the tests need no setting;
    servers on separate hosts set the same ACTION_SERVER_TOKEN on both.
    """
    if settings.action_server_token:
        return settings
    return replace(settings, action_server_token=secrets.token_urlsafe(32))


def _reach(settings: Settings, port: int, path: str) -> str:
    """A URL on this machine for a server that listens on the settings' interface."""
    host = settings.bind_host
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 (a comparison, not a bind)
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}{path}"


def rasa_server(settings: Settings, log_path: Path, model: Path = DEFAULT_MODEL) -> ServerProcess:
    """The Rasa server: REST and socket.io channels, SQL tracker store, no HTTP API.

    ``rasa run`` through :mod:`clinic_assistant.runtime`, which loads the spaCy
    pipeline once per process (shared with the red-flag detector).
    """
    return ServerProcess(
        name="rasa server",
        command=[
            sys.executable,
            "-m",
            "clinic_assistant.runtime",
            "run",
            "--model",
            str(model),
            "--endpoints",
            "endpoints.yml",
            "--credentials",
            "credentials.yml",
            "--port",
            str(settings.rasa_port),
            "--interface",
            settings.bind_host,
        ],
        ready_url=_reach(settings, settings.rasa_port, "/webhooks/rest/"),
        log_path=log_path,
        env={**settings.server_env(), **QUIET_ENV},
    )


def action_server(settings: Settings, log_path: Path) -> ServerProcess:
    """The rasa-sdk action server with the project's actions, bound and token-checked."""
    return ServerProcess(
        name="action server",
        command=[
            sys.executable,
            "-m",
            "clinic_assistant.action_server",
            "--port",
            str(settings.action_port),
        ],
        ready_url=_reach(settings, settings.action_port, "/health"),
        log_path=log_path,
        env={**settings.server_env(), **QUIET_ENV},
    )


def web_server(settings: Settings, log_path: Path) -> ServerProcess:
    """The demo clinic page with the chat widget (it connects to WEB_RASA_URL)."""
    return ServerProcess(
        name="web server",
        command=[sys.executable, "-m", "clinic_assistant.web.server"],
        ready_url=_reach(settings, settings.web_port, "/"),
        log_path=log_path,
        env={**settings.server_env(), **QUIET_ENV},
    )


def console_server(settings: Settings, log_path: Path) -> ServerProcess:
    """The staff console (clinic_assistant.console) on the assistant's database."""
    return ServerProcess(
        name="staff console",
        command=[sys.executable, "-m", "clinic_assistant.console.server"],
        ready_url=_reach(settings, settings.console.port, "/login"),
        log_path=log_path,
        env={**settings.server_env(), **QUIET_ENV},
    )


def assistant_servers(settings: Settings, logs: Path) -> List[ServerProcess]:
    """What `make run` starts, in order: actions, Rasa, the demo page.

    Every port and URL comes from ``settings`` (RASA_PORT, ACTION_PORT, WEB_PORT,
    ACTION_SERVER_URL, WEB_RASA_URL, ...); the children get the same environment.
    """
    return [
        action_server(settings, logs / "actions.log"),
        rasa_server(settings, logs / "rasa.log"),
        web_server(settings, logs / "web.log"),
    ]


def main() -> int:
    """Run everything with the settings' defaults until Ctrl-C or a server dies."""
    settings = with_action_token(get_settings())
    os.umask(PRIVATE_UMASK)
    private_dir(STATE_DIR)
    logs = STATE_DIR / "logs"
    servers = [*assistant_servers(settings, logs), console_server(settings, logs / "console.log")]
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        for server in servers:
            started = time.monotonic()
            server.start()
            print(
                f"{server.name} ready in {time.monotonic() - started:.1f} s "
                f"({server.ready_url.split('/webhooks')[0].rstrip('/')})",
                flush=True,
            )
        print(
            f"Chat: POST {_reach(settings, settings.rasa_port, '/webhooks/rest/webhook')}, "
            f"web page {_reach(settings, settings.web_port, '/')} , staff console "
            f"{_reach(settings, settings.console.port, '/')} (accounts: bin/staff-user NAME). "
            f"Logs in {logs}. Ctrl-C stops.",
            flush=True,
        )
        while not stopping and all(server.alive for server in servers):
            time.sleep(0.5)
        for server in servers:
            if not server.alive and not stopping:
                print(f"{server.name} stopped unexpectedly:\n{server.log_tail()}", file=sys.stderr)
                return 1
        return 0
    except (RuntimeError, TimeoutError) as error:
        print(error, file=sys.stderr)
        return 1
    finally:
        for server in reversed(servers):
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
