"""Webhook receivers behind a load balancer: one de-dup store, one status record.

MsgFlash delivers each event at least once and in no particular order; with
several receiver replicas, a retry may land on another replica than the
first delivery. :class:`RedisDedupeStore` makes the claim of an event
atomic across replicas (``SET NX EX``), and :class:`RedisStatusTracker`
keeps one forward-only status per message (a ``WATCH``/``MULTI``
compare-and-set using the same rule as the in-process tracker), so every
replica answers the same.

``wait_for`` works from any replica: a change is published on one Redis
channel per namespace, which each tracker that has waiters listens to; a
waiter also re-reads the status every ``poll`` seconds, so a message lost
while Redis was unreachable delays a wait, never hangs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import anyio

from .._repr import tolerant_repr
from ..models.webhooks import MessageStatus, WebhookEvent
from ..webhooks._tracker import event_status, status_advances, status_reached
from ._connect import connection_errors, require_redis

__all__ = ["RedisDedupeStore", "RedisStatusTracker"]

logger = logging.getLogger("msgflash_async.webhooks")


class RedisDedupeStore:
    """A :class:`~msgflash_async.webhooks.DedupeStore` shared by every replica.

    Keys expire after ``ttl`` seconds (a redelivery later than that is
    handled again). ``namespace`` separates receivers sharing one Redis.
    """

    def __init__(
        self,
        redis: Any,
        *,
        ttl: float = 24 * 3600.0,
        prefix: str = "msgflash",
        namespace: str = "default",
    ) -> None:
        require_redis()
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        self._redis = redis
        self._ttl_ms = max(1, round(ttl * 1000))
        self._prefix = f"{prefix}:webhooks:{namespace}:seen:"

    @tolerant_repr
    def __repr__(self) -> str:
        return f"RedisDedupeStore(prefix={self._prefix!r}, ttl={self._ttl_ms / 1000:g}s)"

    async def claim(self, key: str) -> bool:
        return bool(await self._redis.set(self._prefix + key, b"1", nx=True, px=self._ttl_ms))

    async def release(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)


class RedisStatusTracker:
    """The latest status of each message, shared by every replica through Redis.

    The asynchronous twin of :class:`~msgflash_async.webhooks.StatusTracker`:
    the same forward-only rule, every method a coroutine. Statuses expire
    ``ttl`` seconds after their last change. Call :meth:`aclose` (or use
    ``async with``) to stop listening for changes.
    """

    def __init__(
        self,
        redis: Any,
        *,
        ttl: float = 7 * 24 * 3600.0,
        poll: float = 1.0,
        prefix: str = "msgflash",
        namespace: str = "default",
    ) -> None:
        require_redis()
        if ttl <= 0 or poll <= 0:
            raise ValueError("ttl and poll must be positive")
        self._redis = redis
        self._ttl_ms = max(1, round(ttl * 1000))
        self._poll = poll
        self._keys = f"{prefix}:webhooks:{namespace}:status:"
        self._channel = f"{prefix}:webhooks:{namespace}:status"
        self._errors = connection_errors()
        self._waiters: dict[str, list[asyncio.Event]] = {}
        self._listener: asyncio.Task[None] | None = None

    @tolerant_repr
    def __repr__(self) -> str:
        return f"RedisStatusTracker(channel={self._channel!r}, waiting={len(self._waiters)})"

    async def __aenter__(self) -> RedisStatusTracker:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop listening for changes (waits in progress fall back to polling)."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, *self._errors):
                await listener

    async def apply(self, event: WebhookEvent) -> bool:
        """Feed one event; True if it changed the status of its message."""
        reported = event_status(event)
        return False if reported is None else await self.record(*reported)

    async def record(self, message_id: str, status: MessageStatus | str) -> bool:
        """Move a message to ``status`` if that is forward; tell every replica."""
        new = MessageStatus(status)
        key = self._keys + message_id
        async with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    if not status_advances(_status(await pipe.get(key)), new):
                        return False
                    pipe.multi()
                    pipe.set(key, new.value, px=self._ttl_ms)
                    pipe.publish(self._channel, message_id)
                    await pipe.execute()
                    return True
                except _watch_error():
                    continue  # another replica moved it meanwhile: decide again

    async def status_of(self, message_id: str) -> MessageStatus | None:
        """The latest status of a message, or None if none was recorded (or it expired)."""
        return _status(await self._redis.get(self._keys + message_id))

    async def forget(self, message_id: str) -> None:
        """Drop what is known of a message, on every replica."""
        await self._redis.delete(self._keys + message_id)

    async def wait_for(
        self,
        message_id: str,
        status: MessageStatus | str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (mirrors StatusTracker.wait_for)
    ) -> MessageStatus:
        """Wait until a message reaches ``status`` or a later one, on whichever replica.

        Returns the status reached; a terminal status ends the wait even if it
        is not the one asked for. Raises :class:`TimeoutError` after ``timeout``.
        """
        target = MessageStatus(status)
        with anyio.fail_after(timeout):
            await self._listen()
            while True:
                waiter = asyncio.Event()  # before the read: a change after it wakes us
                waiters = self._waiters.setdefault(message_id, [])
                waiters.append(waiter)
                try:
                    current = await self.status_of(message_id)
                    if current is not None and status_reached(current, target):
                        return current
                    with anyio.move_on_after(self._poll):
                        await waiter.wait()
                finally:
                    waiters.remove(waiter)
                    if not waiters and self._waiters.get(message_id) is waiters:
                        del self._waiters[message_id]

    async def _listen(self) -> None:
        """Start the channel listener if it is not running; return once subscribed."""
        if self._listener is not None and not self._listener.done():
            return
        subscribed = asyncio.Event()
        self._listener = asyncio.get_running_loop().create_task(self._run_listener(subscribed))
        with anyio.move_on_after(self._poll):  # Redis down: polling still answers
            await subscribed.wait()

    async def _run_listener(self, subscribed: asyncio.Event) -> None:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self._channel)
            subscribed.set()
            while True:
                message = await pubsub.get_message(timeout=self._poll)
                if message is not None:
                    self._wake(message["data"])
        except self._errors as exc:
            logger.warning("status change listener stopped: %s", type(exc).__name__)
        finally:
            with anyio.CancelScope(shield=True), contextlib.suppress(*self._errors):
                await pubsub.aclose()

    def _wake(self, data: bytes | str) -> None:
        message_id = data.decode() if isinstance(data, bytes) else data
        for waiter in self._waiters.get(message_id, []):
            waiter.set()


def _status(raw: bytes | str | None) -> MessageStatus | None:
    if raw is None:
        return None
    return MessageStatus(raw.decode() if isinstance(raw, bytes) else raw)


def _watch_error() -> type[BaseException]:
    from redis.exceptions import WatchError

    return WatchError
