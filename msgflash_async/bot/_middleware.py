"""Ready-made middlewares: logging, per-sender throttling, injected values.

A middleware is ``async def mw(handler, event)`` that calls
``await handler(event)`` (or does not, to drop the event); register it with
``router.middleware(mw)``.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from contextlib import AbstractAsyncContextManager
from typing import Any, Final

from .._repr import tolerant_repr
from ._context import BotEvent
from ._router import Handler

__all__ = ["Throttle", "inject", "inject_context", "log_events"]

logger: Final = logging.getLogger("msgflash_async.bot")


def log_events(
    log: logging.Logger = logger, *, level: int = logging.INFO
) -> Callable[[Handler, BotEvent], Awaitable[object]]:
    """Log each event a handler takes (kind, instance, handler) and how long it ran.

    The message text is not logged: it is the sender's, and may be private.
    """

    async def logging_middleware(handler: Handler, event: BotEvent) -> object:
        started = time.perf_counter()
        try:
            return await handler(event)
        finally:
            log.log(
                level,
                "bot: %s on instance %s handled in %.1f ms",
                event.kind,
                event.instance_id,
                (time.perf_counter() - started) * 1000,
            )

    return logging_middleware


class Throttle:
    """Per sender, at most ``rate`` events every ``per`` seconds reach the handler.

    An event over the budget is dropped (acknowledged, not retried) after
    ``on_throttled(event)``, if given, ran, e.g. to answer "slow down". At most
    ``max_senders`` senders are remembered, the least recently seen dropped first.
    """

    def __init__(
        self,
        rate: int,
        per: float,
        *,
        on_throttled: Callable[[BotEvent], Awaitable[object]] | None = None,
        max_senders: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate < 1 or per <= 0 or max_senders < 1:
            raise ValueError("rate, per and max_senders must be positive")
        self._rate = rate
        self._per = per
        self._on_throttled = on_throttled
        self._max_senders = max_senders
        self._clock = clock
        # sender -> (tokens left, when they were counted): a token bucket each
        self._buckets: OrderedDict[Hashable, tuple[float, float]] = OrderedDict()

    @tolerant_repr
    def __repr__(self) -> str:
        return f"{type(self).__name__}(rate={self._rate}, per={self._per})"

    def allow(self, key: Hashable) -> bool:
        """Take one token of ``key``'s bucket; False when it is empty."""
        now = self._clock()
        tokens, then = self._buckets.pop(key, (float(self._rate), now))
        tokens = min(float(self._rate), tokens + (now - then) * self._rate / self._per)
        allowed = tokens >= 1.0
        self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
        while len(self._buckets) > self._max_senders:
            self._buckets.popitem(last=False)
        return allowed

    async def __call__(self, handler: Handler, event: BotEvent) -> object:
        if event.sender_key is None or self.allow(event.sender_key):
            return await handler(event)
        logger.info("bot: %s from a throttled sender dropped", event.kind)
        if self._on_throttled is not None:
            await self._on_throttled(event)
        return None


def inject(**values: Any) -> Callable[[Handler, BotEvent], Awaitable[object]]:
    """Put ``values`` (a client, a repository, settings) into ``event.data``."""

    async def inject_values(handler: Handler, event: BotEvent) -> object:
        event.data.update(values)
        return await handler(event)

    return inject_values


def inject_context(
    name: str, factory: Callable[[], AbstractAsyncContextManager[Any]]
) -> Callable[[Handler, BotEvent], Awaitable[object]]:
    """Enter ``factory()`` around each handler and put its value in ``event.data[name]``.

    E.g. a database session per event: ``inject_context("db", sessionmaker)``;
    it is closed when the handler ends, whether it returned or raised.
    """

    async def inject_entered(handler: Handler, event: BotEvent) -> object:
        async with factory() as value:
            event.data[name] = value
            return await handler(event)

    return inject_entered
