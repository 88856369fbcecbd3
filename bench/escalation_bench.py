"""Emergency-turn latency under concurrent clients, and that every one was recorded.

``python -m bench.escalation_bench`` starts the action server and the Rasa server
(trained model, throwaway SQLite database) on free ports, then for 8 and 16
clients at once sends emergency messages, each in a conversation of its own (a
new escalation record per message: the worst case for the database), and
reports p50/p95/max of the REST round trip. ``bench.run`` includes it.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List

import sqlalchemy as sa

from bench.server_bench import percentile, say
from clinic_assistant.servers import DEFAULT_MODEL, action_server, local_settings, rasa_server

EMERGENCIES = (
    "I can't breathe since my botox",
    "my husband can barely swallow since his shots on tuesday",
    "I keep choking on water since the injections",
    "I can't get my words out since the botox yesterday",
    "my throat is closing up after the shot",
)


def emergency_load(port: int, clients: int, per_client: int) -> Dict[str, float]:
    """``clients`` at once, each sending ``per_client`` emergencies (new conversations)."""

    def run(client: int) -> List[float]:
        return [
            say(port, f"emergency-{clients}-{client}-{i}", EMERGENCIES[(client + i) % 5])
            for i in range(per_client)
        ]

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        latencies = [t for batch in pool.map(run, range(clients)) for t in batch]
    elapsed = time.perf_counter() - started
    return {
        "p50_ms": 1000 * statistics.median(latencies),
        "p95_ms": 1000 * percentile(latencies, 95),
        "max_ms": 1000 * max(latencies),
        "msgs_per_s": len(latencies) / elapsed,
        "n": float(len(latencies)),
    }


def recorded(db_url: str, timeout_s: float = 30.0, expected: int = 0) -> int:
    """Escalation records in the database, once ``expected`` are there (or the timeout)."""
    engine = sa.create_engine(db_url)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            with engine.connect() as connection:
                count = int(
                    connection.execute(sa.text("SELECT COUNT(*) FROM escalations")).scalar_one()
                )
            if count >= expected or time.monotonic() > deadline:
                return count
            time.sleep(0.2)
    finally:
        engine.dispose()


def measure(work: Path, per_client: int = 5) -> Dict[str, Dict[str, float]]:
    """Start the servers, run 8 and 16 clients, check the records; stop the servers."""
    db_url = f"sqlite:///{work / 'escalation-bench.db'}"
    settings = local_settings(db_url)
    rasa_port = settings.rasa_port
    actions = action_server(settings, work / "actions.log")
    rasa = rasa_server(settings, work / "rasa.log", DEFAULT_MODEL)
    results: Dict[str, Dict[str, float]] = {}
    try:
        # Generous: on a loaded shared machine Rasa may take minutes to load.
        actions.start(timeout_s=600)
        rasa.start(timeout_s=600)
        say(rasa_port, "warm-up", EMERGENCIES[0])
        sent = 1
        for clients in (8, 16):
            results[f"{clients} clients"] = emergency_load(rasa_port, clients, per_client)
            sent += clients * per_client
        results["records"] = {
            "sent": float(sent),
            "recorded": float(recorded(db_url, expected=sent)),
        }
    finally:
        rasa.stop()
        actions.stop()
    return results


def main() -> None:
    """Print the figures as JSON."""
    work = Path(tempfile.mkdtemp(prefix="escalation-bench-"))
    per_client = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    print(json.dumps(measure(work, per_client), indent=2))


if __name__ == "__main__":
    main()
