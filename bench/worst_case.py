"""Worst-case inputs against a running Rasa server: time and memory per message,
and what an ordinary patient waits meanwhile.

``python -m bench.worst_case [--root TREE]`` starts the Rasa server and the action
server of TREE (default: this tree; give another checkout to measure it "before")
on free ports with a throwaway database, sends each worst-case input over REST and
records the reply's status and time and the server's resident memory after it;
then one client sends those inputs in a loop while another sends ordinary
questions, and the ordinary questions' p50/p95 are recorded. ``bench/run.py``
calls :func:`measure` for the report.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

HERE = Path(__file__).resolve().parent.parent
ORDINARY = [
    "how long does botox last?",
    "when does it start working?",
    "what happens at the visit?",
    "can I work after?",
    "is it normal to be sore?",
]


def worst_cases() -> Dict[str, str]:
    """The inputs of issue 9: a long "word", 2,000 characters, 100 KB and 1 MB bodies."""
    words = "please tell me more about the injections and my neck "
    return {
        "longest word (2,000 letters)": "my neck " + "q" * 2000,
        "2,000 characters of words": (words * 40)[:2000],
        "100 KB body": (words * 2000)[:100_000],
        "1 MB body": (words * 20_000)[:1_000_000],
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _post(port: int, sender: str, text: str, timeout: float = 120) -> Tuple[int, float]:
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/webhooks/rest/webhook",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            reply.read()
            status = reply.status
    except urllib.error.HTTPError as error:
        status = error.code
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        status = 0
    return status, time.perf_counter() - started


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class _Server:
    def __init__(
        self, root: Path, command: List[str], env: Dict[str, str], log: Path, ready_url: str
    ) -> None:
        self.root, self.command, self.env, self.log, self.ready_url = (
            root,
            command,
            env,
            log,
            ready_url,
        )
        self.process: Optional[subprocess.Popen[bytes]] = None

    def start(self, timeout_s: float = 300) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=self.root,
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                umask=0o077,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.command[1:3]} exited; see {self.log}")
            try:
                with urllib.request.urlopen(self.ready_url, timeout=2):
                    return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.5)
        raise TimeoutError(f"not ready: {self.ready_url}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


def measure(
    root: Path = HERE,
    venv: Path = HERE / ".venv",
    repeats: int = 2,
    ordinary_n: int = 40,
    probes: bool = False,
) -> Dict[str, Any]:
    """Start ``root``'s servers (with ``venv``'s Rasa) and measure; returns the figures."""
    work = Path(tempfile.mkdtemp(prefix="worst-case-"))
    db_url = f"sqlite:///{work / 'bench.db'}"
    rasa_port, action_port = _free_port(), _free_port()
    env = {
        "ASSISTANT_DB_URL": db_url,
        "TRACKER_DIALECT": "sqlite",
        "ACTION_SERVER_URL": f"http://127.0.0.1:{action_port}/webhook",
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    rasa_bin = str(venv / "bin" / "rasa")
    actions = _Server(
        root,
        [rasa_bin, "run", "actions", "--actions", "actions", "--port", str(action_port)],
        env,
        work / "actions.log",
        f"http://127.0.0.1:{action_port}/health",
    )
    rasa = _Server(
        root,
        [
            rasa_bin,
            "run",
            "--model",
            str(root / "models" / "clinic.tar.gz"),
            "--endpoints",
            "endpoints.yml",
            "--credentials",
            "credentials.yml",
            "--port",
            str(rasa_port),
            "--interface",
            "127.0.0.1",
        ],
        env,
        work / "rasa.log",
        f"http://127.0.0.1:{rasa_port}/webhooks/rest/",
    )
    figures: Dict[str, Any] = {"root": str(root), "inputs": {}}
    actions.start()
    try:
        rasa.start()
        assert rasa.process is not None
        pid = rasa.process.pid
        for text in ORDINARY:  # warm-up
            _post(rasa_port, "warm", text)
        if probes:
            from bench.probes import run as run_probes

            figures["probes"] = run_probes(
                rasa_port, work / "bench.db", [work / "rasa.log", work / "actions.log"]
            )
        figures["rss_start_mb"] = _rss_mb(pid)
        for name, text in worst_cases().items():
            runs = []
            for i in range(repeats):
                status, seconds = _post(rasa_port, f"worst-{i}", text)
                runs.append({"status": status, "s": seconds, "rss_mb": _rss_mb(pid)})
            figures["inputs"][name] = {
                "chars": len(text),
                "status": runs[-1]["status"],
                "s": max(r["s"] for r in runs),
                "rss_mb": max(r["rss_mb"] for r in runs),
            }
        figures["rss_after_mb"] = _rss_mb(pid)
        figures.update(_ordinary_under_attack(rasa_port, ordinary_n))
        figures["rss_end_mb"] = _rss_mb(pid)
    finally:
        rasa.stop()
        actions.stop()
    return figures


def _ordinary_under_attack(port: int, n: int) -> Dict[str, Any]:
    """p50/p95 of ``n`` ordinary questions, alone and while one client sends worst cases."""
    alone = [_post(port, "alone", ORDINARY[i % len(ORDINARY)])[1] for i in range(n)]
    stop = threading.Event()
    attacks: List[float] = []

    def attacker() -> None:
        cases = list(worst_cases().values())
        i = 0
        while not stop.is_set():
            attacks.append(_post(port, f"attacker-{i % 3}", cases[i % len(cases)])[1])
            i += 1

    thread = threading.Thread(target=attacker, daemon=True)
    thread.start()
    time.sleep(0.5)
    loaded = [_post(port, "patient", ORDINARY[i % len(ORDINARY)])[1] for i in range(n)]
    stop.set()
    thread.join(180)

    def p95(values: List[float]) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]

    return {
        "ordinary_alone_p50_ms": 1000 * statistics.median(alone),
        "ordinary_alone_p95_ms": 1000 * p95(alone),
        "ordinary_attacked_p50_ms": 1000 * statistics.median(loaded),
        "ordinary_attacked_p95_ms": 1000 * p95(loaded),
        "attack_messages": len(attacks),
    }


def table(figures: Dict[str, Any]) -> List[str]:
    """The report's rows for one run."""
    lines = [
        "| input | characters | status | time (worst of runs) | server RSS after |",
        "|---|---|---|---|---|",
    ]
    for name, row in figures["inputs"].items():
        lines.append(
            f"| {name} | {row['chars']:,} | {row['status']} | {row['s']:.2f} s | "
            f"{row['rss_mb']:.0f} MB |"
        )
    lines += [
        "",
        f"Server RSS: {figures['rss_start_mb']:.0f} MB after warm-up, "
        f"{figures['rss_after_mb']:.0f} MB after the inputs, {figures['rss_end_mb']:.0f} MB at "
        f"the end. An ordinary question p50/p95: {figures['ordinary_alone_p50_ms']:.0f} / "
        f"{figures['ordinary_alone_p95_ms']:.0f} ms alone, "
        f"{figures['ordinary_attacked_p50_ms']:.0f} / {figures['ordinary_attacked_p95_ms']:.0f} ms "
        f"while one client sends the inputs above ({figures['attack_messages']} of them).",
    ]
    return lines


def main() -> None:
    """Command line: measure a tree and print the table and the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=HERE)
    parser.add_argument("--venv", type=Path, default=HERE / ".venv")
    parser.add_argument("--model", type=Path, help="copy this model into ROOT/models first")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--probes", action="store_true", help="also run bench/probes.py")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--ordinary", type=int, default=40)
    args = parser.parse_args()
    if args.model:
        (args.root / "models").mkdir(exist_ok=True)
        shutil.copyfile(args.model, args.root / "models" / "clinic.tar.gz")
    figures = measure(
        args.root.resolve(), args.venv.resolve(), args.repeats, args.ordinary, args.probes
    )
    print("\n".join(table(figures)))
    for name, outcome in figures.get("probes", {}).items():
        print(f"| {name} | {outcome} |")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), "utf-8")


if __name__ == "__main__":
    main()
