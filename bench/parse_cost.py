"""Cost of understanding one message, in-process: two trained models side by side.

``python -m bench.parse_cost MODEL_A MODEL_B``: the median and p95 milliseconds of
``Agent.parse_message`` over the dev FAQ phrasings (each model warmed up first,
then the two interleaved so machine load falls on both alike).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from typing import Dict, List

from evaluation.blind_sets import BLIND_NLU, load_phrasings


def main(argv: List[str]) -> int:
    """Prints p50 / p95 per model."""
    from rasa.core.agent import Agent

    texts = [p.text for p in load_phrasings(BLIND_NLU["dev"])]
    agents = {path: Agent.load(path) for path in argv}
    loop = asyncio.new_event_loop()
    samples: Dict[str, List[float]] = {path: [] for path in argv}
    for agent in agents.values():
        for text in texts[:10]:
            loop.run_until_complete(agent.parse_message(text))
    for text in texts:
        for path, agent in agents.items():
            started = time.perf_counter()
            loop.run_until_complete(agent.parse_message(text))
            samples[path].append((time.perf_counter() - started) * 1000)
    for path, values in samples.items():
        values.sort()
        p95 = values[int(0.95 * (len(values) - 1))]
        print(f"{path}: p50 {statistics.median(values):.1f} ms, p95 {p95:.1f} ms (n={len(values)})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
