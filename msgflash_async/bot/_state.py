"""Per-sender conversation state: a named step and a small data dict.

A :class:`StateStorage` keeps one :class:`State` per key (``instance:sender``).
:class:`MemoryStateStorage` is the default and lives as long as the process;
:class:`RedisStateStorage` keeps it in Redis, so a restarted bot, or another
replica behind the same webhook URL, continues a conversation where it
stopped. Handlers see the state of their sender as ``event.state``.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import attrs
from attrs import frozen

from .._repr import tolerant_attrs_reprs, tolerant_repr

__all__ = ["MemoryStateStorage", "RedisStateStorage", "State", "StateContext", "StateStorage"]


def _frozen_data(value: Mapping[str, Any] | None) -> dict[str, Any]:
    # A copy: the caller's dict may change after the state was built.
    return {} if value is None else dict(value)


@frozen
class State:
    """Where a sender is in a conversation: ``step`` (None: nowhere) and ``data``.

    ``data`` must be JSON-compatible when the storage is Redis.
    """

    step: str | None = None
    data: dict[str, Any] = attrs.field(factory=dict, converter=_frozen_data, hash=False)

    def to_json(self) -> str:
        return json.dumps({"step": self.step, "data": self.data}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> State:
        """A state as stored by :meth:`to_json`; anything unreadable is an empty state."""
        try:
            value = json.loads(text)
        except ValueError:
            return cls()
        if not isinstance(value, dict):
            return cls()
        step, data = value.get("step"), value.get("data")
        return cls(
            step if isinstance(step, str) else None, data if isinstance(data, dict) else None
        )


@runtime_checkable
class StateStorage(Protocol):
    """Where the state of each sender is kept."""

    async def load(self, key: str) -> State | None:
        """The state saved under ``key``, or None."""
        ...

    async def save(self, key: str, state: State) -> None:
        """Replace the state under ``key``."""
        ...

    async def delete(self, key: str) -> None:
        """Forget ``key``."""
        ...


class MemoryStateStorage:
    """States in a dict of this process, the least recently saved dropped past ``max_entries``."""

    def __init__(self, *, max_entries: int = 100_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be positive")
        self._max_entries = max_entries
        self._states: OrderedDict[str, State] = OrderedDict()

    def __len__(self) -> int:
        return len(self._states)

    @tolerant_repr
    def __repr__(self) -> str:
        return f"{type(self).__name__}(entries={len(self)}, max_entries={self._max_entries})"

    async def load(self, key: str) -> State | None:
        return self._states.get(key)

    async def save(self, key: str, state: State) -> None:
        self._states[key] = state
        self._states.move_to_end(key)
        while len(self._states) > self._max_entries:
            self._states.popitem(last=False)

    async def delete(self, key: str) -> None:
        self._states.pop(key, None)


class RedisStateStorage:
    """States in Redis (``pip install "msgflash-async[redis]"``), as JSON strings.

    Pass a ``redis.asyncio.Redis`` client (closed by you) or build one with
    :meth:`from_url` (closed by :meth:`aclose`). ``ttl`` seconds (None: no
    expiry) is renewed on every save, so abandoned conversations go away.
    """

    def __init__(
        self, redis: Any, *, prefix: str = "msgflash:bot:state:", ttl: float | None = None
    ) -> None:
        if ttl is not None and ttl <= 0:
            raise ValueError("ttl must be positive (or None for no expiry)")
        self._redis = redis
        self._prefix = prefix
        self._ttl_ms = None if ttl is None else max(1, int(ttl * 1000))
        self._owned = False

    @classmethod
    def from_url(
        cls, url: str, *, prefix: str = "msgflash:bot:state:", ttl: float | None = None
    ) -> RedisStateStorage:
        """A storage on a client of its own; the ``redis`` package is imported only here."""
        try:
            import redis.asyncio as redis_asyncio
        except ImportError:  # pragma: no cover - depends on the environment
            raise ImportError(
                'RedisStateStorage needs the redis extra: pip install "msgflash-async[redis]"'
            ) from None
        storage = cls(redis_asyncio.Redis.from_url(url), prefix=prefix, ttl=ttl)
        storage._owned = True
        return storage

    @tolerant_repr
    def __repr__(self) -> str:
        # The URL may carry a password: never shown.
        return f"{type(self).__name__}(prefix={self._prefix!r}, ttl_ms={self._ttl_ms})"

    async def load(self, key: str) -> State | None:
        value = await self._redis.get(self._prefix + key)
        return None if value is None else State.from_json(value)

    async def save(self, key: str, state: State) -> None:
        await self._redis.set(self._prefix + key, state.to_json(), px=self._ttl_ms)

    async def delete(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)

    async def aclose(self) -> None:
        """Close the client if :meth:`from_url` made it; idempotent."""
        if self._owned:
            self._owned = False
            await self._redis.aclose()


class StateContext:
    """The state of one sender, as a handler sees it (``event.state``)."""

    def __init__(self, storage: StateStorage, key: str) -> None:
        self._storage = storage
        self.key = key
        self._cached: State | None = None

    @tolerant_repr
    def __repr__(self) -> str:
        return f"{type(self).__name__}(key={self.key!r})"

    async def get(self) -> State:
        """The current state (an empty one if none was saved); read once per event."""
        if self._cached is None:
            self._cached = await self._storage.load(self.key) or State()
        return self._cached

    async def step(self) -> str | None:
        """The current step, or None."""
        return (await self.get()).step

    async def set(self, step: str | None, **data: Any) -> State:
        """Move to ``step`` with exactly ``data``."""
        return await self._save(State(step, data))

    async def update(self, **data: Any) -> State:
        """Keep the step, merge ``data`` into the saved data."""
        current = await self.get()
        return await self._save(State(current.step, {**current.data, **data}))

    async def clear(self) -> None:
        """Forget this sender's state: the conversation starts over."""
        await self._storage.delete(self.key)
        self._cached = State()

    def refresh(self) -> None:
        """Read the storage again on the next :meth:`get` (after a conversation waited)."""
        self._cached = None

    async def _save(self, state: State) -> State:
        await self._storage.save(self.key, state)
        self._cached = state
        return state


tolerant_attrs_reprs(globals())
