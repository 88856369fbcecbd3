"""State files are private: folders 0700, files 0600."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from clinic_assistant.file_modes import PRIVATE_UMASK, open_private, private_dir


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_an_old_world_readable_state_folder_is_tightened(tmp_path: Path) -> None:
    state = tmp_path / ".state"
    (state / "logs").mkdir(parents=True)
    for path in (state, state / "logs"):
        os.chmod(path, 0o755)
    (state / "assistant.db").write_text("x")
    os.chmod(state / "assistant.db", 0o644)
    private_dir(state)
    assert mode(state) == mode(state / "logs") == 0o700
    assert mode(state / "assistant.db") == 0o600


def test_logs_are_created_private(tmp_path: Path) -> None:
    with open_private(tmp_path / "rasa.log") as log:
        log.write(b"x")
    assert mode(tmp_path / "rasa.log") == 0o600


def test_a_server_process_creates_private_files(tmp_path: Path) -> None:
    """What ServerProcess passes to Popen: the child's files are 0600."""
    target = tmp_path / "db"
    code = f"open({str(target)!r}, 'w').write('x')"
    subprocess.run([sys.executable, "-c", code], check=True, umask=PRIVATE_UMASK)
    assert mode(target) == 0o600
