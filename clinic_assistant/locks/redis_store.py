"""A Redis lock store that is atomic across replicas, on an async client.

Rasa calls only ``async with lock_store.lock(conversation_id)`` around each message
(agent, processor, HTTP API). Its :class:`rasa.core.lock_store.RedisLockStore` does
that by reading the whole ticket lock, changing it in Python and writing it back, with
a blocking client: two replicas can read the same lock at once and both believe they
hold it (rasa #9213). Here every step is one Lua script, so Redis runs it atomically:

* ``issue``: ``INCR`` gives the next ticket (monotonic: it is also the fencing token)
  and puts it in the conversation's queue (a sorted set ordered by ticket), so messages
  are served in the order they arrived, as Rasa's ticket lock does.
* ``acquire``: the first live ticket in the queue takes the lease with
  ``SET holder <ticket> NX PX <lease>``; a ticket whose owner stopped renewing
  (a replica that died) is dropped from the head of the queue.
* ``renew``: while a message is handled the lease is extended every third of its
  length, only if it is still ours (compare-and-set), so a long turn keeps it and a
  dead replica's lock frees itself within one lease.
* ``release``: compare-and-delete: the holder key is removed only if it still holds
  our token, so a late release never frees somebody else's lock.

Redis keys are made from a hash of the conversation id, never the id itself (a text
message's sender id is a phone number). If Redis cannot be reached, ``lock()`` raises
:class:`rasa.core.lock_store.LockError` and the message is not handled: never two
replies at once (the channel then gives the patient a kind reply, see
:mod:`clinic_assistant.locks.unavailable`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections import deque
from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator, Optional

import redis.asyncio as aioredis
from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore
from redis.exceptions import RedisError

from clinic_assistant.settings import get_settings

logger = logging.getLogger(__name__)

#: Longest pause between two tries for a busy lock (Rasa's own store waits 1 s).
POLL_S = 0.05
#: Redis must answer within this; when it is down the patient is told at once.
REDIS_TIMEOUT_S = 2.0

#: Redis server time in milliseconds (one clock for every replica).
_NOW = "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000) "

#: KEYS: seq, queue, deadlines. ARGV: lease_ms, ttl_ms. Returns the new ticket.
ISSUE = (
    _NOW
    + """
local ticket = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], 86400000)
redis.call('ZADD', KEYS[2], ticket, ticket)
redis.call('HSET', KEYS[3], ticket, now + tonumber(ARGV[1]))
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('PEXPIRE', KEYS[3], ARGV[2])
return ticket
"""
)

#: KEYS: queue, deadlines, holder. ARGV: ticket, lease_ms, ttl_ms.
#: Returns 1 (the lease is ours), 0 (wait), -1 (our ticket is gone: expired).
ACQUIRE = (
    _NOW
    + """
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return -1 end
redis.call('HSET', KEYS[2], ARGV[1], now + tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
while true do
  local head = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
  if head == ARGV[1] then break end
  local deadline = tonumber(redis.call('HGET', KEYS[2], head) or '0')
  if deadline >= now then return 0 end
  redis.call('ZREM', KEYS[1], head)
  redis.call('HDEL', KEYS[2], head)
end
if redis.call('SET', KEYS[3], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[3]) == ARGV[1] then return 1 end
return 0
"""
)

#: KEYS: queue, deadlines, holder. ARGV: ticket, lease_ms. Returns 1 if still ours.
RENEW = (
    _NOW
    + """
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[3], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], now + tonumber(ARGV[2]))
return 1
"""
)

#: KEYS: queue, deadlines, holder. ARGV: ticket. Returns 1 if the lease was ours.
RELEASE = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
if redis.call('GET', KEYS[3]) == ARGV[1] then
  redis.call('DEL', KEYS[3])
  return 1
end
return 0
"""


class Lease(TicketLock):
    """The lock as held: a Rasa ``TicketLock`` with our one ticket; ``token`` fences."""

    def __init__(self, conversation_id: str, token: int, expires: float) -> None:
        super().__init__(conversation_id, deque([Ticket(token, expires)]))
        self.token = token


