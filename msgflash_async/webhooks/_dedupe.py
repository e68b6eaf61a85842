"""De-duplication of webhook deliveries, which arrive at least once.

A receiver *claims* the key of an event before handing it to user code and
*releases* it when that code fails, so the sender's retry is processed while
a plain duplicate is acknowledged and dropped. Any store with these two
coroutines fits, e.g. Redis ``SET key 1 NX EX ttl`` and ``DEL key``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from .._repr import tolerant_repr
from ..models.webhooks import InstanceEvent, MessageEvent, WebhookEvent

__all__ = ["DedupeStore", "MemoryDedupeStore", "dedupe_key"]


@runtime_checkable
class DedupeStore(Protocol):
    """Where the keys of events already handled are remembered."""

    async def claim(self, key: str) -> bool:
        """Record ``key``; False if it was already there (a duplicate). Must be atomic."""
        ...

    async def release(self, key: str) -> None:
        """Forget ``key``, so the next delivery of that event is handled again."""
        ...


def _payload_digest(event: WebhookEvent) -> str:
    canonical = json.dumps(event.raw, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def dedupe_key(event: WebhookEvent) -> str:
    """The identity of an event across redeliveries.

    Message events: event name + message id (the provider id if there is none).
    Instance events repeat legitimately (connect, disconnect, connect again),
    so their key adds the timestamp. Anything without such ids falls back to
    a digest of the payload, which a redelivery repeats exactly.
    """
    name = event.event.value
    if isinstance(event, MessageEvent):
        if event.message_id:
            return f"{name}:{event.message_id}"
        if event.provider_message_id:
            return f"{name}:provider:{event.provider_message_id}"
    if isinstance(event, InstanceEvent) and event.instance_id and event.timestamp:
        return f"{name}:{event.instance_id}:{event.timestamp.isoformat()}"
    return f"{name}:payload:{_payload_digest(event)}"


class MemoryDedupeStore:
    """An in-process store bounded in size and time.

    Keys expire after ``ttl`` seconds, and the oldest keys are dropped once
    there are ``max_entries``; both only bound memory, since a duplicate that
    arrives later than that is handled again.
    """

    def __init__(
        self,
        *,
        max_entries: int = 10_000,
        ttl: float = 24 * 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1 or ttl <= 0:
            raise ValueError("max_entries and ttl must be positive")
        self._max_entries = max_entries
        self._ttl = ttl
        self._clock = clock
        self._expiry: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._expiry)

    @tolerant_repr
    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(entries={len(self)}, "
            f"max_entries={self._max_entries}, ttl={self._ttl})"
        )

    async def claim(self, key: str) -> bool:
        # No await inside: check-and-set is atomic within the event loop.
        now = self._clock()
        self._evict_expired(now)
        if key in self._expiry:
            return False
        self._expiry[key] = now + self._ttl
        while len(self._expiry) > self._max_entries:
            self._expiry.popitem(last=False)
        return True

    async def release(self, key: str) -> None:
        self._expiry.pop(key, None)

    def _evict_expired(self, now: float) -> None:
        # Insertion order is expiry order (constant ttl), so stop at the first live key.
        while self._expiry:
            key, expiry = next(iter(self._expiry.items()))
            if expiry > now:
                break
            del self._expiry[key]
