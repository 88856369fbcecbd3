"""Latency, throughput, memory and start-up time of the running Rasa server."""

from __future__ import annotations

import json
import statistics
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List

from clinic_assistant.servers import ServerProcess
from evaluation.scoring import load_nlu_examples


def say(port: int, sender: str, text: str) -> float:
    """One REST round trip; its seconds."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as reply:
        reply.read()
    return time.perf_counter() - started


def percentile(values: List[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


def load(port: int, conversations: int, per_conversation: int) -> Dict[str, float]:
    """``conversations`` senders at once, each sending ``per_conversation`` messages."""
    texts = [text for text, _ in load_nlu_examples()]

    def run(index: int) -> List[float]:
        return [
            say(port, f"bench-{conversations}-{index}", texts[(index * 37 + i) % len(texts)])
            for i in range(per_conversation)
        ]

    started = time.perf_counter()
    with ThreadPoolExecutor(conversations) as pool:
        latencies = [t for batch in pool.map(run, range(conversations)) for t in batch]
    elapsed = time.perf_counter() - started
    return {
        "p50_ms": 1000 * statistics.median(latencies),
        "p95_ms": 1000 * percentile(latencies, 95),
        "msgs_per_s": len(latencies) / elapsed,
        "n": float(len(latencies)),
    }


def rss_mb(server: ServerProcess) -> float:
    """Resident memory of the server process and its children, in MB."""
    assert server.process is not None
    pids = [server.process.pid]
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    total_kb = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total_kb += int(line.split()[1])
    return total_kb / 1024
