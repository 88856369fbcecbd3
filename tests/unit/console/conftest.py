"""Fixtures for the staff console's tests: a database of the test's own, with
Rasa's ``events`` table, on SQLite and (when it answers) the local PostgreSQL."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher, Type

from clinic_assistant.console import accounts, tables
from evaluation import tracker_events as console_data

PG_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1, type=Type.ID)


def postgres_reachable() -> bool:
    """True when the machine's PostgreSQL accepts connections."""
    engine = sa.create_engine(PG_SERVER, connect_args={"connect_timeout": 2})
    try:
        with engine.connect():
            return True
    except sa.exc.OperationalError:
        return False
    finally:
        engine.dispose()


def _sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'assistant.db'}"


def _postgres_schema() -> Iterator[str]:
    if not postgres_reachable():
        pytest.skip(f"PostgreSQL at {PG_SERVER} is unreachable")
    schema = f"console_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_SERVER, future=True)
    with admin.begin() as connection:
        connection.execute(sa.schema.CreateSchema(schema))
    try:
        yield f"{PG_SERVER}?options=-csearch_path%3D{schema}"
    finally:
        tables.forget_engines()
        with admin.begin() as connection:
            connection.execute(sa.schema.DropSchema(schema, cascade=True))
        admin.dispose()


@pytest.fixture(autouse=True)
def fast_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id with small costs: the real profile takes seconds on a busy CI machine.

    test_accounts.py checks the production parameters on their own.
    """
    monkeypatch.setattr(accounts, "_hasher", FAST_HASHER)


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    """A fresh SQLite database with an (empty) events table."""
    url = _sqlite(tmp_path)
    console_data.create_events_table(tables.get_engine(url))
    yield url
    tables.forget_engines()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same, on SQLite and on PostgreSQL (a schema of its own, dropped after)."""
    if request.param == "sqlite":
        url = _sqlite(tmp_path)
        console_data.create_events_table(tables.get_engine(url))
        yield url
        tables.forget_engines()
        return
    for url in _postgres_schema():
        console_data.create_events_table(tables.get_engine(url))
        yield url
