"""Dump what the NLU and the red-flag detector make of every test text, for a
before/after identity check of a change that must not change behaviour.

``python -m bench.parse_dump OUT.json [--model PATH] [--lean]`` parses every text of
tests/nlu/*.yml and tests/red_flags/*.yml with the trained model (full parse data)
and with the red-flag detector alone (level, symptoms, matches) and writes them
as sorted JSON; compare two dumps with ``cmp``. ``--lean`` loads the model the way
the server does (:mod:`clinic_assistant.runtime`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import yaml

from clinic_assistant.settings import PROJECT_ROOT
from evaluation.scoring import load_nlu_examples


def test_texts() -> List[str]:
    """Every text of the NLU and red-flag test sets, in file order, deduplicated."""
    texts: List[str] = []
    for path in sorted((PROJECT_ROOT / "tests" / "nlu").glob("*.yml")):
        texts += [text for text, _ in load_nlu_examples(path)]
    for path in sorted((PROJECT_ROOT / "tests" / "red_flags").glob("*.yml")):
        texts += [case["text"] for case in yaml.safe_load(path.read_text("utf-8"))["cases"]]
    return list(dict.fromkeys(texts))


def _detections(texts: Sequence[str]) -> List[Any]:
    from clinic_assistant.red_flags.detector import detect_text

    out = []
    for text in texts:
        found = detect_text(text)
        out.append(
            [found.level, list(found.symptoms), [list(vars(m).values()) for m in found.matches]]
        )
    return out


def _parse(loop: Any, agent: Any, text: str) -> Any:
    """The parse data, or the error's class name (texts Rasa's parser refuses)."""
    try:
        return loop.run_until_complete(agent.parse_message(text))
    except Exception as error:
        return type(error).__name__


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Write the dump."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--model", default=str(PROJECT_ROOT / "models" / "clinic.tar.gz"))
    parser.add_argument("--lean", action="store_true", help="load as the server does")
    parser.add_argument("--detector-only", action="store_true")
    args = parser.parse_args(argv)
    texts = test_texts()
    dump: Dict[str, Any] = {"texts": texts}
    if not args.detector_only:
        if args.lean:
            from clinic_assistant.runtime import install

            install()
        from rasa.core.agent import Agent

        agent = Agent.load(args.model)
        loop = asyncio.new_event_loop()
        dump["parses"] = [_parse(loop, agent, t) for t in texts]
    dump["detector"] = _detections(texts)
    args.out.write_text(json.dumps(dump, sort_keys=True, indent=0, default=str), "utf-8")
    print(f"{len(texts)} texts -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
