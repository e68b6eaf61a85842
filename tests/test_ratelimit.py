"""The sliding-window limiter: never more than `rate` sends in any window."""

from __future__ import annotations

import asyncio

import anyio
import pytest

from msgflash_async._ratelimit import NoRateLimit, RateLimiter, SlidingWindowLimiter

pytestmark = pytest.mark.anyio


def _max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best = start = 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_no_window_holds_more_than_rate() -> None:
    limiter = SlidingWindowLimiter(rate=20, period=0.1, margin=0.001)
    loop = asyncio.get_running_loop()
    times: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        times.append(loop.time())

    async with anyio.create_task_group() as tg:
        for _ in range(70):
            tg.start_soon(one)
    assert len(times) == 70
    assert _max_in_window(times, 0.1) <= 20


async def test_fractional_rates_are_kept_exact() -> None:
    limiter = SlidingWindowLimiter(rate=2.5, period=1.0, margin=0)
    assert "window=0.800s" in repr(limiter)


async def test_cancelled_waiter_takes_no_slot() -> None:
    limiter = SlidingWindowLimiter(rate=1, period=60.0, margin=0)
    await limiter.acquire()
    with anyio.move_on_after(0.05) as scope:
        await limiter.acquire()
    assert scope.cancelled_caught
    assert len(limiter._sent) == 1
    assert not limiter._lock.locked()


async def test_limiters_satisfy_the_protocol() -> None:
    assert isinstance(SlidingWindowLimiter(), RateLimiter)
    assert isinstance(NoRateLimit(), RateLimiter)
    await NoRateLimit().acquire()


def test_bad_parameters_refused() -> None:
    with pytest.raises(ValueError):
        SlidingWindowLimiter(rate=0)
