"""Benchmark 1: stream contacts page by page behind 20 ms latency and a 20 ms consumer.

Three loops over the same list in the same run, one repetition each (each
takes 20-45 s): a raw aiohttp page loop (GET, parse, consume, next), the SDK
without prefetch and the SDK with ``prefetch=True``, both iterating items and
awaiting 20 ms each time a page boundary is crossed. Prefetch should hide the
consumer's time: target SDK-with-prefetch <= 0.6x the raw sequential loop.

``pagination-rss`` streams 10k and 100k contacts in a fresh process each and
compares the resident-set growth (target: flat).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from msgflash_async import MsgFlashClient

from ._common import Server, log, ratio, run_child, timed

LATENCY = 0.02
CONSUME = 0.02
PAGE = 100


async def raw_loop(server: Server, n: int) -> int:
    """The baseline: one page at a time, the consumer's work between requests."""
    url = server.base_url + "/api/v1/contacts"
    params: dict[str, str | int] = {"limit": PAGE, "sort": "createdAt_desc"}
    count = 0
    async with aiohttp.ClientSession() as session:
        while count < n:
            async with session.get(url, params=params, headers=server.headers()) as resp:
                data = json.loads(await resp.read())["data"]
            count += len(data["contacts"])
            await asyncio.sleep(CONSUME)
            if not data["hasMore"]:
                break
            params["cursor"] = data["nextCursor"]
    return count


async def sdk_loop(server: Server, n: int, prefetch: bool) -> int:
    """The SDK, item by item, awaiting the consumer's work once per page."""
    count = 0
    async with MsgFlashClient(server.api_key, base_url=server.base_url, rate_limit=None) as client:
        async for _ in client.contacts.list(limit=PAGE, max_items=n, prefetch=prefetch):
            count += 1
            if count % PAGE == 0:
                await asyncio.sleep(CONSUME)
    return count


async def run(quick: bool) -> dict[str, Any]:
    n = 10_000 if quick else 100_000
    runs: dict[str, Any] = {}
    with Server(seed=n, latency=LATENCY, ids=0) as server:
        for name, loop in (
            ("raw_sequential", lambda: raw_loop(server, n)),
            ("sdk", lambda: sdk_loop(server, n, prefetch=False)),
            ("sdk_prefetch", lambda: sdk_loop(server, n, prefetch=True)),
        ):
            wall, cpu, count = await timed(loop)
            if count != n:
                raise RuntimeError(f"{name} streamed {count} contacts, expected {n}")
            runs[name] = {"seconds": round(wall, 3), "client_cpu_s": round(cpu, 3)}
            log(f"  pagination {name}: {wall:.2f} s")
    raw = runs["raw_sequential"]["seconds"]
    floor = n / PAGE * max(LATENCY, CONSUME)
    return {
        "items": n,
        "page_size": PAGE,
        "latency_s": LATENCY,
        "consumer_s_per_page": CONSUME,
        "repetitions": 1,
        "runs": runs,
        "floor_s": round(floor, 2),
        "ratio_sdk_vs_raw": round(ratio(runs["sdk"]["seconds"], raw), 3),
        "ratio_sdk_prefetch_vs_raw": round(ratio(runs["sdk_prefetch"]["seconds"], raw), 3),
        "target": "sdk_prefetch / raw_sequential <= 0.6",
        "target_met": ratio(runs["sdk_prefetch"]["seconds"], raw) <= 0.6,
    }


async def run_rss(quick: bool) -> dict[str, Any]:
    sizes = (2_000, 10_000) if quick else (10_000, 100_000)
    results: dict[str, Any] = {}
    with Server(seed=sizes[-1], latency=0.0, ids=0) as server:
        for size in sizes:
            answer = run_child(["contacts", server.base_url, server.api_key, str(size)])
            results[str(size)] = answer
            log(f"  pagination-rss {size}: +{answer['growth_mb']} MB")
    small, large = (results[str(s)]["growth_mb"] for s in sizes)
    return {
        "sizes": list(sizes),
        "runs": results,
        "growth_difference_mb": round(large - small, 2),
        "target": "flat: growth for the large run within 5 MB of the small one",
        "target_met": large - small <= 5.0,
    }
