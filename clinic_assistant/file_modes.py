"""Files that hold patients' conversations are private to the service's account.

The servers run with umask 077 (:data:`PRIVATE_UMASK`), so the SQLite database, the
logs and the web session key they create are 0600 and their folders 0700;
:func:`private_dir` also tightens a state folder made before this rule existed.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import IO, cast

PRIVATE_UMASK = 0o077


def private_dir(path: Path) -> Path:
    """Create ``path`` (0700) if needed; make it and everything in it owner-only."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    for folder, dirs, files in os.walk(path):
        os.chmod(folder, 0o700)
        for name in files:
            file = Path(folder) / name
            if not file.is_symlink():
                os.chmod(file, stat.S_IMODE(file.stat().st_mode) & 0o700 | 0o600)
        for name in dirs:
            os.chmod(Path(folder) / name, 0o700)
    return path


def open_private(path: Path) -> IO[bytes]:
    """Open ``path`` to append, created 0600 (an existing file is made 0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.fchmod(fd, 0o600)
    return cast(IO[bytes], os.fdopen(fd, "ab"))
