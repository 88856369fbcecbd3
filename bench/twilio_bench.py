"""Text messaging figures: webhook acknowledgement and webhook-to-reply time, SMS segments.

Runs a Rasa server with the Twilio channel pointed at the local fake Twilio
(tests/fake_twilio.py), which signs and posts inbound messages as Twilio does and
receives the replies. Two figures per load (1 and 8 concurrent conversations, each
conversation sending its next message when the reply to the last one arrived):

* acknowledgement: from the webhook POST to its empty TwiML answer;
* reply: from the webhook POST to the reply reaching the fake's REST API.

Also the cost, in SMS segments, of every curated answer as the channel sends it
(with its numbered follow-ups). ``python -m bench.twilio_bench`` runs it alone.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Tuple

from bench.server_bench import percentile
from bench.sms_segments import AnswerCost, answer_costs, table
from clinic_assistant.servers import DEFAULT_MODEL, action_server, local_settings
from clinic_assistant.settings import PROJECT_ROOT, Settings
from evaluation.scoring import load_nlu_examples
from tests.fake_twilio import FakeTwilio, twilio_rasa_server


def _conversation(fake: FakeTwilio, patient: str, texts: List[str]) -> List[Tuple[float, float]]:
    """Send ``texts`` one after the other; (ack seconds, reply seconds) for each."""
    results = []
    for count, text in enumerate(texts, start=1):
        started = time.monotonic()
        status, _, ack = fake.sms(patient, text)
        if status != 200:
            raise RuntimeError(f"webhook answered {status}")
        reply = fake.wait_for(patient, count, timeout_s=60)[count - 1]
        results.append((ack, reply.received_at - started))
    return results


def load(fake: FakeTwilio, conversations: int, per_conversation: int, tag: str) -> Dict[str, float]:
    """p50 / p95 of both figures with ``conversations`` patients at once."""
    texts = [text for text, _ in load_nlu_examples()]
    # A text that is a bare number or keyword would be answered by the channel alone.
    texts = [t for t in texts if len(t.split()) > 1]

    def run(index: int) -> List[Tuple[float, float]]:
        patient = f"+1555030{conversations:02d}{index:02d}"
        # Each conversation says several things, not its first message only.
        mine = [texts[(index * 37 + i) % len(texts)] for i in range(per_conversation)]
        return _conversation(fake, f"{patient}{tag}", mine)

    with ThreadPoolExecutor(conversations) as pool:
        pairs = [p for batch in pool.map(run, range(conversations)) for p in batch]
    acks = [1000 * a for a, _ in pairs]
    replies = [1000 * r for _, r in pairs]
    return {
        "ack_p50_ms": statistics.median(acks),
        "ack_p95_ms": percentile(acks, 95),
        "reply_p50_ms": statistics.median(replies),
        "reply_p95_ms": percentile(replies, 95),
        "n": float(len(pairs)),
    }


def measure(work: Path, settings: Settings) -> Dict[str, Any]:
    """Start a Twilio-enabled Rasa server next to the running action server of
    ``settings`` (same database) and measure."""
    fake = FakeTwilio().start()
    rasa = twilio_rasa_server(fake, settings, work / "rasa-twilio.log")
    try:
        rasa.start()
        load(fake, 2, 3, "9")  # warm-up
        return {
            "one": load(fake, 1, 60, "1"),
            "eight": load(fake, 8, 15, "8"),
            "segments": [asdict(cost) for cost in answer_costs()],
        }
    finally:
        rasa.stop()
        fake.stop()


def report_lines(f: Dict[str, Any]) -> List[str]:
    """The report's section on text messages."""
    one, eight = f["one"], f["eight"]
    lines = [
        "",
        "## Text messages (Twilio channel, local fake Twilio, SQLite)",
        "",
        "Acknowledgement: webhook POST to its empty TwiML answer. Reply: webhook POST to "
        "the reply reaching the fake's Messages API. Each conversation sends its next "
        "message after the reply to the last one.",
        "",
        "| load | messages | ack p50 / p95 | reply p50 / p95 |",
        "|---|---|---|---|",
    ]
    for name, r in (("1 conversation", one), ("8 concurrent conversations", eight)):
        lines.append(
            f"| {name} | {r['n']:.0f} | {r['ack_p50_ms']:.0f} / "
            f"{r['ack_p95_ms']:.0f} ms | {r['reply_p50_ms']:.0f} / "
            f"{r['reply_p95_ms']:.0f} ms |"
        )
    lines += [
        "",
        "SMS cost of each curated answer (bench/sms_segments.py: GSM-7 160 / 153 characters "
        "per segment, UCS-2 70 / 67):",
        "",
        *table([AnswerCost(**cost) for cost in f["segments"]]),
    ]
    return lines


def commit() -> str:
    """The checked-out commit (short), or "unknown" outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def main() -> None:
    """Run alone: an action server, the Twilio-enabled Rasa server, the figures."""
    work = Path(tempfile.mkdtemp(prefix="bench-twilio-"))
    settings = local_settings(f"sqlite:///{work / 'bench.db'}")
    load_before = os.getloadavg()[0]
    actions = action_server(settings, work / "actions.log").start()
    try:
        figures = measure(work, settings)
    finally:
        actions.stop()
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    # The machine's load says how far the latencies can be trusted.
    header = [
        "# Text messages: benchmark",
        "",
        f"`python -m bench.twilio_bench` (the code `make bench` runs) on {when}, "
        f"{os.cpu_count()} CPUs, load average {load_before:.1f} before and "
        f"{os.getloadavg()[0]:.1f} after; code at {commit()}, model {DEFAULT_MODEL.name} "
        f"of {datetime.fromtimestamp(DEFAULT_MODEL.stat().st_mtime, timezone.utc):%Y-%m-%d %H:%M}.",
    ]
    report = PROJECT_ROOT / "bench" / "report" / "twilio.md"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text("\n".join(header + report_lines(figures)) + "\n", "utf-8")
    print("\n".join(header + report_lines(figures)))


if __name__ == "__main__":
    main()
