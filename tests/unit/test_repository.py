"""What the repository tracks: no symlinks (a worktree's `.venv` link once landed on main
and, on merge, replaced the venv with a link to itself)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from clinic_assistant.settings import PROJECT_ROOT


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_no_symlink_is_tracked() -> None:
    listing = subprocess.run(
        ["git", "ls-files", "-s"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    ).stdout
    links = [line.split("\t", 1)[1] for line in listing.splitlines() if line.startswith("120000")]
    assert links == []