class AtomicRedisLockStore(LockStore):
    """Per-conversation FIFO locks in Redis, atomic across replicas (see module doc).

    In endpoints.yml::

        lock_store:
          type: clinic_assistant.locks.redis_store.AtomicRedisLockStore
          url: ${REDIS_URL}
    """

    def __init__(
        self,
        endpoint_config: Any = None,
        url: Optional[str] = None,
        lease_s: Optional[float] = None,
        poll_s: Optional[float] = None,
        key_prefix: str = "clinic:lock:",
    ) -> None:
        """Connect lazily to ``url`` (default: the endpoint's url, else ``REDIS_URL``)."""
        settings = get_settings()
        url = url or getattr(endpoint_config, "url", None) or settings.redis_url
        self.lease_ms = int(1000 * (lease_s or settings.lock_lease_s))
        self.poll_s = poll_s or POLL_S
        self.key_prefix = key_prefix
        # Short timeouts: with Redis gone the patient is told at once, not in a minute.
        self.redis = aioredis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT_S,
            socket_connect_timeout=REDIS_TIMEOUT_S,
        )
        self._issue = self.redis.register_script(ISSUE)
        self._acquire = self.redis.register_script(ACQUIRE)
        self._renew = self.redis.register_script(RENEW)
        self._release = self.redis.register_script(RELEASE)
        super().__init__()

    def _keys(self, conversation_id: str) -> tuple[str, str, str, str]:
        # A hash, not the id: sender ids can be phone numbers. The {braces} keep one
        # conversation's keys in one slot should this ever run on Redis Cluster.
        digest = hashlib.sha256(conversation_id.encode("utf-8")).hexdigest()[:32]
        base = f"{self.key_prefix}{{{digest}}}"
        return f"{base}:seq", f"{base}:queue", f"{base}:deadlines", f"{base}:holder"

    async def issue_ticket_async(self, conversation_id: str, lifetime_s: float) -> int:
        """Queue a new ticket for ``conversation_id`` and return its number."""
        seq, queue, deadlines, _ = self._keys(conversation_id)
        ttl_ms = int(1000 * lifetime_s) + self.lease_ms
        return int(await self._issue(keys=[seq, queue, deadlines], args=[self.lease_ms, ttl_ms]))

    async def acquire_async(
        self, conversation_id: str, ticket: int, lifetime_s: float, wait_s: float = 1.0
    ) -> Lease:
        """Wait (at most ``lifetime_s``) until ``ticket`` holds the lease."""
        _, queue, deadlines, holder = self._keys(conversation_id)
        ttl_ms = int(1000 * lifetime_s) + self.lease_ms
        give_up = time.monotonic() + lifetime_s
        delay = self.poll_s / 8
        while True:
            state = int(
                await self._acquire(
                    keys=[queue, deadlines, holder], args=[ticket, self.lease_ms, ttl_ms]
                )
            )
            if state == 1:
                return Lease(conversation_id, ticket, time.time() + self.lease_ms / 1000)
            if state == -1 or time.monotonic() > give_up:
                raise LockError("Could not acquire the conversation's lock in time.")
            await asyncio.sleep(min(delay, wait_s))
            delay = min(delay * 2, self.poll_s)

    async def renew_async(self, conversation_id: str, ticket: int) -> bool:
        """Extend our lease; False if it is no longer ours."""
        _, queue, deadlines, holder = self._keys(conversation_id)
        return bool(
            await self._renew(keys=[queue, deadlines, holder], args=[ticket, self.lease_ms])
        )

    async def finish_serving_async(self, conversation_id: str, ticket: int) -> bool:
        """Drop ``ticket`` and free the lease if it is still ours."""
        _, queue, deadlines, holder = self._keys(conversation_id)
        return bool(await self._release(keys=[queue, deadlines, holder], args=[ticket]))

    async def _keep_renewing(self, conversation_id: str, ticket: int, done: asyncio.Event) -> None:
        """Renews the lease every third of it until ``done`` is set (or it is lost)."""
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(done.wait(), timeout=self.lease_ms / 3000)
                return
            try:
                still_ours = await self.renew_async(conversation_id, ticket)
            except (RedisError, OSError):
                still_ours = False
            if not still_ours:
                # Rasa cannot stop a turn half-way; say so (no conversation id: it may
                # be a phone number). The fencing token lets a store refuse late writes.
                logger.warning("A conversation lock's lease was lost while in use.")
                return

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = 1,
    ) -> AsyncGenerator[TicketLock, None]:
        """Hold ``conversation_id``'s lock; raise ``LockError`` if it cannot be had.

        ``lock_lifetime`` bounds the wait; ``wait_time_in_seconds`` (Rasa's polling
        interval, 1 s by default) only caps ours, which is much shorter.
        """
        try:
            ticket = await self.issue_ticket_async(conversation_id, lock_lifetime)
        except (RedisError, OSError) as error:
            raise LockError("The lock store cannot be reached.") from error
        renewer: Optional[asyncio.Task[None]] = None
        try:
            try:
                lease = await self.acquire_async(
                    conversation_id, ticket, lock_lifetime, wait_time_in_seconds
                )
            except (RedisError, OSError) as error:
                raise LockError("The lock store cannot be reached.") from error
            done = asyncio.Event()
            renewer = asyncio.create_task(self._keep_renewing(conversation_id, ticket, done))
            yield lease
        finally:
            if renewer is not None:
                # Stopped by the event, not by cancelling it: redis-py can swallow a
                # cancellation that lands inside a command, and the renewer then went
                # on renewing forever while this waited for it (a unit test hung so,
                # holding its conversation's lock). The wait is bounded all the same.
                done.set()
                finished, _ = await asyncio.wait({renewer}, timeout=REDIS_TIMEOUT_S + 1)
                if not finished:
                    renewer.cancel()
            try:
                await self.finish_serving_async(conversation_id, ticket)
            except (RedisError, OSError):
                # The lease then runs out by itself within one lease time.
                logger.warning("Could not release a conversation lock; it will expire.")

    # Rasa's read-modify-write methods are what #9213 is about; nothing in Rasa calls
    # them directly (only ``lock()``), so they are refused rather than half-supported.
    def get_lock(self, conversation_id: str) -> Optional[TicketLock]:
        """Not supported: use :meth:`lock`."""
        raise NotImplementedError("AtomicRedisLockStore supports only lock()")

    def save_lock(self, lock: TicketLock) -> None:
        """Not supported: use :meth:`lock`."""
        raise NotImplementedError("AtomicRedisLockStore supports only lock()")

    def delete_lock(self, conversation_id: str) -> None:
        """Not supported: use :meth:`lock`."""
        raise NotImplementedError("AtomicRedisLockStore supports only lock()")

    async def close(self) -> None:
        """Close the connection pool."""
        await self.redis.close()
