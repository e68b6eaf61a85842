"""The sliding-window limiter: never more than `rate` sends in any window."""

from __future__ import annotations

import asyncio

import anyio
import pytest

from msgflash_async import MsgFlashClient, QuotaExceededError
from msgflash_async._ratelimit import (
    AdaptiveMargin,
    NoRateLimit,
    RateLimiter,
    RateLimitFeedback,
    SlidingWindowLimiter,
)
from msgflash_async.testing import Emulator
from msgflash_async.testing._faults import Fault

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
    assert isinstance(SlidingWindowLimiter(), RateLimitFeedback)
    assert not isinstance(NoRateLimit(), RateLimitFeedback)
    await NoRateLimit().acquire()


def test_bad_parameters_refused() -> None:
    with pytest.raises(ValueError):
        SlidingWindowLimiter(rate=0)


async def test_a_429_widens_the_margin_once_per_window_then_it_relaxes() -> None:
    adaptive = AdaptiveMargin(step=0.02, ceiling=0.05, relax_step=0.02, relax_after=10.0)
    limiter = SlidingWindowLimiter(rate=10, adaptive=adaptive)
    now = asyncio.get_running_loop().time()
    assert limiter.extra_margin(now) == 0
    await limiter.on_rate_limited()
    await limiter.on_rate_limited()  # the same crowded second counts once
    assert limiter.extra_margin(now) == pytest.approx(0.02)
    assert limiter.extra_margin(now + 10.5) == 0  # one clean period gives a step back
    assert adaptive.widen(0.04) == pytest.approx(0.05)  # never past the ceiling
    assert adaptive.extra(0.05, at=0.0, now=25.0) == pytest.approx(0.01)


async def test_the_widened_margin_holds_sends_apart() -> None:
    limiter = SlidingWindowLimiter(rate=1, period=0.05, margin=0, adaptive=AdaptiveMargin())
    loop = asyncio.get_running_loop()
    await limiter.on_rate_limited()
    first = loop.time()
    await limiter.acquire()
    await limiter.acquire()
    assert loop.time() - first >= 0.05 + 0.04


async def test_a_fixed_margin_does_not_learn() -> None:
    limiter = SlidingWindowLimiter(adaptive=None)
    await limiter.on_rate_limited()
    assert limiter.extra_margin() == 0


async def test_the_session_reports_a_429_to_the_limiter() -> None:
    limiter = SlidingWindowLimiter(rate=100)
    async with (
        Emulator(rate_limit=None) as emu,
        MsgFlashClient(emu.api_key, base_url=emu.base_url, rate_limit=limiter) as client,
    ):
        emu.faults.add(Fault.rate_limited(retry_after=0), times=1)
        await client.contacts.list(limit=1)  # retried after the 429
        assert limiter.extra_margin() > 0
        quota = Fault.error(429, "MONTHLY_API_REQUEST_QUOTA_EXCEEDED")
        limiter = SlidingWindowLimiter(rate=100)
    async with (
        Emulator(rate_limit=None) as emu,
        MsgFlashClient(emu.api_key, base_url=emu.base_url, rate_limit=limiter) as client,
    ):
        emu.faults.add(quota, times=1)
        with pytest.raises(QuotaExceededError):
            await client.contacts.list(limit=1)
        assert limiter.extra_margin() == 0  # a quota is not a crowded second
