"""One Rasa server replica, lean and fast: memory, throughput and per-turn cost.

``python -m bench.lean_server [--root TREE] [--json OUT]`` starts TREE's action server
and Rasa server (default: this tree; give a checkout of main to measure "before"),
each with the command and environment TREE's own ``clinic_assistant.servers`` gives
them, on a throwaway SQLite database, and measures:

* memory (VmRSS, and its anonymous part) at ready, after 8 concurrent
  conversations, and after the worst-case inputs of ``bench/worst_case.py``;
* throughput and p50/p95 at 8 concurrent conversations (8 x 40 messages);
* the cost of a turn late in a conversation: one conversation of 200 turns of
  ordinary questions, the median of turns 1-10 against the median of turns 191-200
  (the same ten questions in both windows).

``bench/run.py`` calls :func:`measure`; ``--report`` writes bench/report/lean_server.md
with this tree's figures and, with ``--before TREE``, the other tree's beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional

HERE = Path(__file__).resolve().parent.parent
REPORT = HERE / "bench" / "report" / "lean_server.md"
TARGETS = {"rss_ready_mb": 800, "msgs_per_s": 60, "p95_8_ms": 100, "turn_ratio": 1.5}
TURN_TEXTS = [
    "how long does botox last?",
    "when does it start working?",
    "what happens at the visit?",
    "can I work after?",
    "is it normal to be sore?",
    "do I need to stop my blood thinner?",
    "what are the side effects?",
    "how should I prepare?",
    "will it hurt?",
    "what tests are involved?",
]

_COMMANDS = """
import json, sys
from pathlib import Path
from clinic_assistant.servers import action_server, local_settings, rasa_server
settings = local_settings(sys.argv[1])
log = Path(sys.argv[2])
print(json.dumps({name: {"command": s.command, "env": s.env, "ready": s.ready_url}
      for name, s in (("actions", action_server(settings, log / "actions.log")),
                      ("rasa", rasa_server(settings, log / "rasa.log")))}))
"""


def _commands(root: Path, db_url: str, logs: Path) -> Dict[str, Any]:
    """The servers' commands, environments and ready URLs, as ``root``'s code gives them."""
    out = subprocess.run(
        [str(root / ".venv" / "bin" / "python"), "-c", _COMMANDS, db_url, str(logs)],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


class _Process:
    def __init__(self, root: Path, spec: Dict[str, Any], log: Path) -> None:
        self.root, self.spec, self.log = root, spec, log
        self.process: Optional[subprocess.Popen[bytes]] = None
        self.ready_s = 0.0

    def start(self, timeout_s: float = 300) -> None:
        started = time.monotonic()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.spec["command"],
                cwd=self.root,
                env={**os.environ, **self.spec["env"], "PYTHONPATH": str(self.root)},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        while time.monotonic() - started < timeout_s:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.spec['command'][:3]} exited; see {self.log}")
            try:
                with urllib.request.urlopen(self.spec["ready"], timeout=2):
                    self.ready_s = time.monotonic() - started
                    return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.25)
        raise TimeoutError(f"not ready: {self.spec['ready']}")

    def memory(self) -> Dict[str, float]:
        """VmRSS and RssAnon of the process, in MB."""
        assert self.process is not None
        found: Dict[str, float] = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            name = line.split(":")[0]
            if name in ("VmRSS", "RssAnon"):
                found[name] = int(line.split()[1]) / 1024
        return {"rss_mb": found["VmRSS"], "anon_mb": found["RssAnon"]}

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(30)


def measure(root: Path = HERE, turns: int = 200) -> Dict[str, Any]:
    """Start ``root``'s servers and measure them; returns the figures."""
    from bench.server_bench import load, say
    from bench.worst_case import worst_cases

    work = Path(tempfile.mkdtemp(prefix="lean-server-"))
    specs = _commands(root, f"sqlite:///{work / 'bench.db'}", work)
    port = int(specs["rasa"]["ready"].split(":")[2].split("/")[0])
    actions = _Process(root, specs["actions"], work / "actions.log")
    rasa = _Process(root, specs["rasa"], work / "rasa.log")
    figures: Dict[str, Any] = {"root": str(root)}
    actions.start()
    try:
        rasa.start()
        figures["ready_s"] = rasa.ready_s
        figures["ready"] = rasa.memory()
        load(port, 2, 5)  # warm-up
        figures["warm"] = rasa.memory()
        figures["eight"] = load(port, 8, 40)
        figures["after_eight"] = rasa.memory()
        latencies: List[float] = []
        for i in range(turns):
            latencies.append(1000 * say(port, "long-conversation", TURN_TEXTS[i % 10]))
        figures["turn_first_ms"] = statistics.median(latencies[:10])
        figures["turn_last_ms"] = statistics.median(latencies[-10:])
        figures["turn_ratio"] = figures["turn_last_ms"] / figures["turn_first_ms"]
        for i, text in enumerate(worst_cases().values()):
            for repeat in range(2):
                try:
                    say(port, f"worst-{i}-{repeat}", text)
                except (urllib.error.URLError, OSError):
                    pass  # a refused body is an answer too; the memory is what counts
        figures["after_worst"] = rasa.memory()
        figures["eight_after_worst"] = load(port, 8, 40)
        figures["end"] = rasa.memory()
    finally:
        rasa.stop()
        actions.stop()
    return figures


