"""Start, watch and stop the assistant's servers: one place for their commands.

``python -m clinic_assistant.servers`` is what ``make run`` calls: it starts the
action server (:5055), the Rasa server (:5005, REST + socket.io) and the demo web
page (:8080), waits until each answers, and stops them all on Ctrl-C or when one
dies. The tests use the same :class:`ServerProcess` to start real servers.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from clinic_assistant.settings import PROJECT_ROOT, get_settings

VENV_BIN = Path(sys.executable).parent
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

    def start(self, timeout_s: float = 120.0) -> ServerProcess:
        """Start the process and wait until ``ready_url`` answers."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command,
            cwd=PROJECT_ROOT,
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.wait_ready(timeout_s)
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


def server_env(db_url: str, action_port: int) -> Dict[str, str]:
    """The ${VAR}s of endpoints.yml for a given database and action server port."""
    return {
        "ASSISTANT_DB_URL": db_url,
        "TRACKER_DIALECT": db_url.split(":", 1)[0].split("+", 1)[0],
        "ACTION_SERVER_URL": f"http://127.0.0.1:{action_port}/webhook",
        # Rasa's own telemetry would try to reach the internet.
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }


def rasa_server(
    port: int, action_port: int, db_url: str, log_path: Path, model: Path = DEFAULT_MODEL
) -> ServerProcess:
    """The Rasa server: REST and socket.io channels, SQL tracker store, no HTTP API."""
    return ServerProcess(
        name="rasa server",
        command=[
            str(VENV_BIN / "rasa"),
            "run",
            "--model",
            str(model),
            "--endpoints",
            "endpoints.yml",
            "--credentials",
            "credentials.yml",
            "--port",
            str(port),
            "--interface",
            get_settings().bind_host,
        ],
        ready_url=f"http://127.0.0.1:{port}/webhooks/rest/",
        log_path=log_path,
        env=server_env(db_url, action_port),
    )


def action_server(port: int, db_url: str, log_path: Path) -> ServerProcess:
    """The rasa-sdk action server with the project's actions."""
    return ServerProcess(
        name="action server",
        command=[
            str(VENV_BIN / "rasa"),
            "run",
            "actions",
            "--actions",
            "actions",
            "--port",
            str(port),
        ],
        ready_url=f"http://127.0.0.1:{port}/health",
        log_path=log_path,
        env=server_env(db_url, port),
    )


def web_server(port: int, rasa_url: str, log_path: Path) -> ServerProcess:
    """The demo clinic page with the chat widget."""
    return ServerProcess(
        name="web server",
        command=[sys.executable, "-m", "clinic_assistant.web.server"],
        ready_url=f"http://127.0.0.1:{port}/",
        log_path=log_path,
        env={"WEB_PORT": str(port), "WEB_RASA_URL": rasa_url},
    )


def main() -> int:
    """Run everything with the settings' defaults until Ctrl-C or a server dies."""
    settings = get_settings()
    logs = PROJECT_ROOT / ".state" / "logs"
    rasa_port, action_port = 5005, 5055
    web_port = int(os.environ.get("WEB_PORT", "8080"))
    servers = [
        action_server(action_port, settings.db_url, logs / "actions.log"),
        rasa_server(rasa_port, action_port, settings.db_url, logs / "rasa.log"),
    ]
    if (PROJECT_ROOT / "clinic_assistant" / "web" / "server.py").exists():
        servers.append(web_server(web_port, f"http://localhost:{rasa_port}", logs / "web.log"))
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
            f"Chat: POST http://localhost:{rasa_port}/webhooks/rest/webhook, "
            f"web page http://localhost:{web_port}/ . Logs in {logs}. Ctrl-C stops.",
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
