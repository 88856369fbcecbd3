"""The audit log only grows: the database itself refuses to change or delete entries."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from clinic_assistant.console import audit, tables


def test_entries_are_appended_and_filtered(db_url: str) -> None:
    audit.record("ana", "login", address="127.0.0.1", db_url=db_url)
    audit.record("ana", "view_transcript", target="conversation:abc", db_url=db_url)
    audit.record("ben", "search", detail='{"q": "swallow"}', db_url=db_url)
    assert [e.action for e in audit.entries(db_url=db_url)] == [
        "search",
        "view_transcript",
        "login",
    ]
    assert [e.action for e in audit.entries(username="ana", action="login", db_url=db_url)] == [
        "login"
    ]
    assert audit.entries(target="conversation:abc", db_url=db_url)[0].username == "ana"


def test_unknown_actions_are_a_programming_error(db_url: str) -> None:
    with pytest.raises(ValueError):
        audit.record("ana", "made_up", db_url=db_url)


def test_the_database_refuses_updates_and_deletes(any_db_url: str) -> None:
    audit.record("ana", "login", db_url=any_db_url)
    engine = tables.get_engine(any_db_url)
    for statement in (
        tables.audit.update().values(username="mallory"),
        tables.audit.delete(),
    ):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with engine.begin() as connection:
                connection.execute(statement)
    assert [e.username for e in audit.entries(db_url=any_db_url)] == ["ana"]
