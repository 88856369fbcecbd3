"""The production topology on one machine: ``make run-cluster`` and the cluster tests.

HAProxy (the front door, config rendered from ``deploy/haproxy.cfg.template``) in front
of ``REPLICAS`` Rasa servers, one action server and the demo page; conversations in
PostgreSQL (``CLUSTER_DB_URL``), conversation locks and socket.io's cross-replica
relay in Redis (``REDIS_URL``). The replicas and the action server listen on free
loopback ports; only the front door (``CLUSTER_PORT``, default 8000) is meant to be
reached.
"""

from __future__ import annotations

import os
import shutil
import signal
import string
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import yaml

from clinic_assistant.servers import (
    DEFAULT_MODEL,
    ServerProcess,
    action_server,
    free_port,
    local_settings,
    rasa_server,
    web_server,
)
from clinic_assistant.settings import PROJECT_ROOT, get_settings

TEMPLATE = PROJECT_ROOT / "deploy" / "haproxy.cfg.template"
LOCK_STORE = "clinic_assistant.locks.redis_store.AtomicRedisLockStore"


def render_haproxy(
    port: int,
    rasa_ports: List[int],
    web_port: int,
    bind_host: str = "127.0.0.1",
    rest_token: str = "",
) -> str:
    """HAProxy's configuration for these ports (the template with its values)."""
    rasa = "\n".join(f"    server rasa{i} 127.0.0.1:{p} check" for i, p in enumerate(rasa_ports, 1))
    socketio = "\n".join(
        f"    server rasa{i} 127.0.0.1:{p} check cookie r{i}" for i, p in enumerate(rasa_ports, 1)
    )
    if rest_token:
        if any(c in rest_token for c in ' "\\\n\r'):
            raise ValueError("REST_TOKEN must not contain spaces, quotes or backslashes")
        rest_auth = (
            f'    acl rest_token_ok req.hdr(authorization) -m str "Bearer {rest_token}"\n'
            "    http-request deny deny_status 401 if rest_webhook !from_loopback !rest_token_ok"
        )
    else:
        rest_auth = "    http-request deny deny_status 401 if rest_webhook !from_loopback"
    return string.Template(TEMPLATE.read_text("utf-8")).substitute(
        bind_host=bind_host,
        port=port,
        rasa_servers=rasa,
        socketio_servers=socketio,
        web_port=web_port,
        rest_auth=rest_auth,
    )


def cluster_endpoints() -> Dict[str, object]:
    """endpoints.yml (the one source) plus the cross-replica lock store.

    The lock store's URL stays a ${VAR}: Rasa fills it from the replica's environment
    (its settings), so a Redis password is never written to the file.
    """
    endpoints = yaml.safe_load((PROJECT_ROOT / "endpoints.yml").read_text("utf-8"))
    endpoints["lock_store"] = {"type": LOCK_STORE, "url": "${REDIS_URL}"}
    return dict(endpoints)


