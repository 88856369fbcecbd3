"""The summary index, the conversation list and the transcript, from tracker events."""

from __future__ import annotations

from typing import Any, Dict, List

import sqlalchemy as sa

from clinic_assistant import contract
from clinic_assistant.console import conversations, summary, tables
from evaluation import tracker_events as ev

T0 = 1_780_000_000.0  # 2026-05-28


def _first_conversation(sender: str = "web-1", t: float = T0) -> List[Dict[str, Any]]:
    return [
        ev.action(sender, t, "action_session_start"),
        ev.bot(sender, t + 1, "Hello!", [("How do I prepare?", "/faq/prepare")]),
        ev.user(
            sender, t + 10, "/faq/prepare", "faq", 1.0, answer="faq/prepare", channel="socketio"
        ),
        ev.bot(sender, t + 11, "Preparing: ...", [("When does it start working?", "/faq/onset")]),
        ev.user(
            sender,
            t + 20,
            "the buzz thing?",
            contract.FALLBACK_INTENT,
            0.41,
            options=["faq/emg", "faq/visit"],
            ranking=[("faq/emg", 0.41), ("faq/visit", 0.39)],
            channel="socketio",
        ),
        ev.action(sender, t + 21, contract.CLARIFY_RESPONSE),
        ev.bot(sender, t + 21, "Did you mean", [("EMG", "/faq/emg"), ("Visit", "/faq/visit")]),
        ev.user(sender, t + 30, "no, the other", contract.FALLBACK_INTENT, 0.3, channel="socketio"),
        ev.action(sender, t + 31, summary.GAVE_UP_ACTION),
        ev.bot(sender, t + 31, "Call the clinic"),
        ev.user(
            sender,
            t + 40,
            "My husband can barely SWALLOW",
            "red_flag_emergency",
            1.0,
            channel="socketio",
        ),
        ev.bot(
            sender,
            t + 41,
            "Call 911 now",
            custom=ev.escalation_payload("emergency", ["difficulty_swallowing"]),
        ),
        ev.slot(sender, t + 42, contract.ESCALATION_REF_SLOT, "17"),
    ]


def _conversation_row(db_url: str, sender: str) -> Any:
    with tables.get_engine(db_url).connect() as connection:
        return connection.execute(
            sa.select(tables.conversations).where(tables.conversations.c.sender_id == sender)
        ).one()


def test_outcomes_come_from_what_the_assistant_made_of_each_message(any_db_url: str) -> None:
    ev.insert(tables.get_engine(any_db_url), _first_conversation())
    assert summary.refresh(any_db_url) > 0
    row = _conversation_row(any_db_url, "web-1")
    assert (row.turns, row.answered, row.clarified, row.not_understood, row.escalated) == (
        4,
        1,
        1,
        1,
        1,
    )
    assert row.level == "emergency" and row.channel == "socketio"
    assert "barely swallow" in row.search_text  # lowercased for the search
    # Nothing new: a second refresh reads nothing and changes nothing.
    assert summary.refresh(any_db_url) == 0
    assert _conversation_row(any_db_url, "web-1").turns == 4


def test_the_index_grows_with_new_events_and_a_later_second_miss(db_url: str) -> None:
    engine = tables.get_engine(db_url)
    rows = _first_conversation()
    ev.insert(engine, rows[:8])  # up to the second, still unanswered, miss
    summary.refresh(db_url)
    assert _conversation_row(db_url, "web-1").clarified == 2
    ev.insert(engine, rows[8:])
    summary.refresh(db_url)
    row = _conversation_row(db_url, "web-1")
    assert (row.clarified, row.not_understood, row.turns) == (1, 1, 4)


def test_list_filters_search_and_pages(db_url: str) -> None:
    engine = tables.get_engine(db_url)
    rows: List[Dict[str, Any]] = _first_conversation("web-1", T0)
    for n in range(5):
        rows.append(
            ev.user(
                f"sms-{n}",
                T0 + 1000 + n,
                f"how long does it last {n}",
                "faq",
                answer="faq/duration",
                channel="twilio",
            )
        )
    rows.append(
        ev.user(
            "rest-x", T0 + 5 * 86400, "how much does it cost 100% _", contract.OUT_OF_SCOPE_INTENT
        )
    )
    ev.insert(engine, rows)
    summary.refresh(db_url)

    def ids(filters: conversations.Filters, **kw: Any) -> List[str]:
        found, _ = conversations.list_conversations(filters, db_url=db_url, **kw)
        return [r.sender_id for r in found]

    assert ids(conversations.Filters())[0] == "rest-x"  # newest first
    assert ids(conversations.Filters(channel="twilio")) == [f"sms-{n}" for n in range(4, -1, -1)]
    assert ids(conversations.Filters(outcome="escalated")) == ["web-1"]
    assert ids(conversations.Filters(outcome="out_of_scope")) == ["rest-x"]
    assert ids(conversations.Filters(query="SWALLOW")) == ["web-1"]
    # LIKE wildcards in the query are plain characters.
    assert ids(conversations.Filters(query="100% _")) == ["rest-x"]
    assert ids(conversations.Filters(query="%")) == ["rest-x"]
    assert ids(conversations.Filters(since=T0 + 2 * 86400)) == ["rest-x"]
    assert "rest-x" not in ids(conversations.Filters(until=T0 + 86400))
    page, key = conversations.list_conversations(conversations.Filters(), limit=3, db_url=db_url)
    rest, end = conversations.list_conversations(
        conversations.Filters(), after=key, limit=10, db_url=db_url
    )
    assert key is not None and end is None
    assert [r.sender_id for r in page + rest] == ids(conversations.Filters())
    assert len({r.sender_id for r in page + rest}) == 7


def test_transcript_shows_understanding_buttons_clicks_and_escalations(db_url: str) -> None:
    ev.insert(tables.get_engine(db_url), _first_conversation())
    summary.refresh(db_url)
    found = conversations.transcript("web-1", db_url=db_url)
    assert found is not None and found.channel == "socketio"
    assert found.opening[0].text == "Hello!"
    first, clarify, second_miss, emergency = found.turns
    assert first.clicked == "How do I prepare?" and first.answer == "faq/prepare"
    assert clarify.outcome == "clarified" and clarify.options == ["/faq/emg", "/faq/visit"]
    assert [b["title"] for b in clarify.replies[0].buttons] == ["EMG", "Visit"]
    assert second_miss.outcome == "not_understood"
    assert emergency.outcome == "escalated" and emergency.escalation_ref == "17"
    assert emergency.replies[0].escalation == contract.RedFlag(
        "emergency", ("difficulty_swallowing",)
    )
    assert conversations.transcript("nobody", db_url=db_url) is None
