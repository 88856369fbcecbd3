"""Race harness for conversation locks: two processes, one conversation, same instant.

Each round, the two worker processes (two "replicas", each with its own lock-store
client) wait at a barrier, then each starts ``per_process`` handlers for the SAME
conversation at once. A handler holds the lock while it appends ``begin`` and ``end``
lines (with its id and the lock's token) to a shared journal file, sleeping a little
in between. Afterwards the journal must show every handler exactly once, each
``begin`` directly followed by its own ``end`` (no interleaving), tokens strictly
increasing (served in ticket order), and nothing missing. Used by the tests (few
rounds) and ``make bench`` (a thousand), also against Rasa's own RedisLockStore.
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import os
import random
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, List, Optional, Tuple

STORES = ("atomic", "rasa")
#: (rounds, lock lifetime in s) per store for the bench: Rasa's store loses tickets,
#: and a handler whose ticket was lost waits until it gives up, so fewer rounds.
BENCH_RUNS = {"atomic": (1000, 30.0), "rasa": (20, 1.0)}


def _make_store(kind: str, redis_url: str) -> Any:
    if kind == "atomic":
        from clinic_assistant.locks.redis_store import AtomicRedisLockStore

        return AtomicRedisLockStore(url=redis_url)
    from urllib.parse import urlparse

    from rasa.core.lock_store import RedisLockStore

    parsed = urlparse(redis_url)
    return RedisLockStore(host=parsed.hostname or "localhost", port=parsed.port or 6379)


def _journal(path: Path, line: str) -> None:
    # O_APPEND: each short write lands whole at the end, even from two processes.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


async def _handler(
    store: Any, conversation: str, journal: Path, name: str, seed: int, lifetime_s: float
) -> None:
    rng = random.Random(seed)  # noqa: S311 - timing jitter, not security

    async def turn() -> None:
        # Rasa polls every second by default; 10 ms keeps a thousand rounds short.
        async with store.lock(
            conversation, lock_lifetime=lifetime_s, wait_time_in_seconds=0.01
        ) as held:
            token = getattr(held, "token", -1)
            _journal(journal, f"begin {name} {token}")
            await asyncio.sleep(rng.uniform(0, 0.003))
            _journal(journal, f"end {name} {token}")

    try:
        # Rasa's store can wait forever on a lost ticket: give up (an error) instead.
        await asyncio.wait_for(turn(), timeout=3 * lifetime_s + 5)
    except Exception as error:  # noqa: BLE001 - recorded, then judged by the checker
        _journal(journal, f"error {name} {type(error).__name__}")


def _worker(
    kind: str,
    redis_url: str,
    worker: int,
    rounds: int,
    per_process: int,
    journal_dir: str,
    conversation_prefix: str,
    barrier: Any,
    lifetime_s: float,
) -> None:
    async def main() -> None:
        store = _make_store(kind, redis_url)
        for round_no in range(rounds):
            barrier.wait()
            conversation = f"{conversation_prefix}-{round_no}"
            journal = Path(journal_dir) / f"{round_no}.log"
            await asyncio.gather(
                *(
                    _handler(
                        store,
                        conversation,
                        journal,
                        f"w{worker}h{h}",
                        round_no * 97 + h,
                        lifetime_s,
                    )
                    for h in range(per_process)
                )
            )
        if hasattr(store, "close"):
            await store.close()

    asyncio.run(main())


@dataclass
class RaceResult:
    """What the journals showed."""

    store: str
    rounds: int
    handlers: int
    interleaved: int = 0
    duplicated: int = 0
    missing: int = 0
    out_of_order: int = 0
    errors: int = 0
    seconds: float = 0.0
    examples: List[str] = field(default_factory=list)

    @property
    def bad_rounds(self) -> int:
        """Rounds with any violation (errors excluded)."""
        return self.interleaved + self.duplicated + self.missing + self.out_of_order


def check_round(lines: List[str], expected: List[str]) -> Tuple[bool, bool, bool, bool, int]:
    """(interleaved, duplicated, missing, out_of_order, errors) for one round's journal."""
    events = [line.split() for line in lines if line.strip()]
    errors = sum(1 for e in events if e[0] == "error")
    events = [e for e in events if e[0] != "error"]
    begins = [e[1] for e in events if e[0] == "begin"]
    interleaved = any(
        events[i][0] != "begin"
        or i + 1 >= len(events)
        or events[i + 1][:2] != ["end", events[i][1]]
        for i in range(0, len(events), 2)
    )
    duplicated = len(begins) != len(set(begins))
    missing = bool(set(expected) - set(begins))
    tokens = [int(e[2]) for e in events if e[0] == "begin"]
    out_of_order = any(b <= a for a, b in itertools.pairwise(tokens)) and all(
        t >= 0 for t in tokens
    )
    return interleaved, duplicated, missing, out_of_order, errors


def run_race(
    redis_url: str,
    journal_dir: Path,
    rounds: int,
    store: str = "atomic",
    per_process: int = 2,
    processes: int = 2,
    lifetime_s: float = 30.0,
) -> RaceResult:
    """Run the race and check every round's journal.

    ``lifetime_s`` is the lock lifetime (the longest wait): with Rasa's store a lost
    ticket waits that long, so its runs use a short one.
    """
    # fork: the workers need not import Rasa again (seconds on a busy machine).
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(processes)
    prefix = f"race-{uuid.uuid4().hex}"
    started = time.monotonic()
    workers = [
        ctx.Process(
            target=_worker,
            args=(
                store,
                redis_url,
                w,
                rounds,
                per_process,
                str(journal_dir),
                prefix,
                barrier,
                lifetime_s,
            ),
        )
        for w in range(processes)
    ]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=600)
        if process.exitcode != 0:
            raise RuntimeError(f"race worker failed with exit code {process.exitcode}")
    result = RaceResult(store, rounds, processes * per_process)
    result.seconds = time.monotonic() - started
    expected = [f"w{w}h{h}" for w in range(processes) for h in range(per_process)]
    for round_no in range(rounds):
        path = journal_dir / f"{round_no}.log"
        lines = path.read_text().splitlines() if path.exists() else []
        inter, dup, miss, order, errors = check_round(lines, expected)
        result.interleaved += inter
        result.duplicated += dup
        result.missing += miss
        result.out_of_order += order
        result.errors += errors
        if (inter or dup or miss or order) and len(result.examples) < 3:
            result.examples.append(" | ".join(lines))
    return result


def main(argv: Optional[List[str]] = None) -> int:
    """``python -m evaluation.lock_race [rounds]``: both stores, printed."""
    import sys
    import tempfile

    from clinic_assistant.settings import get_settings

    args = argv if argv is not None else sys.argv[1:]
    for kind in STORES:
        rounds, lifetime_s = BENCH_RUNS[kind]
        rounds = int(args[0]) if args else rounds
        with tempfile.TemporaryDirectory() as folder:
            r = run_race(
                get_settings().redis_url, Path(folder), rounds, kind, lifetime_s=lifetime_s
            )
        print(
            f"{kind}: {r.rounds} rounds x {r.handlers} handlers in {r.seconds:.1f} s: "
            f"interleaved {r.interleaved}, duplicated {r.duplicated}, missing {r.missing}, "
            f"out of order {r.out_of_order}, errors {r.errors}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
