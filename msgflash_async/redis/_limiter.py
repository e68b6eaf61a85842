"""A rate budget shared by every process on one API key, kept in Redis.

Each acquisition is one atomic Lua script (see ``_scripts``) on a sliding
log of send times taken from Redis's clock, so N processes hold the API's
10 requests per second together, as one in-process
:class:`~msgflash_async.SlidingWindowLimiter` would. Waiters queue in Redis
by the time they were first refused and are served in that order, so a
busy process cannot starve a quiet one; the waiters of a process that
stopped asking (killed, stalled) drop out after ``STALE`` seconds.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import secrets
from collections.abc import Coroutine
from types import TracebackType
from typing import Any

from .._exceptions import RateLimiterUnavailableError
from .._ratelimit import AdaptiveMargin, Mark, SlidingWindowLimiter
from .._repr import tolerant_repr
from .._secret import Secret, masked
from . import _scripts
from ._connect import connection_errors, from_url, key_space, require_redis

__all__ = ["RedisRateLimiter"]

logger = logging.getLogger("msgflash_async")

#: A waiter not heard from for this long has left the queue (it polls ten times as often).
STALE = 0.5
_MAX_POLL = 0.05
_YIELD_POLL = 0.002
#: While Redis is down, how long the fallback serves before Redis is asked again.
RECHECK = 1.0


def _us(seconds: float) -> int:
    return round(seconds * 1_000_000)


class RedisRateLimiter:
    """At most ``rate`` requests per ``period + margin`` seconds per API key, across processes.

    ``redis`` is a ``redis.asyncio.Redis`` client (or use :meth:`from_url`);
    ``api_key`` only names the budget: it is hashed at once and never stored
    or written to Redis. Every process using the same key and ``prefix``
    shares one budget. Slots are marked when the request actually leaves,
    and ``adaptive`` widens the shared margin after a 429, like the
    in-process limiter.

    When Redis does not answer, :meth:`acquire` raises
    :class:`~msgflash_async.RateLimiterUnavailableError` (nothing is sent),
    unless ``fallback_rate`` is given: then each process holds that rate on
    its own (choose ``10 / number of processes`` or less), with a warning,
    and asks Redis again every second. Never an unlimited send.

    Needs Redis >= 6.2 and the ``redis`` extra.
    """

    def __init__(
        self,
        redis: Any,
        api_key: str | Secret,
        *,
        rate: float = 10,
        period: float = 1.0,
        margin: float = 0.010,
        adaptive: AdaptiveMargin | None = AdaptiveMargin(),  # noqa: B008 (frozen)
        fallback_rate: float | None = None,
        prefix: str = "msgflash",
    ) -> None:
        api_key = masked(api_key)  # first: the errors below show this frame
        require_redis()
        if rate <= 0 or period <= 0 or margin < 0:
            raise ValueError("rate and period must be positive, margin non-negative")
        if fallback_rate is not None and fallback_rate <= 0:
            raise ValueError("fallback_rate must be positive (or None for an error)")
        self._redis = redis
        self._owns_redis = False
        space = key_space(prefix, api_key, "rate")
        self._keys = [f"{space}:log", f"{space}:queue", f"{space}:seen", f"{space}:adapt"]
        self._slots = max(1, int(rate))
        self._window = period * self._slots / rate + margin
        self._adaptive = adaptive
        self._acquire_script = redis.register_script(_scripts.ACQUIRE)
        self._mark_script = redis.register_script(_scripts.MARK)
        self._forget_script = redis.register_script(_scripts.FORGET)
        self._widen_script = redis.register_script(_scripts.WIDEN)
        self._fallback = (
            None
            if fallback_rate is None
            else SlidingWindowLimiter(fallback_rate, period, margin, adaptive=adaptive)
        )
        self._errors = connection_errors()
        self._id = secrets.token_hex(6)
        self._tokens = itertools.count()
        self._lock = asyncio.Lock()
        self._pending: set[asyncio.Task[None]] = set()
        self._down_until = -math.inf
        self._degraded = False

    @classmethod
    def from_url(
        cls,
        url: str,
        api_key: str | Secret,
        *,
        redis_options: dict[str, Any] | None = None,
        **options: Any,
    ) -> RedisRateLimiter:
        """A limiter on its own Redis connection pool, closed by :meth:`aclose`."""
        api_key = masked(api_key)  # first: a refused option shows this frame
        limiter = cls(from_url(url, **(redis_options or {})), api_key, **options)
        limiter._owns_redis = True
        return limiter

    @tolerant_repr
    def __repr__(self) -> str:
        return f"RedisRateLimiter(slots={self._slots}, window={self._window:.3f}s)"

    async def __aenter__(self) -> RedisRateLimiter:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Finish pending marks; close the Redis pool if :meth:`from_url` made it."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        if self._owns_redis:
            self._owns_redis = False
            await self._redis.aclose()

    async def acquire(self) -> Mark:
        # One waiter per process at a time (FIFO): the Redis queue orders processes.
        async with self._lock:
            loop = asyncio.get_running_loop()
            if self._fallback is not None and loop.time() < self._down_until:
                return await self._fallback.acquire()
            token = f"{self._id}:{next(self._tokens)}"
            try:
                await self._take(token)
            except self._errors as exc:
                return await self._unavailable(exc)
            if self._degraded:
                self._degraded = False
                logger.warning("the shared rate limiter in Redis answers again")
        return self._marker(token)

    async def _take(self, token: str) -> None:
        args = [
            self._slots,
            _us(self._window),
            token,
            _us(STALE),
            _us(self._adaptive.relax_step) if self._adaptive else 1,
            _us(self._adaptive.relax_after) if self._adaptive else 1,
            self._ttl_ms(),
        ]
        try:
            while True:
                taken, wait = await self._acquire_script(keys=self._keys, args=args)
                if taken:
                    return
                await asyncio.sleep(min(max(wait / 1e6, _YIELD_POLL), _MAX_POLL))
        except asyncio.CancelledError:
            # Leave the queue now rather than hold the others back for STALE seconds.
            self._spawn(self._forget_script(keys=self._keys[1:3], args=[token]))
            raise

    async def _unavailable(self, exc: BaseException) -> Mark:
        if self._fallback is None:
            raise RateLimiterUnavailableError(
                f"the shared rate limiter in Redis did not answer ({type(exc).__name__}); "
                "nothing was sent"
            ) from exc
        if not self._degraded:
            self._degraded = True
            logger.warning(
                "the shared rate limiter in Redis did not answer (%s); holding the local "
                "%r in this process until it does",
                type(exc).__name__,
                self._fallback,
            )
        self._down_until = asyncio.get_running_loop().time() + RECHECK
        return await self._fallback.acquire()

    def _marker(self, token: str) -> Mark:
        def mark_sent() -> None:
            self._spawn(self._mark_script(keys=self._keys[:1], args=[token]))

        return mark_sent

    def _spawn(self, call: Coroutine[Any, Any, Any]) -> None:
        """Run a Redis call in the background: a mark must not delay its request."""

        async def quietly() -> None:
            try:
                await call
            except self._errors as exc:
                logger.debug("rate limiter bookkeeping failed: %s", type(exc).__name__)

        task = asyncio.get_running_loop().create_task(quietly())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def on_rate_limited(self) -> None:
        """A 429: widen the margin every process uses (once per window)."""
        if self._adaptive is None:
            return
        if self._fallback is not None:
            await self._fallback.on_rate_limited()
        adaptive = self._adaptive
        args = [
            _us(adaptive.step),
            _us(adaptive.relax_after),
            _us(adaptive.ceiling),
            _us(self._window),
            math.ceil((adaptive.ceiling / adaptive.relax_step + 1) * adaptive.relax_after * 1000),
            _us(adaptive.relax_step),
        ]
        try:
            await self._widen_script(keys=self._keys[3:], args=args)
        except self._errors as exc:
            logger.debug("could not widen the shared margin: %s", type(exc).__name__)

    async def extra_margin(self) -> float:
        """Seconds the shared margin is widened by now (recent 429s), from Redis."""
        if self._adaptive is None:
            return 0.0
        raw = await self._redis.hmget(self._keys[3], "extra", "at")
        if raw[0] is None:
            return 0.0
        seconds, micros = await self._redis.time()
        now = seconds + micros / 1e6
        return self._adaptive.extra(int(raw[0]) / 1e6, int(raw[1]) / 1e6, now)

    def _ttl_ms(self) -> int:
        # Long enough to outlive every slot and waiter, short enough to tidy up.
        ceiling = self._adaptive.ceiling if self._adaptive else 0.0
        return math.ceil((2 * (self._window + ceiling) + STALE) * 1000)
