"""Staff console page times with 100,000 conversations in the database.

``python -m bench.console_bench [--conversations N]`` (``make bench`` runs it too):
generates the conversations as tracker events (evaluation/tracker_events.py, fixed seed)
plus their escalation records in a fresh SQLite database, builds the console's
summary index, starts the real console server (uvicorn, its own process), signs in
and times each page over HTTP. Writes bench/report/console.md and console.json.
Target: p95 under 300 ms for the escalations page, the conversation list and a
transcript.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List

import requests

from clinic_assistant.console import accounts, summary, tables
from clinic_assistant.escalations import store
from clinic_assistant.servers import console_server, free_port, local_settings
from clinic_assistant.settings import PROJECT_ROOT
from evaluation import tracker_events as console_data

REPORT = PROJECT_ROOT / "bench" / "report"
TARGET_P95_MS = 300.0
TARGETED = ("escalations", "conversation list", "transcript")
PASSWORD = "bench password, long enough"


def percentile(values: List[float], share: float) -> float:
    """The value below which ``share`` of ``values`` fall (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def seed(db_url: str, conversations: int) -> Dict[str, Any]:
    """Write the conversations and escalation records; index them; return the timings."""
    engine = tables.get_engine(db_url)
    started = time.monotonic()
    made = console_data.generate(engine, conversations, end=time.time())
    generated_s = time.monotonic() - started
    rows = [
        {
            "created_at": datetime.fromtimestamp(e["ts"], timezone.utc),
            "conversation_id": e["conversation_id"],
            "channel": e["channel"],
            "level": e["level"],
            "symptoms": json.dumps(e["symptoms"]),
            "message": e["message"],
            "notification_status": "sent",
            "notification_attempts": 1,
        }
        for e in made.escalations
    ]
    with engine.begin() as connection:
        connection.execute(store.escalations.insert(), rows)
    started = time.monotonic()
    summary.refresh(db_url)
    indexed_s = time.monotonic() - started
    return {
        "conversations": made.conversations,
        "events": made.events,
        "escalations": len(rows),
        "generate_s": generated_s,
        "index_s": indexed_s,
    }


def sign_in(url: str, name: str) -> requests.Session:
    """A signed-in session, through the login form."""
    session = requests.Session()
    page = session.get(f"{url}/login", timeout=30).text
    token = re.search(r'name="csrftoken" value="([^"]+)"', page)
    assert token is not None
    reply = session.post(
        f"{url}/login",
        data={"username": name, "password": PASSWORD, "csrftoken": token.group(1)},
        timeout=30,
    )
    reply.raise_for_status()
    return session


def time_pages(
    url: str, session: requests.Session, conversations: int, rounds: int
) -> Dict[str, Dict[str, float]]:
    """p50/p95/max per page over ``rounds`` requests each (after one warm-up)."""
    rng = random.Random(12)
    first = session.get(f"{url}/conversations", timeout=30).text
    older = re.search(r'href="(/conversations\?after=[^"]+)"', first)
    pages = {
        "escalations": lambda: "/",
        "escalations feed (polled)": lambda: "/escalations/feed",
        "conversation list": lambda: "/conversations",
        "conversation list, page 2": lambda: (
            older.group(1).replace("&amp;", "&") if older else "/conversations"
        ),
        "list, outcome = escalated": lambda: "/conversations?outcome=escalated",
        "list, channel + dates": lambda: "/conversations?channel=twilio&from=2000-01-01",
        "text search": lambda: "/conversations?q=swallow",
        "transcript": lambda: f"/conversation?id=gen-{rng.randrange(conversations):06d}",
        "improve queue": lambda: "/improve",
        "analytics (30 days)": lambda: "/analytics",
    }
    results: Dict[str, Dict[str, float]] = {}
    for name, path in pages.items():
        session.get(f"{url}{path()}", timeout=60).raise_for_status()
        samples = []
        for _ in range(rounds):
            started = time.perf_counter()
            reply = session.get(f"{url}{path()}", timeout=60)
            samples.append(1000 * (time.perf_counter() - started))
            reply.raise_for_status()
            assert "/login" not in reply.url
        results[name] = {
            "p50_ms": statistics.median(samples),
            "p95_ms": percentile(samples, 0.95),
            "max_ms": max(samples),
        }
    return results


def measure(work: Path, conversations: int = 100_000, rounds: int = 40) -> Dict[str, Any]:
    """Everything the report shows."""
    db_url = f"sqlite:///{work / 'console-bench.db'}"
    figures: Dict[str, Any] = seed(db_url, conversations)
    accounts.set_account("bench", PASSWORD, "staff", db_url=db_url)
    port = free_port()
    server = console_server(local_settings(db_url, STAFF_PORT=str(port)), work / "console.log")
    server.start(60)
    try:
        url = f"http://127.0.0.1:{port}"
        figures["pages"] = time_pages(url, sign_in(url, "bench"), conversations, rounds)
    finally:
        server.stop()
        tables.forget_engines()
    figures["rounds"] = rounds
    return figures


def report_lines(figures: Dict[str, Any]) -> List[str]:
    """The report section (markdown)."""
    lines = [
        f"## Staff console ({figures['conversations']:,} conversations, "
        f"{figures['events']:,} tracker events, {figures['escalations']:,} escalations, SQLite)",
        "",
        f"Generated in {figures['generate_s']:.0f} s; the console's summary index built from "
        f"the events in {figures['index_s']:.0f} s (once; later pages index only new events). "
        f"Each page requested {figures['rounds']} times over HTTP by a signed-in session.",
        "",
        "| page | p50 | p95 | max | target |",
        "|---|---|---|---|---|",
    ]
    for name, page in figures["pages"].items():
        target = ""
        if name in TARGETED:
            met = "met" if page["p95_ms"] < TARGET_P95_MS else "**missed**"
            target = f"p95 < {TARGET_P95_MS:.0f} ms ({met})"
        lines.append(
            f"| {name} | {page['p50_ms']:.0f} ms | {page['p95_ms']:.0f} ms | "
            f"{page['max_ms']:.0f} ms | {target} |"
        )
    return lines


def main() -> None:
    """Command line entry: measure, write bench/report/console.md and console.json."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="console-bench-"))
    figures = measure(work, args.conversations, args.rounds)
    REPORT.mkdir(parents=True, exist_ok=True)
    (REPORT / "console.md").write_text("\n".join(report_lines(figures)) + "\n", "utf-8")
    (REPORT / "console.json").write_text(json.dumps(figures, indent=2) + "\n", "utf-8")
    print("\n".join(report_lines(figures)))


if __name__ == "__main__":
    main()
