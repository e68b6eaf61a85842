"""Client-side rate limiting behind a one-method interface.

The API allows 10 requests per second per key. A token bucket lets 20 calls
into one second and a strict GCRA loses ~1 % and still trips the server on
jitter (see PERFORMANCE.md); a sliding log of the last ``rate`` send times
with a small margin reaches 9.97 req/s with no over-limit window. A shared
backend for several processes implements the same :class:`RateLimiter`.

The server counts a request when it arrives, not when the client decided to
send it: a request that first opens a connection arrives milliseconds after
one sent on a warm connection. So ``acquire()`` may return a *mark*, a
callable the session calls once the request is on the wire, which moves the
slot to the real send time (measured: without it, the first burst on cold
connections drew 429s from a server enforcing exactly 10 per second).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Protocol, runtime_checkable

__all__ = ["Mark", "NoRateLimit", "RateLimiter", "SlidingWindowLimiter"]

Mark = Callable[[], None]
"""Called by the session when the request's headers have been sent."""


@runtime_checkable
class RateLimiter(Protocol):
    """Anything that can make a caller wait for its turn to send one request."""

    async def acquire(self) -> Mark | None:
        """Return when one more request may be sent now, optionally with a mark."""
        ...


class NoRateLimit:
    """A limiter that never waits (benchmarks, or a server without limits)."""

    async def acquire(self) -> Mark | None:
        return None


class SlidingWindowLimiter:
    """At most ``rate`` acquisitions in any window of ``period + margin`` seconds.

    The 10 ms default margin absorbs the server's own jitter in when it counts
    a request (measured: 2 ms still drew an occasional 429 from a busy
    server; 10 ms drew none) and still allows 9.9 requests a second.

    Waiters are served first come, first served (the lock is FIFO). A waiter
    cancelled while waiting takes no slot, so cancellation leaks nothing.
    """

    def __init__(self, rate: float = 10, period: float = 1.0, margin: float = 0.010) -> None:
        if rate <= 0 or period <= 0 or margin < 0:
            raise ValueError("rate and period must be positive, margin non-negative")
        # A fractional rate (2.5/s) is kept exact by scaling the window.
        self._slots = max(1, int(rate))
        self._window = period * self._slots / rate + margin
        # One mutable cell per slot, so a mark can move it to the send time.
        self._sent: deque[list[float]] = deque(maxlen=self._slots)
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"SlidingWindowLimiter(slots={self._slots}, window={self._window:.3f}s)"

    async def acquire(self) -> Mark:
        async with self._lock:
            loop = asyncio.get_running_loop()
            # Loop: the oldest slot may move later (its mark) while we sleep.
            while len(self._sent) == self._slots:
                wait = self._sent[0][0] + self._window - loop.time()
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
            slot = [loop.time()]
            self._sent.append(slot)

        def mark_sent() -> None:
            slot[0] = max(slot[0], loop.time())

        return mark_sent
