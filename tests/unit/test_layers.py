"""Who may import whom: the runtime never depends on the measuring or testing code.

clinic_assistant and actions are what the servers run; evaluation is shared by the
tests and the bench; tests do not import bench (a benchmark may change its code
without breaking a test). Checked on the source, so lazy imports count too.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Iterator, Set, Tuple

import pytest

from clinic_assistant.settings import PROJECT_ROOT

FORBIDDEN: Dict[str, Set[str]] = {
    "clinic_assistant": {"tests", "bench", "evaluation"},
    "actions": {"tests", "bench", "evaluation"},
    "evaluation": {"tests", "bench"},
    "tests": {"bench"},
}


def imported_packages(path: Path) -> Iterator[Tuple[int, str]]:
    """(line, top-level package) of every absolute import in ``path``."""
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.lineno, node.module.split(".")[0]


def test_the_scan_sees_imports(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("import bench.run\ndef f():\n    from tests.conftest import ROOT\n")
    assert sorted(p for _, p in imported_packages(source)) == ["bench", "tests"]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_import_points_the_wrong_way(package: str) -> None:
    wrong = [
        f"{path.relative_to(PROJECT_ROOT)}:{line} imports {name}"
        for path in sorted((PROJECT_ROOT / package).rglob("*.py"))
        for line, name in imported_packages(path)
        if name in FORBIDDEN[package]
    ]
    assert not wrong, "\n".join(wrong)
