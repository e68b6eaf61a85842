"""Client-side rate limiting behind a one-method interface.

The API allows 10 requests per second per key. A token bucket lets 20 calls
into one second and a strict GCRA loses ~1 % and still trips the server on
jitter; a sliding log of the last ``rate`` send times with a small margin
reaches 9.97 req/s with no over-limit window. A shared backend for several
processes (:class:`msgflash_async.redis.RedisRateLimiter`) implements the
same :class:`RateLimiter`.

The server counts a request when it arrives, not when the client decided to
send it: a request that first opens a connection arrives milliseconds after
one sent on a warm connection. So ``acquire()`` may return a *mark*, a
callable the session calls once the request is on the wire, which moves the
slot to the real send time (measured: without it, the first burst on cold
connections drew 429s from a server enforcing exactly 10 per second).

A limiter may also learn (:class:`RateLimitFeedback`): the session tells it
of every ``429 API_RATE_LIMIT_EXCEEDED``. Network jitter makes requests
arrive closer together than they left, so a fixed margin draws a steady
trickle of 429s over a jittery link (measured: 4-19 per 600 requests with
0-40 ms of random delay per chunk). :class:`AdaptiveMargin` widens the margin
after a 429 and gives it back slowly once the link stays clean.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import attrs

from ._repr import tolerant_repr

__all__ = [
    "AdaptiveMargin",
    "Mark",
    "NoRateLimit",
    "RateLimitFeedback",
    "RateLimiter",
    "SlidingWindowLimiter",
]

Mark = Callable[[], None]
"""Called by the session when the request's headers have been sent."""


@runtime_checkable
class RateLimiter(Protocol):
    """Anything that can make a caller wait for its turn to send one request."""

    async def acquire(self) -> Mark | None:
        """Return when one more request may be sent now, optionally with a mark."""
        ...


@runtime_checkable
class RateLimitFeedback(Protocol):
    """The optional hook of a limiter that learns from the server's refusals."""

    async def on_rate_limited(self) -> None:
        """The server answered ``429 API_RATE_LIMIT_EXCEEDED`` to a request let through."""
        ...


class NoRateLimit:
    """A limiter that never waits (benchmarks, or a server without limits)."""

    async def acquire(self) -> Mark | None:
        return None


@attrs.frozen
class AdaptiveMargin:
    """How a limiter widens its margin after a 429 and relaxes it when clean.

    Each 429 adds ``step`` seconds to the window (one widening per window at
    most: the requests refused together by one jittery second count once),
    up to ``ceiling``. After each ``relax_after`` seconds without a 429,
    ``relax_step`` is given back, until the base margin is reached.

    Widening fast and relaxing slowly is what makes a jittery link settle at
    zero 429s: one 429 buys 40 ms, enough for most links, and a margin given
    back too soon would draw the next 429 (measured through a proxy adding
    0-40 ms per chunk: 20 ms steps relaxed after a minute kept a trickle of
    429s). A clean link returns to 9.9 requests a second within minutes.
    """

    step: float = 0.040
    ceiling: float = 0.160
    relax_step: float = 0.010
    relax_after: float = 60.0

    def __attrs_post_init__(self) -> None:
        if min(self.step, self.relax_step, self.relax_after) <= 0 or self.ceiling < 0:
            raise ValueError("step, relax_step and relax_after must be positive")

    def extra(self, widened: float, at: float, now: float) -> float:
        """The extra margin at ``now``, ``widened`` seconds having been set at ``at``."""
        relaxed = math.floor(max(now - at, 0.0) / self.relax_after) * self.relax_step
        return max(widened - relaxed, 0.0)

    def widen(self, current: float) -> float:
        """The extra margin after one more 429."""
        return min(current + self.step, self.ceiling)


class SlidingWindowLimiter:
    """At most ``rate`` acquisitions in any window of ``period + margin`` seconds.

    The 10 ms default margin absorbs the server's own jitter in when it counts
    a request (measured: 2 ms still drew an occasional 429 from a busy
    server; 10 ms drew none) and still allows 9.9 requests a second. With
    ``adaptive`` (on by default) a 429 widens it for a while, see
    :class:`AdaptiveMargin`; ``adaptive=None`` keeps it fixed.

    Waiters are served first come, first served (the lock is FIFO). A waiter
    cancelled while waiting takes no slot, so cancellation leaks nothing.
    """

    def __init__(
        self,
        rate: float = 10,
        period: float = 1.0,
        margin: float = 0.010,
        *,
        adaptive: AdaptiveMargin | None = AdaptiveMargin(),
    ) -> None:
        if rate <= 0 or period <= 0 or margin < 0:
            raise ValueError("rate and period must be positive, margin non-negative")
        # A fractional rate (2.5/s) is kept exact by scaling the window.
        self._slots = max(1, int(rate))
        self._period = period * self._slots / rate
        self._window = self._period + margin
        self._adaptive = adaptive
        self._widened = 0.0
        self._widened_at = -math.inf
        # One mutable cell per slot, so a mark can move it to the send time.
        self._sent: deque[list[float]] = deque(maxlen=self._slots)
        self._lock = asyncio.Lock()

    @tolerant_repr
    def __repr__(self) -> str:
        return f"SlidingWindowLimiter(slots={self._slots}, window={self._window:.3f}s)"

    def extra_margin(self, now: float | None = None) -> float:
        """Seconds added to the margin by recent 429s (0 when none or relaxed)."""
        if self._adaptive is None or self._widened == 0.0:
            return 0.0
        now = asyncio.get_running_loop().time() if now is None else now
        return self._adaptive.extra(self._widened, self._widened_at, now)

    async def on_rate_limited(self) -> None:
        if self._adaptive is None:
            return
        now = asyncio.get_running_loop().time()
        if now - self._widened_at < self._window:
            return  # the same crowded second: one widening
        self._widened = self._adaptive.widen(self.extra_margin(now))
        self._widened_at = now

    async def acquire(self) -> Mark:
        async with self._lock:
            loop = asyncio.get_running_loop()
            # Loop: the oldest slot may move later (its mark) while we sleep.
            while len(self._sent) == self._slots:
                now = loop.time()
                wait = self._sent[0][0] + self._window + self.extra_margin(now) - now
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
            slot = [loop.time()]
            self._sent.append(slot)

        def mark_sent() -> None:
            slot[0] = max(slot[0], loop.time())

        return mark_sent
