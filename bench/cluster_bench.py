"""The cluster's figures for ``make bench``: locks under races, 1 vs 2 replicas.

* The lock race of :mod:`evaluation.lock_race` (two processes, one conversation, same
  instant), a thousand rounds, for this project's AtomicRedisLockStore and for Rasa's
  own RedisLockStore.
* Throughput and p95 through HAProxy's front door with 1 and with 2 replicas, 8
  conversations at once, then every conversation's stored turns checked (count,
  order, one reply each).

Writes bench/report/cluster.md. Needs HAProxy, PostgreSQL and Redis (make run-cluster's).
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any, Dict, List

import psycopg2

from bench.server_bench import load
from clinic_assistant.cluster import Cluster
from clinic_assistant.servers import free_port
from clinic_assistant.settings import PROJECT_ROOT, get_settings
from evaluation.lock_race import BENCH_RUNS, STORES, run_race

REPORT = PROJECT_ROOT / "bench" / "report" / "cluster.md"
ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"


def _stored_ok(db_url: str, conversations: int, per_conversation: int) -> str:
    """'ok' if every bench conversation has its turns, each answered once, else why."""
    with psycopg2.connect(db_url) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT sender_id, type_name, data::json->>'name' FROM events "
            "WHERE sender_id LIKE %s ORDER BY id",
            (f"bench-{conversations}-%",),
        )
        rows = cursor.fetchall()
    users: Dict[str, int] = {}
    open_turn: Dict[str, bool] = {}
    problems = 0
    for sender, type_name, name in rows:
        if type_name == "user":
            problems += open_turn.get(sender, False)
            users[sender] = users.get(sender, 0) + 1
            open_turn[sender] = True
        elif type_name == "action" and name == "action_listen":
            open_turn[sender] = False
    problems += sum(open_turn.values())
    wrong_counts = sum(1 for n in users.values() if n != per_conversation)
    if len(users) != conversations or wrong_counts or problems:
        return f"{len(users)} conversations, {wrong_counts} with wrong counts, {problems} bad turns"
    return "ok"


def cluster_load(
    replicas: int, conversations: int = 8, per_conversation: int = 20
) -> Dict[str, Any]:
    """Start a cluster of ``replicas`` on a fresh database and load it."""
    name = f"bench_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(ADMIN_DSN)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    db_url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    try:
        with tempfile.TemporaryDirectory() as folder:
            cluster = Cluster(Path(folder), replicas, free_port(), db_url, get_settings().redis_url)
            cluster.start()
            try:
                load(cluster.port, 2, 3)  # warm-up (other sender ids than the run's)
                figures: Dict[str, Any] = load(cluster.port, conversations, per_conversation)
            finally:
                cluster.stop()
        figures["stored"] = _stored_ok(db_url, conversations, per_conversation)
        return figures
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def main(replica_counts: List[int] | None = None) -> Path:
    """Run both parts and write the report."""
    lines = ["# Cluster", "", "## Lock race (2 processes x 2 handlers, one conversation)", ""]
    lines += [
        "| store | rounds | interleaved | duplicated | missing | out of order | lock errors | s |"
    ]
    lines += ["|---|---|---|---|---|---|---|---|"]
    for kind in STORES:
        rounds, lifetime_s = BENCH_RUNS[kind]
        with tempfile.TemporaryDirectory() as folder:
            r = run_race(
                get_settings().redis_url, Path(folder), rounds, kind, lifetime_s=lifetime_s
            )
        lines.append(
            f"| {kind} | {r.rounds} | {r.interleaved} | {r.duplicated} | {r.missing} | "
            f"{r.out_of_order} | {r.errors} | {r.seconds:.1f} |"
        )
    lines += ["", "## Through HAProxy (8 conversations at once)", ""]
    lines += [
        "| replicas | messages | msgs/s | p50 ms | p95 ms | stored turns |",
        "|---|---|---|---|---|---|",
    ]
    for replicas in replica_counts or [1, 2]:
        f = cluster_load(replicas)
        lines.append(
            f"| {replicas} | {f['n']:.0f} | {f['msgs_per_s']:.1f} | {f['p50_ms']:.0f} | "
            f"{f['p95_ms']:.0f} | {f['stored']} |"
        )
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return REPORT


if __name__ == "__main__":
    main()