def _private_file(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


@dataclass
class Cluster:
    """HAProxy, Rasa replicas, the action server and the demo page, as processes."""

    folder: Path
    replicas: int
    port: int
    db_url: str
    redis_url: str
    model: Path = DEFAULT_MODEL
    bind_host: str = "127.0.0.1"
    rest_token: str = ""
    rasa: List[ServerProcess] = field(default_factory=list)
    others: List[ServerProcess] = field(default_factory=list)
    haproxy: Optional[ServerProcess] = None

    @property
    def url(self) -> str:
        """The front door."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 600.0) -> Cluster:
        """Start everything and wait until the front door answers."""
        haproxy = shutil.which("haproxy")
        if haproxy is None:
            raise RuntimeError("haproxy is missing: run scripts/ensure-haproxy.sh")
        logs = self.folder / "logs"
        action_port, web_port = free_port(), free_port()
        rasa_ports = [free_port() for _ in range(self.replicas)]
        endpoints = self.folder / "endpoints.yml"
        _private_file(endpoints, yaml.safe_dump(cluster_endpoints()))
        config = self.folder / "haproxy.cfg"
        _private_file(
            config,
            render_haproxy(self.port, rasa_ports, web_port, self.bind_host, self.rest_token),
        )
        front = f"http://localhost:{self.port}"
        # What every server of the cluster shares: the page and socket.io come
        # through the front door, replies between replicas through Redis.
        shared = {
            "ACTION_PORT": str(action_port),
            "ACTION_SERVER_URL": f"http://127.0.0.1:{action_port}/webhook",
            "WEB_PORT": str(web_port),
            "WEB_RASA_URL": front,
            "WEB_ALLOWED_ORIGINS": f"{front},http://127.0.0.1:{self.port}",
            "REDIS_URL": self.redis_url,
            "SOCKETIO_REDIS_URL": self.redis_url,
        }
        settings = local_settings(self.db_url, None, **shared)
        self.others = [
            action_server(settings, logs / "actions.log"),
            web_server(settings, logs / "web.log"),
        ]
        for i, port in enumerate(rasa_ports, 1):
            replica = local_settings(self.db_url, None, **{**shared, "RASA_PORT": str(port)})
            server = rasa_server(replica, logs / f"rasa{i}.log", self.model)
            server.name = f"rasa replica {i}"
            server.command[server.command.index("endpoints.yml")] = str(endpoints)
            self.rasa.append(server)
        self.haproxy = ServerProcess(
            name="haproxy",
            command=[haproxy, "-db", "-f", str(config)],
            ready_url=f"{self.url}/webhooks/rest/",
            log_path=logs / "haproxy.log",
        )
        try:
            for server in self.others:
                server.start(timeout_s)
            # Replicas load in parallel (the model load is most of the start-up).
            for server in self.rasa:
                server.spawn()
            for server in self.rasa:
                server.wait_ready(timeout_s)
            self.haproxy.start(timeout_s=30)
            self._wait_all_up(timeout_s=30)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_all_up(self, timeout_s: float) -> None:
        """Until HAProxy's health checks see every replica (not just the first)."""
        import urllib.error
        import urllib.request

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            seen = set()
            for _ in range(4 * self.replicas):
                try:
                    with urllib.request.urlopen(  # noqa: S310 - our own loopback URL
                        f"{self.url}/socket.io/?EIO=4&transport=polling", timeout=5
                    ) as reply:
                        cookie = reply.headers.get("Set-Cookie", "")
                        seen.add(cookie.split(";", 1)[0])
                except (urllib.error.URLError, OSError):
                    continue  # a replica HAProxy does not see as up yet
            if len(seen) >= self.replicas:
                return
            time.sleep(0.25)
        raise TimeoutError("HAProxy does not see every replica as up")

    def stop(self) -> None:
        """Stop everything (front door first)."""
        for server in [self.haproxy, *self.rasa, *self.others]:
            if server is not None:
                server.stop()


def main() -> int:
    """``make run-cluster``: run until Ctrl-C or until the front door dies."""
    settings = get_settings()
    if not settings.cluster_db_url.startswith("postgresql"):
        print("CLUSTER_DB_URL must be a PostgreSQL URL (replicas share it).", file=sys.stderr)
        return 2
    cluster = Cluster(
        folder=PROJECT_ROOT / ".state" / "cluster",
        replicas=settings.replicas,
        port=settings.cluster_port,
        db_url=settings.cluster_db_url,
        redis_url=settings.redis_url,
        bind_host=settings.bind_host,
        # The REST channel's token; written nowhere but the 0600 config.
        rest_token=settings.rest_token,
    )
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    started = time.monotonic()
    try:
        cluster.start()
        print(
            f"{settings.replicas} replicas ready in {time.monotonic() - started:.1f} s. "
            f"Front door http://localhost:{settings.cluster_port}/ (page), "
            f"/webhooks/rest/webhook (REST), /socket.io/ (web chat). "
            f"Logs in {cluster.folder / 'logs'}. Ctrl-C stops.",
            flush=True,
        )
        reported: set[str] = set()
        while not stopping and cluster.haproxy is not None and cluster.haproxy.alive:
            for server in cluster.rasa:
                if not server.alive and server.name not in reported:
                    reported.add(server.name)
                    print(f"{server.name} stopped; HAProxy routes around it.", flush=True)
            time.sleep(0.5)
        return 0
    except (RuntimeError, TimeoutError) as error:
        print(error, file=sys.stderr)
        return 1
    finally:
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
