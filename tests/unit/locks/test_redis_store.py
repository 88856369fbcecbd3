"""AtomicRedisLockStore against the machine's real Redis (127.0.0.1:6379)."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import AsyncIterator, List

import pytest
import redis.asyncio as aioredis
from rasa.core.lock_store import LockError

from clinic_assistant.locks.redis_store import AtomicRedisLockStore
from clinic_assistant.servers import free_port
from clinic_assistant.settings import get_settings
from evaluation.lock_race import check_round, run_race

REDIS_URL = get_settings().redis_url


@pytest.fixture
async def store() -> AsyncIterator[AtomicRedisLockStore]:
    """A store with a short lease, so expiry tests are quick."""
    lock_store = AtomicRedisLockStore(url=REDIS_URL, lease_s=0.3)
    yield lock_store
    await lock_store.close()


def conversation() -> str:
    """A fresh conversation id per test (the Redis server is shared)."""
    return f"test-{uuid.uuid4().hex}"


async def test_messages_of_one_conversation_are_served_one_at_a_time_in_order(
    store: AtomicRedisLockStore,
) -> None:
    cid = conversation()
    log: List[str] = []
    # Tickets in arrival order a..e; the waiters then start in the opposite order.
    tickets = {name: await store.issue_ticket_async(cid, 30) for name in "abcde"}

    async def handle(name: str) -> None:
        await store.acquire_async(cid, tickets[name], 30)
        log.append(f"begin {name}")
        await asyncio.sleep(0.01)
        log.append(f"end {name}")
        assert await store.finish_serving_async(cid, tickets[name])

    await asyncio.gather(*(handle(name) for name in "edcba"))
    assert log == [f"{step} {n}" for n in "abcde" for step in ("begin", "end")]


async def test_concurrent_turns_never_overlap(store: AtomicRedisLockStore) -> None:
    cid = conversation()
    inside = 0
    most = 0

    async def handle() -> None:
        nonlocal inside, most
        async with store.lock(cid):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.005)
            inside -= 1

    await asyncio.gather(*(handle() for _ in range(10)))
    assert most == 1


async def test_other_conversations_do_not_wait(store: AtomicRedisLockStore) -> None:
    busy, free = conversation(), conversation()
    async with store.lock(busy):
        started = time.monotonic()
        async with store.lock(free):
            pass
        assert time.monotonic() - started < 0.2


async def test_a_dead_holders_lock_frees_itself_within_a_lease(
    store: AtomicRedisLockStore,
) -> None:
    cid = conversation()
    # A replica that took the lock and died: no renewal, no release.
    ticket = await store.issue_ticket_async(cid, 30)
    await store.acquire_async(cid, ticket, 30)
    started = time.monotonic()
    async with store.lock(cid) as held:
        waited = time.monotonic() - started
        assert held.token > ticket  # fencing: a later holder has a larger token
    assert 0.2 < waited < 2.0


async def test_a_late_release_does_not_free_the_next_holders_lock(
    store: AtomicRedisLockStore,
) -> None:
    cid = conversation()
    stale = await store.issue_ticket_async(cid, 30)
    await store.acquire_async(cid, stale, 30)
    await asyncio.sleep(0.4)  # its lease runs out
    fresh = await store.issue_ticket_async(cid, 30)
    await store.acquire_async(cid, fresh, 30)
    assert await store.finish_serving_async(cid, stale) is False
    # The fresh holder still holds it (renewed, as lock() does): nobody else gets in.
    assert await store.renew_async(cid, fresh) is True
    third = await store.issue_ticket_async(cid, 30)
    with pytest.raises(LockError):
        await store.acquire_async(cid, third, lifetime_s=0)  # one try
    assert await store.finish_serving_async(cid, fresh) is True


async def test_a_long_turn_keeps_its_lease(store: AtomicRedisLockStore) -> None:
    cid = conversation()
    order: List[str] = []

    async def slow() -> None:
        async with store.lock(cid):
            await asyncio.sleep(1.0)  # three leases: renewal must keep it
            order.append("slow done")

    async def second() -> None:
        await asyncio.sleep(0.05)
        async with store.lock(cid):
            order.append("second")

    await asyncio.gather(slow(), second())
    assert order == ["slow done", "second"]


async def test_waiting_longer_than_the_lifetime_raises(store: AtomicRedisLockStore) -> None:
    cid = conversation()
    async with store.lock(cid):
        with pytest.raises(LockError):
            async with store.lock(cid, lock_lifetime=0.3):
                pytest.fail("got a lock that is held")


async def test_redis_down_raises_lock_error_quickly_and_never_runs_the_turn() -> None:
    down = AtomicRedisLockStore(url=f"redis://127.0.0.1:{free_port()}/0")
    started = time.monotonic()
    with pytest.raises(LockError):
        async with down.lock(conversation()):
            pytest.fail("handled a message without a lock")
    assert time.monotonic() - started < 3
    await down.close()


async def test_redis_keys_never_contain_the_conversation_id(store: AtomicRedisLockStore) -> None:
    phone = f"+1555{uuid.uuid4().int % 10**7:07d}"
    client = aioredis.from_url(REDIS_URL)
    async with store.lock(phone):
        keys = [key.decode() async for key in client.scan_iter(match="clinic:lock:*")]
    await client.close()
    assert keys
    assert not any(phone in key or phone[1:] in key for key in keys)


async def test_nothing_is_left_in_redis_after_a_turn_but_the_token_counter(
    store: AtomicRedisLockStore,
) -> None:
    cid = conversation()
    async with store.lock(cid):
        pass
    _, queue, deadlines, holder = store._keys(cid)
    client = aioredis.from_url(REDIS_URL)
    assert await client.exists(queue, deadlines, holder) == 0
    await client.close()


@pytest.mark.integration  # two processes and ~15 s: not in `make unit`
def test_two_processes_same_conversation_same_instant_never_interleave(
    tmp_path: Path,
) -> None:
    # The bench runs a thousand rounds (and Rasa's RedisLockStore beside it).
    result = run_race(REDIS_URL, tmp_path, rounds=60)
    assert result.errors == 0
    assert (result.interleaved, result.duplicated, result.missing, result.out_of_order) == (
        0,
        0,
        0,
        0,
    ), result.examples


@pytest.mark.parametrize(
    ("lines", "flags"),
    [
        (["begin a 1", "end a 1", "begin b 2", "end b 2"], (False, False, False, False)),
        (["begin a 1", "begin b 2", "end a 1", "end b 2"], (True, False, False, False)),
        (["begin a 1", "end a 1", "begin a 2", "end a 2"], (False, True, True, False)),
        (["begin a 1", "end a 1"], (False, False, True, False)),
        (["begin b 2", "end b 2", "begin a 1", "end a 1"], (False, False, False, True)),
    ],
)
def test_the_race_checker_sees_each_kind_of_violation(
    lines: List[str], flags: tuple[bool, bool, bool, bool]
) -> None:
    assert check_round(lines, ["a", "b"])[:4] == flags


async def test_leaving_the_lock_never_waits_on_a_renewal_that_swallows_its_cancellation(
    store: AtomicRedisLockStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """redis-py can swallow a cancellation inside a command; the turn must still end."""
    original = store.renew_async

    async def stubborn_renew(conversation_id: str, ticket: int) -> bool:
        try:
            await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            pass  # what redis-py may do mid-command
        return await original(conversation_id, ticket)

    monkeypatch.setattr(store, "renew_async", stubborn_renew)
    cid = conversation()

    async def two_turns() -> None:
        async with store.lock(cid):
            await asyncio.sleep(0.3)  # renewals under way
        # Released: the next message gets the lock at once.
        async with store.lock(cid, lock_lifetime=0.5):
            pass

    # Not wait_for: with the bug, cancelling the turn was swallowed as well.
    task = asyncio.ensure_future(two_turns())
    finished, _ = await asyncio.wait({task}, timeout=10)
    assert finished, "leaving the lock waited on a renewer that never stopped"
    task.result()
    holder = await store.redis.get(store._keys(cid)[3])
    assert holder is None
