"""A fresh process for one memory measurement, so runs don't pollute each other.

``python -m benchmarks._child contacts BASE_URL API_KEY N``: stream N contacts
(prefetch on); ``python -m benchmarks._child send BASE_URL API_KEY INSTANCE N``:
send N messages through the batch sender from a generator. Prints one JSON line:
resident set before the stream (after a warm-up call), the largest resident set
sampled during it, the growth between the two, and the kernel's peak (ru_maxrss).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import sys
import time
from typing import Any

from msgflash_async import MsgFlashClient

from ._common import current_rss_mb, peak_rss_mb
from ._sending import outgoing, send_batch

SAMPLE_EVERY = 500


async def _contacts(base_url: str, api_key: str, n: int) -> dict[str, Any]:
    async with MsgFlashClient(api_key, base_url=base_url, rate_limit=None) as client:
        await client.contacts.list(limit=100)  # warm up: pool, converter hooks
        gc.collect()
        before, peak_before = current_rss_mb(), peak_rss_mb()
        high, count = before, 0
        started = time.perf_counter()
        async for _ in client.contacts.list(limit=100, max_items=n, prefetch=True):
            count += 1
            if count % SAMPLE_EVERY == 0:
                high = max(high, current_rss_mb())
        elapsed = time.perf_counter() - started
    return _answer(before, peak_before, high, count, elapsed)


async def _send(base_url: str, api_key: str, instance_id: str, n: int) -> dict[str, Any]:
    async with MsgFlashClient(api_key, base_url=base_url, rate_limit=None) as client:
        await client.messages.send(next(outgoing(instance_id, 1)))  # warm up
        gc.collect()
        before, peak_before = current_rss_mb(), peak_rss_mb()
        stop = asyncio.Event()
        sampler = asyncio.create_task(_sample(before, stop))
        started = time.perf_counter()
        counts = await send_batch(client, instance_id, n, concurrency=64)
        elapsed = time.perf_counter() - started
        stop.set()
        high = await sampler
    answer = _answer(before, peak_before, high, n, elapsed)
    answer["counts"] = counts
    return answer


async def _sample(before: float, stop: asyncio.Event) -> float:
    """The largest resident set seen every 50 ms until ``stop`` (the batch runs in the SDK)."""
    high = before
    while not stop.is_set():
        high = max(high, current_rss_mb())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.05)
    return max(high, current_rss_mb())


def _answer(
    before: float, peak_before: float, high: float, count: int, elapsed: float
) -> dict[str, Any]:
    return {
        "items": count,
        "seconds": round(elapsed, 3),
        "rss_before_mb": round(before, 2),
        "rss_high_mb": round(high, 2),
        "growth_mb": round(high - before, 2),
        "ru_maxrss_before_mb": round(peak_before, 2),
        "ru_maxrss_after_mb": round(peak_rss_mb(), 2),
    }


def main(argv: list[str]) -> None:
    mode = argv[0]
    if mode == "contacts":
        answer = asyncio.run(_contacts(argv[1], argv[2], int(argv[3])))
    elif mode == "send":
        answer = asyncio.run(_send(argv[1], argv[2], argv[3], int(argv[4])))
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