def _rows(after: Dict[str, Any], before: Optional[Dict[str, Any]]) -> List[str]:
    def mem(f: Dict[str, Any], key: str) -> str:
        return f"{f[key]['rss_mb']:.0f} MB ({f[key]['anon_mb']:.0f} anon)"

    def cells(f: Dict[str, Any]) -> List[str]:
        e = f["eight"]
        return [
            mem(f, "ready"),
            mem(f, "after_eight"),
            mem(f, "after_worst"),
            mem(f, "end"),
            f"{e['msgs_per_s']:.1f}",
            f"{e['p50_ms']:.0f} / {e['p95_ms']:.0f} ms",
            f"{f['turn_first_ms']:.0f} / {f['turn_last_ms']:.0f} ms ({f['turn_ratio']:.2f}x)",
            f"{f['ready_s']:.1f} s",
        ]

    names = [
        "RSS at ready",
        "RSS after 8 x 40 messages",
        "RSS after the worst-case inputs",
        "RSS after 8 x 40 more",
        "messages/s, 8 concurrent",
        "p50 / p95, 8 concurrent",
        "turn 1-10 / 191-200 (median)",
        "time to ready",
    ]
    targets = ["<= 800 MB", "", "flat", "flat", ">= 60", "p95 <= 100 ms", "<= 1.5x", ""]
    ours = cells(after)
    theirs = cells(before) if before else [""] * len(ours)
    return [
        f"| {n} | {b} | {a} | {t} |"
        for n, b, a, t in zip(names, theirs, ours, targets, strict=True)
    ]


def report(after: Dict[str, Any], before: Optional[Dict[str, Any]], command: str) -> str:
    """bench/report/lean_server.md."""
    lines = [
        "# One Rasa server replica: memory, throughput, per-turn cost",
        "",
        f"Written by `{command}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        "on this project's 2-core machine (shared with other work while it ran). REST "
        "channel, SQLite tracker store, action server up; anonymous memory (RssAnon) "
        "is the part that is not shared with another replica on the same machine.",
        "",
        "| figure | before | after | target |",
        "|---|---|---|---|",
        *_rows(after, before),
        "",
    ]
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=HERE)
    parser.add_argument("--before", type=Path, help="also measure this tree, as 'before'")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--report", action="store_true", help=f"write {REPORT}")
    args = parser.parse_args(argv)
    before = measure(args.before.resolve()) if args.before else None
    after = measure(args.root.resolve())
    figures = {"before": before, "after": after}
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), "utf-8")
    if args.report:
        command = "python -m bench.lean_server" + " ".join([""] + (sys.argv[1:] or []))
        REPORT.write_text(report(after, before, command), "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
