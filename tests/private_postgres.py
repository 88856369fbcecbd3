"""A PostgreSQL server of a test's own (Debian's binaries), to stop and start at will.

The machine's PostgreSQL serves the other tests, so an outage is played on a private
cluster in a temporary folder, on a free port. As root, the server runs as the
``postgres`` user (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import List

from clinic_assistant.servers import free_port

BIN = Path("/usr/lib/postgresql/15/bin")


class PrivatePostgres:
    """``initdb`` once; :meth:`start` and :meth:`stop` as often as the test needs."""

    def __init__(self) -> None:
        # Its own folder under /tmp: pytest's are private to root, and the server
        # runs as ``postgres``.
        self.folder = Path(tempfile.mkdtemp(prefix="private-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        as_user: List[str] = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*as_user, *args], check=True, capture_output=True, timeout=60)

    def create(self) -> PrivatePostgres:
        """A new cluster (trust on 127.0.0.1 only: it listens nowhere else)."""
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        self._run(str(BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "-E", "UTF8", "--no-sync")  # fmt: skip
        return self

    def start(self) -> None:
        """Start and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        self._run(str(BIN / "pg_ctl"), "-D", str(self.data), "-l",
                  str(self.folder / "postgres.log"), "-w", "-o", options, "start")  # fmt: skip

    def stop(self) -> None:
        """Stop now (open connections are cut, as in a crash or a restart)."""
        self._run(str(BIN / "pg_ctl"), "-D", str(self.data), "-w", "-m", "fast", "stop")

    def remove(self) -> None:
        """Stop if running, then delete the cluster."""
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass  # not running
        shutil.rmtree(self.folder, ignore_errors=True)
