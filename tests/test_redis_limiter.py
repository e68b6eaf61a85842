"""RedisRateLimiter against a real redis-server: one budget for many processes."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from msgflash_async import (
    MsgFlashClient,
    RateLimiter,
    RateLimiterUnavailableError,
    RateLimitFeedback,
)
from msgflash_async.redis import RedisRateLimiter
from msgflash_async.redis._limiter import STALE
from msgflash_async.testing import Emulator

pytestmark = pytest.mark.anyio

KEY = "msgf_live_" + "ab" * 32
WORKER = Path(__file__).with_name("limiter_worker.py")


def _closed_port_url() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


async def test_limiters_of_one_key_share_one_budget(redis_client: Any) -> None:
    # Three limiters stand for three processes; the emulator does not enforce,
    # it only records: the windows it saw are the limiter's doing.
    async with Emulator(rate_limit=None) as emu:
        limiters = [RedisRateLimiter(redis_client, emu.api_key, rate=4, period=0.5, margin=0.05)]
        limiters += [
            RedisRateLimiter(redis_client, emu.api_key, rate=4, period=0.5, margin=0.05)
            for _ in range(2)
        ]
        async with anyio.create_task_group() as tg:
            for limiter in limiters:
                tg.start_soon(_calls, emu, limiter, 5)
        assert len(emu.state.accepted[emu.api_key]) == 15
        assert emu.max_requests_in_any_window(0.5) <= 4
        for limiter in limiters:
            await limiter.aclose()


async def _calls(emu: Emulator, limiter: RedisRateLimiter, n: int) -> None:
    async with MsgFlashClient(emu.api_key, base_url=emu.base_url, rate_limit=limiter) as client:
        for _ in range(n):
            await client.contacts.list(limit=1)


async def test_waiters_are_served_in_turn(redis_client: Any) -> None:
    limiters = [
        RedisRateLimiter(redis_client, KEY, rate=3, period=0.15, margin=0) for _ in range(3)
    ]
    order: list[int] = []
    total = 24

    async def greedy(index: int) -> None:
        while len(order) < total:
            await limiters[index].acquire()
            order.append(index)

    async with anyio.create_task_group() as tg:
        for index in range(3):
            tg.start_soon(greedy, index)
    counts = [order.count(i) for i in range(3)]
    assert min(counts) >= total // 3 - 2, str(order)
    # Past the first free slots, nobody waits more than two rounds for a turn
    # (slots that free up together may go to a waiter that just came back).
    for index in range(3):
        seen = [n for n, who in enumerate(order) if who == index]
        gaps = [b - a for a, b in itertools.pairwise(seen)]
        assert max(gaps[1:], default=0) <= 6, str(order)
    for limiter in limiters:
        await limiter.aclose()


async def test_a_dead_waiter_drops_out_of_the_queue(redis_client: Any) -> None:
    limiter = RedisRateLimiter(redis_client, KEY, rate=1, period=0.1)
    queue, seen = limiter._keys[1], limiter._keys[2]
    seconds, micros = await redis_client.time()
    now = seconds * 1_000_000 + micros
    # A process queued first, then died: it never asks again.
    await redis_client.zadd(queue, {"ghost:0": now - 1000})
    await redis_client.zadd(seen, {"ghost:0": now})
    started = asyncio.get_running_loop().time()
    await limiter.acquire()
    assert asyncio.get_running_loop().time() - started >= STALE * 0.9
    assert await redis_client.zscore(queue, "ghost:0") is None
    await limiter.aclose()


async def test_a_cancelled_waiter_leaves_the_queue(redis_client: Any) -> None:
    limiter = RedisRateLimiter(redis_client, KEY, rate=1, period=60)
    await limiter.acquire()
    with anyio.move_on_after(0.1) as scope:
        await limiter.acquire()
    assert scope.cancelled_caught
    await limiter.aclose()  # flushes the background removal
    assert await redis_client.zcard(limiter._keys[1]) == 0
    assert not limiter._lock.locked()


async def test_the_mark_moves_the_slot_to_the_send_time(redis_client: Any) -> None:
    limiter = RedisRateLimiter(redis_client, KEY, rate=5, period=10)
    mark = await limiter.acquire()
    ((token, taken),) = await redis_client.zrange(limiter._keys[0], 0, -1, withscores=True)
    await asyncio.sleep(0.02)
    mark()
    await limiter.aclose()
    moved = await redis_client.zscore(limiter._keys[0], token)
    assert moved >= taken + 15_000  # microseconds of Redis time


async def test_the_api_key_is_never_written_to_redis(redis_client: Any) -> None:
    limiter = RedisRateLimiter(redis_client, KEY, rate=2, period=0.05)
    for _ in range(3):
        (await limiter.acquire())()
    await limiter.on_rate_limited()
    await limiter.aclose()
    keys = [k.decode() for k in await redis_client.keys("*")]
    assert keys and all(k.startswith("msgflash:rate:{") for k in keys)
    dumped = [await redis_client.dump(k) for k in keys]
    assert not any(
        KEY.encode() in blob or KEY in key for blob, key in zip(dumped, keys, strict=True)
    )
    assert KEY not in repr(limiter)


async def test_a_429_widens_the_margin_for_every_process(redis_client: Any) -> None:
    first = RedisRateLimiter(redis_client, KEY, rate=10)
    assert isinstance(first, RateLimiter) and isinstance(first, RateLimitFeedback)
    second = RedisRateLimiter(redis_client, KEY, rate=10)
    assert await second.extra_margin() == 0
    await first.on_rate_limited()
    await second.on_rate_limited()  # the same crowded second: one widening
    assert await second.extra_margin() == pytest.approx(0.040)
    await first.aclose()
    await second.aclose()


async def test_unreachable_redis_is_a_typed_error_and_nothing_is_sent() -> None:
    limiter = RedisRateLimiter.from_url(
        _closed_port_url(), KEY, redis_options={"socket_connect_timeout": 0.5}
    )
    async with (
        Emulator(rate_limit=None) as emu,
        limiter,
        MsgFlashClient(emu.api_key, base_url=emu.base_url, rate_limit=limiter) as client,
    ):
        with pytest.raises(RateLimiterUnavailableError) as caught:
            await client.contacts.list(limit=1)
        assert caught.value.request_sent is False
        assert emu.requests == []


async def test_fallback_holds_a_local_limit_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limiter = RedisRateLimiter.from_url(
        _closed_port_url(),
        KEY,
        period=0.1,
        fallback_rate=2,
        redis_options={"socket_connect_timeout": 0.5},
    )
    loop = asyncio.get_running_loop()
    with caplog.at_level(logging.WARNING, logger="msgflash_async"):
        started = loop.time()
        async with limiter:
            for _ in range(5):
                await limiter.acquire()
    # Two per 0.1 s window: the fifth waited out two full windows.
    assert loop.time() - started >= 0.2
    warnings = [r for r in caplog.records if "did not answer" in r.getMessage()]
    assert len(warnings) == 1


def test_the_package_imports_without_the_redis_extra() -> None:
    code = (
        "import sys; sys.modules['redis'] = None\n"
        "import msgflash_async, msgflash_async.redis\n"
        "try:\n"
        "    msgflash_async.redis.RedisRateLimiter(object(), 'k')\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "pip install 'msgflash-async[redis]'" in out


async def test_processes_sharing_a_key_hold_the_limit_together(redis_url: str) -> None:
    # Real processes, one Redis; the emulator enforces 4 per second and counts.
    workers, calls, rate = 4, 3, 4
    async with Emulator(rate_limit=rate) as emu:
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                str(WORKER),
                emu.base_url,
                emu.api_key,
                redis_url,
                str(calls),
                str(rate),
                "0.1",
                stdout=subprocess.PIPE,
                env={**os.environ},
            )
            for _ in range(workers)
        ]
        outputs = [await p.communicate() for p in procs]
        assert [p.returncode for p in procs] == [0] * workers
        reports = [json.loads(out) for out, _ in outputs]
        assert sum(r["calls"] for r in reports) == workers * calls
        assert sum(r["rate_limited"] for r in reports) == 0
        assert emu.rate_limited_count == 0
        assert emu.max_requests_in_any_window(1.0) <= rate


async def test_the_shared_margin_relaxes_by_redis_time(redis_client: Any) -> None:
    limiter = RedisRateLimiter(redis_client, KEY, rate=10)
    seconds, micros = await redis_client.time()
    now = seconds * 1_000_000 + micros
    # Widened to 40 ms a little over two clean minutes ago: two steps given back.
    await redis_client.hset(limiter._keys[3], mapping={"extra": 40_000, "at": now - 121_000_000})
    assert await limiter.extra_margin() == pytest.approx(0.020)
    await limiter.on_rate_limited()  # a 429 now widens from there
    assert await limiter.extra_margin() == pytest.approx(0.060)
    await limiter.aclose()
