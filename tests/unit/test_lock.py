"""The hashed locks that `make` installs from agree with requirements.in.

`make` installs only from requirements.lock (pip --require-hashes), so a direct
dependency added to requirements.in without `make lock` would silently be missing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Tuple

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from clinic_assistant.settings import PROJECT_ROOT

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+?)(?:\s*\\)?$")
_HASH = re.compile(r"^\s+--hash=sha256:[0-9a-f]{64}(?:\s*\\)?$")


def read_lock(path: Path) -> Dict[str, Tuple[str, List[str]]]:
    """Canonical name -> (version, hash lines) of a `uv pip compile --generate-hashes` file."""
    pins: Dict[str, Tuple[str, List[str]]] = {}
    current = ""
    for line in path.read_text("utf-8").splitlines():
        pin = _PIN.match(line)
        if pin:
            current = canonicalize_name(pin.group(1))
            assert current not in pins, f"{path.name}: {current} pinned twice"
            pins[current] = (pin.group(2), [])
        elif _HASH.match(line):
            assert current, f"{path.name}: a hash before any pin"
            pins[current][1].append(line.strip())
        elif line.strip() and not line.lstrip().startswith("#"):
            raise AssertionError(f"{path.name}: unexpected line {line!r}")
    return pins


def direct_requirements() -> List[Requirement]:
    lines = (PROJECT_ROOT / "requirements.in").read_text("utf-8").splitlines()
    return [Requirement(line.split("#", 1)[0]) for line in lines if line.split("#", 1)[0].strip()]


def test_every_pin_carries_a_sha256() -> None:
    for name in ("requirements.lock", "requirements-bootstrap.lock"):
        pins = read_lock(PROJECT_ROOT / name)
        assert pins, name
        assert not [p for p, (_, hashes) in pins.items() if not hashes], name


def test_every_direct_dependency_is_locked_at_an_allowed_version() -> None:
    pins = read_lock(PROJECT_ROOT / "requirements.lock")
    for requirement in direct_requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is in requirements.in but not locked: run make lock"
        version = pins[name][0]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{name}=={version} does not satisfy {requirement}: run make lock"
        )


def test_the_installer_lock_agrees_with_the_main_lock() -> None:
    main = read_lock(PROJECT_ROOT / "requirements.lock")
    bootstrap = read_lock(PROJECT_ROOT / "requirements-bootstrap.lock")
    assert "pip" in bootstrap
    for name, (version, _) in bootstrap.items():
        if name in main:
            assert main[name][0] == version, name
