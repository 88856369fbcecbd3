"""How fast the chat feels in the browser: page load to greeting, send to answer.

``measure(base_url, rounds)`` drives Debian's Chromium (Playwright) against a running
demo page (``make run`` serves it on :8080, with Rasa behind it). Each round opens
the page in a fresh browser context (a new patient: no session id), opens the chat
as soon as the widget is there, waits for the greeting, then asks QUESTIONS one
after another. The clock is the page's own (``performance.now()``, zero at the start
of navigation), read by a script installed before the page loads, so Playwright's
own round trips are not in the figures:

* ``load_to_greeting_ms``: navigation start -> first greeting bubble on screen
  (includes loading the page, the widget, the socket.io client, connecting, the
  session handshake and Rasa answering ``/greet``);
* ``open_to_greeting_ms``: launcher click -> first greeting bubble;
* ``send_to_answer_ms``: the patient's Enter -> first answer bubble on screen.

The Rasa server must accept the page's origin (WEB_ALLOWED_ORIGINS).
``python -m bench.browser_bench http://localhost:8080 --rounds 20`` prints the JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
from typing import Any, Dict, List

from playwright.sync_api import Page, sync_playwright

from evaluation.chromium import CHROMIUM_ARGS

#: Typed questions, the same every run (the answers are curated, so equally long).
QUESTIONS = [
    "How long does Botox last?",
    "When does it start working?",
    "What are the side effects?",
]
TIMEOUT_MS = 30_000

# Runs in the page before any of its scripts: records when bot bubbles appear and
# when the chat form is submitted or the launcher clicked, on the page's clock.
PROBE = """
(() => {
  const marks = window.__chatMarks = {open: null, sends: [], bots: []};
  document.addEventListener('click', (e) => {
    if (marks.open === null && e.target.closest && e.target.closest('.cc-launcher')) {
      marks.open = performance.now();
    }
  }, true);
  document.addEventListener('submit', () => marks.sends.push(performance.now()), true);
  new MutationObserver((records) => {
    for (const r of records) {
      for (const n of r.addedNodes) {
        if (n.nodeType === 1 && n.classList.contains('cc-msg--bot')) {
          marks.bots.push(performance.now());
        }
      }
    }
  }).observe(document, {childList: true, subtree: true});
})();
"""


def percentile(samples: List[float], p: float) -> float:
    """The nearest-rank percentile ``p`` of ``samples`` (ms, 0.1 ms precision)."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    index = min(len(ordered), max(1, math.ceil(p / 100 * len(ordered)))) - 1
    return float(round(ordered[index], 1))


def _bots_after(page: Page, moment: float) -> float:
    """Wait for the first bot bubble after ``moment``; its time."""
    handle = page.wait_for_function(
        "t => window.__chatMarks.bots.find(b => b > t) || false", arg=moment, timeout=TIMEOUT_MS
    )
    return float(handle.json_value())


def one_round(page: Page, base_url: str) -> Dict[str, Any]:
    """Load, open, greeting, then each question; times on the page's clock."""
    page.goto(base_url)
    page.locator(".cc-launcher").click()
    # The greeting is complete when the menu's buttons are there.
    page.locator(".cc-replies button").first.wait_for(timeout=TIMEOUT_MS)
    marks = page.evaluate("window.__chatMarks")
    greeting = marks["bots"][0]
    result: Dict[str, Any] = {
        "load_to_greeting": greeting,
        "open_to_greeting": greeting - marks["open"],
        "send_to_answer": [],
    }
    field = page.get_by_label("Your question")
    for question in QUESTIONS:
        field.fill(question)
        field.press("Enter")
        sent = page.evaluate("window.__chatMarks.sends.at(-1)")
        result["send_to_answer"].append(_bots_after(page, sent) - sent)
        # The whole reply (text and its buttons) before the next question.
        page.locator(".cc-replies button").first.wait_for(timeout=TIMEOUT_MS)
    return result


def measure(base_url: str, rounds: int) -> dict:
    """Browser timings over ``rounds`` fresh visits: p50 and p95 of each, in ms.

    Keys: ``load_to_greeting_p50_ms``/``_p95_ms``, ``open_to_greeting_...``,
    ``send_to_answer_...`` (``rounds * len(QUESTIONS)`` answers), plus the counts.
    """
    base_url = base_url.rstrip("/") + "/"
    chromium = shutil.which("chromium")
    if chromium is None:
        raise RuntimeError("Chromium is missing: run `make chromium`.")
    load: List[float] = []
    opened: List[float] = []
    answers: List[float] = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            # One warm-up visit: the first one pays for Python's and Rasa's caches.
            for index in range(rounds + 1):
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                context.add_init_script(PROBE)
                try:
                    result = one_round(context.new_page(), base_url)
                finally:
                    context.close()
                if index == 0:
                    continue
                load.append(result["load_to_greeting"])
                opened.append(result["open_to_greeting"])
                answers.extend(result["send_to_answer"])
        finally:
            browser.close()
    # Flat, so the bench report can print one row per figure.
    figures: Dict[str, Any] = {"rounds": rounds, "answers measured": len(answers)}
    for name, samples in (
        ("load_to_greeting", load),
        ("open_to_greeting", opened),
        ("send_to_answer", answers),
    ):
        figures[f"{name}_p50_ms"] = percentile(samples, 50)
        figures[f"{name}_p95_ms"] = percentile(samples, 95)
    return figures


def main() -> int:
    """Command line: measure and print the figures as JSON."""
    parser = argparse.ArgumentParser(description="Chat widget timings in Chromium")
    parser.add_argument("base_url", nargs="?", default="http://localhost:8080/")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    print(json.dumps(measure(args.base_url, args.rounds), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
