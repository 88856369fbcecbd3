"""Reading the examples of a Rasa NLU YAML file (training data and the test sets).

One reader for the safety net's look-alikes and for every scorer, so they agree on
what an example is: a ``- `` line of a block's ``examples``, entity markup removed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List

import yaml

# ``[text](entity)`` and ``[text]{"entity": ...}``: the patient wrote only ``text``.
_MARKUP = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})")


@dataclass(frozen=True)
class Example:
    """One example: what the patient wrote, its intent and its block's metadata."""

    text: str
    intent: str
    metadata: Dict[str, Any] = field(default_factory=dict)


def read_examples(path: Path) -> List[Example]:
    """Every example of the ``nlu`` blocks of ``path`` (blocks without examples skipped)."""
    found: List[Example] = []
    for block in (yaml.safe_load(path.read_text("utf-8")) or {}).get("nlu") or []:
        intent = str(block.get("intent") or "")
        metadata = dict(block.get("metadata") or {})
        for line in str(block.get("examples") or "").splitlines():
            line = line.strip()
            if line.startswith("- "):
                text = _MARKUP.sub(r"\1", line[2:].strip())
                if text:
                    found.append(Example(text, intent, metadata))
    return found
