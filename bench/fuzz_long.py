"""The long fuzzing run of `make bench`: tests/fuzz with the "long" hypothesis profile."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from typing import Any, Dict

from clinic_assistant.settings import PROJECT_ROOT


def run() -> Dict[str, Any]:
    """Run tests/fuzz with many inputs; the number of tests and inputs, failures, time."""
    from tests.fuzz.profiles import EXAMPLES

    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "tests/fuzz"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "HYPOTHESIS_PROFILE": "long"},
        capture_output=True,
        text=True,
        check=False,
    )
    tail = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    passed = int(m.group(1)) if (m := re.search(r"(\d+) passed", tail)) else 0
    failed = int(m.group(1)) if (m := re.search(r"(\d+) failed", tail)) else 0
    many, nlu = EXAMPLES["long"]
    return {
        "tests": passed + failed,
        "failed": failed,
        "summary": tail,
        "inputs_per_test": many,
        "inputs_per_nlu_test": nlu,
        "seconds": time.monotonic() - started,
    }
