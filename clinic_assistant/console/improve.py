"""Improve the assistant: staff label the messages it did not understand.

The queue is every patient message whose outcome was ``clarified`` or
``not_understood``, newest first, with the answers the NLU found likeliest. A
staff member picks the right answer (or "not in the sheet"); the picks export as
a Rasa NLU YAML file for the team to review and add to ``data/nlu/`` (nothing is
retrained automatically). "Not in the sheet" exports as ``out_of_scope``, the
intent for questions the sheet does not answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Dict, List, Mapping, Optional, Tuple

import sqlalchemy as sa
import yaml

from clinic_assistant import contract
from clinic_assistant.console import summary, tables
from clinic_assistant.settings import PROJECT_ROOT

QUEUE_OUTCOMES = ("clarified", "not_understood")
PAGE_SIZE = 30
RETRIEVAL_INTENT = "faq"


@lru_cache(maxsize=1)
def answers() -> Tuple[str, ...]:
    """Every curated answer (``faq/<topic>``), from the domain's responses."""
    keys = set()
    for path in sorted((PROJECT_ROOT / "domain").glob("*.yml")):
        domain = yaml.safe_load(path.read_text("utf-8")) or {}
        for name in domain.get("responses") or {}:
            if str(name).startswith(f"utter_{RETRIEVAL_INTENT}/"):
                keys.add(str(name)[len("utter_") :])
    return tuple(sorted(keys))


@dataclass(frozen=True)
class QueueItem:
    """A message to label."""

    event_id: int
    sender_id: str
    at: datetime
    text: str
    outcome: str
    likeliest: List[Tuple[str, Optional[float]]]
    label: Optional[str]


def _likeliest(
    parse_data: Mapping[str, object], limit: int = 3
) -> List[Tuple[str, Optional[float]]]:
    """The answers the NLU ranked highest for this message."""
    found: List[Tuple[str, Optional[float]]] = []
    options = parse_data.get(contract.ANSWER_OPTIONS_KEY) or []
    for option in options if isinstance(options, list) else []:
        if isinstance(option, Mapping):
            key = str(option.get("payload") or "").lstrip("/")
            if key:
                found.append((key, summary._float(option.get("confidence"))))
    selector = parse_data.get("response_selector") or {}
    chosen = selector.get(RETRIEVAL_INTENT) if isinstance(selector, Mapping) else None
    ranking = chosen.get("ranking") if isinstance(chosen, Mapping) else None
    for entry in ranking if isinstance(ranking, list) else []:
        if isinstance(entry, Mapping) and entry.get("intent_response_key"):
            key = str(entry["intent_response_key"])
            if key not in [k for k, _ in found]:
                found.append((key, summary._float(entry.get("confidence"))))
    return found[:limit]


def queue(
    *,
    show_labelled: bool = False,
    before: Optional[int] = None,
    limit: int = PAGE_SIZE,
    db_url: Optional[str] = None,
) -> Tuple[List[QueueItem], Optional[int]]:
    """One page of messages to label, newest first, and the next page's key."""
    m = tables.messages
    lab = tables.labels
    statement = (
        sa.select(m.c.event_id, m.c.sender_id, m.c.at, m.c.outcome, lab.c.answer)
        .select_from(m.outerjoin(lab, lab.c.event_id == m.c.event_id))
        .where(m.c.outcome.in_(QUEUE_OUTCOMES))
    )
    if not show_labelled:
        statement = statement.where(lab.c.answer.is_(None))
    if before is not None:
        statement = statement.where(m.c.event_id < before)
    statement = statement.order_by(m.c.event_id.desc()).limit(limit + 1)
    engine = tables.get_engine(db_url)
    with engine.connect() as connection:
        rows = connection.execute(statement).fetchall()
        page = rows[:limit]
        texts: Dict[int, Mapping[str, object]] = {}
        ids = [int(r.event_id) for r in page]
        if ids:
            for row in connection.execute(
                sa.select(tables.events.c.id, tables.events.c.data).where(
                    tables.events.c.id.in_(ids)
                )
            ):
                texts[int(row.id)] = summary.parse_json(row.data)
    items = []
    for row in page:
        data = texts.get(int(row.event_id), {})
        parse_data = data.get("parse_data") or {}
        items.append(
            QueueItem(
                event_id=int(row.event_id),
                sender_id=row.sender_id,
                at=datetime.fromtimestamp(float(row.at), tz=timezone.utc),
                text=str(data.get("text") or ""),
                outcome=row.outcome,
                likeliest=_likeliest(parse_data if isinstance(parse_data, Mapping) else {}),
                label=row.answer,
            )
        )
    next_key = int(page[-1].event_id) if len(rows) > limit else None
    return items, next_key


def label(event_id: int, answer: str, username: str, *, db_url: Optional[str] = None) -> str:
    """Store (or change) the pick for a message; returns its conversation id."""
    if answer != tables.NOT_IN_SHEET and answer not in answers():
        raise ValueError("not a curated answer")
    m = tables.messages
    engine = tables.get_engine(db_url)
    with engine.begin() as connection:
        sender_id = connection.execute(
            sa.select(m.c.sender_id).where(
                m.c.event_id == event_id, m.c.outcome.in_(QUEUE_OUTCOMES)
            )
        ).scalar()
        if sender_id is None:
            raise LookupError("no such message to label")
        values = {
            "answer": answer,
            "labelled_by": username,
            "labelled_at": datetime.now(timezone.utc),
        }
        changed = connection.execute(
            tables.labels.update().where(tables.labels.c.event_id == event_id).values(**values)
        ).rowcount
        if not changed:
            connection.execute(
                tables.labels.insert().values(
                    event_id=event_id, conversation_id=sender_id, **values
                )
            )
    return str(sender_id)


class _Literal(str):
    """A YAML block scalar (``examples: |``), as Rasa's own files write it."""


def _literal(dumper: yaml.SafeDumper, value: _Literal) -> yaml.nodes.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style="|")


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Literal, _literal)


def export_yaml(*, db_url: Optional[str] = None) -> Tuple[str, int]:
    """Every pick as Rasa NLU training data (YAML), and how many examples it holds."""
    lab = tables.labels
    with tables.get_engine(db_url).connect() as connection:
        rows = connection.execute(
            sa.select(lab.c.answer, tables.events.c.data)
            .select_from(lab.join(tables.events, tables.events.c.id == lab.c.event_id))
            .order_by(lab.c.answer, lab.c.event_id)
        ).fetchall()
    examples: Dict[str, List[str]] = {}
    for row in rows:
        text = " ".join(str(summary.parse_json(row.data).get("text") or "").split())
        if not text or text.startswith("/"):
            continue
        intent = contract.OUT_OF_SCOPE_INTENT if row.answer == tables.NOT_IN_SHEET else row.answer
        bucket = examples.setdefault(intent, [])
        if text not in bucket:
            bucket.append(text)
    nlu = [
        {
            "intent": intent,
            "examples": _Literal("".join(f"- {_one_line(t)}\n" for t in texts)),
        }
        for intent, texts in sorted(examples.items())
    ]
    header = (
        "# Patient messages the assistant did not understand, with the answer staff\n"
        "# picked in the console. Review every line (remove names, numbers and other\n"
        "# personal details) before adding it to data/nlu/.\n"
    )
    body = yaml.dump(
        {"version": "3.1", "nlu": nlu}, Dumper=_Dumper, sort_keys=False, allow_unicode=True
    )
    return header + body, sum(len(t) for t in examples.values())


def _one_line(text: str) -> str:
    """A Rasa example line: one line, no leading dash confusion."""
    return text.replace("\n", " ").strip()
