"""Counts for the analytics page and its CSV export: never any message text.

Over a chosen period (whole UTC days): questions by topic, the share of patient
messages not understood per day, escalations per day by level, conversations by
channel. All four come from the summary index and the escalation records.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Dict, List, Optional, Tuple

import sqlalchemy as sa

from clinic_assistant import contract
from clinic_assistant.console import summary, tables
from clinic_assistant.escalations import store

#: Answers that are not questions about the treatment (greetings and the like)
#: are still counted; only these non-answers are left out of "by topic".
NOT_A_TOPIC = frozenset(
    {contract.FALLBACK_INTENT, contract.UNREADABLE_INTENT, *contract.RED_FLAG_INTENTS}
)
TOP_TOPICS = 25


@dataclass(frozen=True)
class Period:
    """Whole UTC days from ``first`` to ``last``, both included."""

    first: date
    last: date

    @property
    def days(self) -> List[date]:
        """Every day of the period."""
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def bounds(self) -> Tuple[float, float]:
        """UNIX seconds: start of the first day, end of the last."""
        start = datetime.combine(self.first, time(), tzinfo=timezone.utc)
        end = datetime.combine(self.last + timedelta(days=1), time(), tzinfo=timezone.utc)
        return start.timestamp(), end.timestamp()


def period_of(first: str, last: str, default_days: int = 30, max_days: int = 366) -> Period:
    """A period from two ISO dates (either may be empty or bad: defaults apply)."""
    today = datetime.now(timezone.utc).date()
    end = _date(last) or today
    start = _date(first) or end - timedelta(days=default_days - 1)
    if start > end:
        start, end = end, start
    if (end - start).days >= max_days:
        start = end - timedelta(days=max_days - 1)
    return Period(start, end)


def _date(text: str) -> Optional[date]:
    try:
        return date.fromisoformat(text.strip()) if text and text.strip() else None
    except ValueError:
        return None


@dataclass
class Report:
    """Everything the analytics page draws."""

    period: Period
    topics: List[Tuple[str, int]]
    not_understood: List[Tuple[str, int, int]]  # day, not understood, all messages
    escalations: List[Tuple[str, Dict[str, int]]]  # day, level -> count
    channels: List[Tuple[str, int]]


def build(period: Period, *, db_url: Optional[str] = None) -> Report:
    """Count everything over ``period``."""
    engine = tables.get_engine(db_url)
    m = tables.messages
    first_day = int(period.bounds()[0] // summary.DAY_S)
    last_day = int(period.bounds()[1] // summary.DAY_S) - 1
    in_period = sa.and_(m.c.day >= first_day, m.c.day <= last_day)
    with engine.connect() as connection:
        topic_rows = connection.execute(
            sa.select(m.c.answer, sa.func.count().label("n"))
            .where(in_period, m.c.outcome == "answered", m.c.answer.is_not(None))
            .group_by(m.c.answer)
            .order_by(sa.desc("n"), m.c.answer)
        ).fetchall()
        day_rows = connection.execute(
            sa.select(m.c.day, m.c.outcome, sa.func.count().label("n"))
            .where(in_period)
            .group_by(m.c.day, m.c.outcome)
        ).fetchall()
        start, end = period.bounds()
        c = tables.conversations
        channel_rows = connection.execute(
            sa.select(c.c.channel, sa.func.count().label("n"))
            .where(c.c.last_at >= start, c.c.first_at < end)
            .group_by(c.c.channel)
            .order_by(sa.desc("n"))
        ).fetchall()
        e = store.escalations
        escalation_rows = connection.execute(
            sa.select(e.c.created_at, e.c.level).where(
                e.c.created_at >= datetime.fromtimestamp(start, timezone.utc),
                e.c.created_at < datetime.fromtimestamp(end, timezone.utc),
            )
        ).fetchall()
    topics = [(str(r.answer), int(r.n)) for r in topic_rows if r.answer not in NOT_A_TOPIC]
    per_day: Dict[int, Dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in day_rows:
        per_day[int(row.day)][str(row.outcome)] += int(row.n)
    not_understood = []
    for day in period.days:
        number = int(datetime.combine(day, time(), tzinfo=timezone.utc).timestamp() // 86400)
        counts = per_day.get(number, {})
        not_understood.append(
            (day.isoformat(), counts.get("not_understood", 0), sum(counts.values()))
        )
    levels: Dict[str, Dict[str, int]] = {
        d.isoformat(): dict.fromkeys(contract.LEVELS, 0) for d in period.days
    }
    for row in escalation_rows:
        key = row.created_at.astimezone(timezone.utc).date().isoformat()
        if key in levels and row.level in contract.LEVELS:
            levels[key][row.level] += 1
    return Report(
        period=period,
        topics=topics[:TOP_TOPICS],
        not_understood=not_understood,
        escalations=sorted(levels.items()),
        channels=[(str(r.channel or "unknown"), int(r.n)) for r in channel_rows],
    )


def chart_data(report: Report) -> Dict[str, object]:
    """The report in the shape console.js hands to Chart.js."""
    return {
        "topics": {
            "labels": [t for t, _ in report.topics],
            "values": [n for _, n in report.topics],
        },
        "not_understood": {
            "labels": [d for d, _, _ in report.not_understood],
            "values": [
                round(100 * bad / total, 1) if total else 0
                for _, bad, total in report.not_understood
            ],
        },
        "escalations": {
            "labels": [d for d, _ in report.escalations],
            "levels": {
                level: [counts[level] for _, counts in report.escalations]
                for level in contract.LEVELS
            },
        },
        "channels": {
            "labels": [c for c, _ in report.channels],
            "values": [n for _, n in report.channels],
        },
    }


def _cell(value: object) -> object:
    """Keep a spreadsheet from reading a cell as a formula."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def to_csv(report: Report) -> str:
    """The counts as CSV: ``metric,day,key,count`` (no message text)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["metric", "day", "key", "count"])
    first, last = report.period.first.isoformat(), report.period.last.isoformat()
    for topic, count in report.topics:
        writer.writerow(["questions_by_topic", f"{first}..{last}", _cell(topic), count])
    for day, bad, total in report.not_understood:
        writer.writerow(["messages", day, "all", total])
        writer.writerow(["messages", day, "not_understood", bad])
    for day, counts in report.escalations:
        for level, count in counts.items():
            writer.writerow(["escalations", day, level, count])
    for channel, count in report.channels:
        writer.writerow(["conversations_by_channel", f"{first}..{last}", _cell(channel), count])
    return out.getvalue()
