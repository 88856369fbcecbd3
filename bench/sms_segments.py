"""What each curated answer costs by SMS: segments under the GSM-7 and UCS-2 rules.

An SMS segment holds 160 GSM-7 characters (153 each when a message takes several,
the rest is the header that joins them; ``^{}[]~|\\€`` count twice), or 70 UCS-2
units (67 each in a longer message). One character outside GSM-7 (the sheet's
en dash, em dash or curly apostrophe) puts the whole message in UCS-2. The channel
sends those as their plain forms (as Twilio's "smart encoding" does), so this
table gives both: the sheet's own characters, and what the channel sends.

Every answer is rendered by the assistant's own NLG for the text channel and by
the channel's own renderer (clinic_assistant/channels/twilio_text.py), with and
without its numbered follow-ups, and as the first message of a conversation (the
one-line disclaimer first). No server, no model: ``python -m bench.sms_segments``
writes ``bench/report/sms_segments.md``; ``make bench`` puts the table in its report.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import List

from clinic_assistant.channels.twilio_text import CHANNEL, is_gsm7, render_turn, segments
from clinic_assistant.settings import PROJECT_ROOT, get_settings

REPORT = PROJECT_ROOT / "bench" / "report" / "sms_segments.md"


@dataclass(frozen=True)
class AnswerCost:
    """One curated answer's cost by SMS."""

    answer: str
    chars: int  #: characters of the answer's text as sent (no follow-up list)
    sheet_alphabet: str  #: "GSM-7" or "UCS-2" for the sheet's own characters
    sheet_segments: int  #: segments of the sheet's text, sent as it is
    sent_segments: int  #: segments of the answer alone, as the channel sends it
    with_list: int  #: segments with the numbered follow-ups (what a patient gets)
    first_message: int  #: the same, as a conversation's first reply (disclaimer first)
    messages: int  #: SMS bodies (Twilio's 1,600-character limit)


def disclaimer() -> str:
    """The first message's disclaimer, as the channel writes it."""
    from clinic_assistant.channels.twilio_channel import DISCLAIMER

    settings = get_settings()
    return DISCLAIMER.format(
        name=settings.twilio.clinic_name or settings.clinic.name,
        emergency=settings.clinic.emergency_number,
    )


def answer_costs() -> List[AnswerCost]:
    """The cost of every ``utter_faq/*`` answer, by name."""
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    from clinic_assistant.nlg import ClinicNLG

    domain = Domain.load(str(PROJECT_ROOT / "domain"))
    nlg = ClinicNLG(domain=domain)
    tracker = DialogueStateTracker.from_events("bench", [])
    first_line = disclaimer()
    loop = asyncio.new_event_loop()
    rows = []
    try:
        for name in sorted(domain.responses):
            if not name.startswith("utter_faq/"):
                continue
            response = loop.run_until_complete(nlg.generate(name, tracker, CHANNEL))
            assert response is not None, name
            text = str(response.get("text") or "")
            full = render_turn([response])
            bare = render_turn([{"text": text}])
            first = render_turn([response], disclaimer=first_line)
            rows.append(
                AnswerCost(
                    answer=name[len("utter_faq/") :],
                    chars=sum(len(body) for body in bare.bodies),
                    sheet_alphabet="GSM-7" if is_gsm7(text) else "UCS-2",
                    sheet_segments=segments(text),
                    sent_segments=sum(segments(body) for body in bare.bodies),
                    with_list=sum(segments(body) for body in full.bodies),
                    first_message=sum(segments(body) for body in first.bodies),
                    messages=len(full.bodies),
                )
            )
    finally:
        loop.close()
    return rows


def table(rows: List[AnswerCost]) -> List[str]:
    """The report's table and its summary lines (markdown)."""
    lines = [
        "| answer | characters | sheet's alphabet | segments as on the sheet | "
        "segments sent | with the numbered list | as a first message | SMS messages |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.answer} | {r.chars} | {r.sheet_alphabet} | {r.sheet_segments} | "
        f"{r.sent_segments} | {r.with_list} | {r.first_message} | {r.messages} |"
        for r in rows
    ]
    n = len(rows)
    ucs2 = sum(r.sheet_alphabet == "UCS-2" for r in rows)
    lines += [
        "",
        f"{n} curated answers. On the sheet's own characters {ucs2} of them would go as "
        f"UCS-2 and cost {sum(r.sheet_segments for r in rows)} segments in all; as sent "
        f"(GSM-7 after smart encoding) {sum(r.sent_segments for r in rows)}. "
        f"Alone, {sum(r.sent_segments <= 2 for r in rows)} of {n} cost 1-2 segments; "
        f"with the numbered follow-ups {sum(r.with_list <= 2 for r in rows)} of {n} do "
        f"(the most: {max(r.with_list for r in rows)}). The disclaimer "
        f"({len(disclaimer())} characters, {segments(disclaimer())} segment(s) alone) is sent "
        "once, in the first reply of a conversation.",
    ]
    return lines


def main() -> None:
    """Write ``bench/report/sms_segments.md`` and print it."""
    lines = ["# SMS segments per curated answer", "", *(__doc__ or "").split("\n\n")[1:2], ""]
    lines += table(answer_costs())
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(lines) + "\n", "utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
