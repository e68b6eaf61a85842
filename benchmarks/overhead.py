"""Benchmark 2: per-request overhead, ``client.contacts.get(id)`` v. raw aiohttp.

5,000 GETs at concurrency 50 against the emulator in its own process (no
latency, no limit). Both sides are driven the same way: 50 workers pulling ids
from one shared iterator (a semaphore of 50 without a task per call). The raw
side uses a session with the SDK's pool and timeout settings, ``session.get``,
``await resp.read()`` and ``json.loads``. The order alternates between
repetitions; the figure is the median of the paired SDK/raw ratios. Client CPU
per call (this process only: the server has its own core) is reported too.
Target: SDK/raw wall-time ratio <= 1.25.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from itertools import cycle, islice
from typing import Any

import aiohttp
import anyio

from msgflash_async import MsgFlashClient

from ._common import Server, log, median, ratio, timed

CONCURRENCY = 50
POOL = 64  # the SDK's default pool_size: the raw session gets the same connector


async def drive(call: Callable[[str], Awaitable[Any]], ids: Iterator[str]) -> None:
    """Run ``call(id)`` for every id with CONCURRENCY workers sharing the iterator."""

    async def worker() -> None:
        for contact_id in ids:
            await call(contact_id)

    async with anyio.create_task_group() as tg:
        for _ in range(CONCURRENCY):
            tg.start_soon(worker)


async def raw_run(server: Server, ids: list[str], n: int) -> None:
    base = server.base_url + "/api/v1/contacts/"
    headers = server.headers()
    connector = aiohttp.TCPConnector(limit=POOL, limit_per_host=POOL)
    timeout = aiohttp.ClientTimeout(total=30, sock_connect=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def get(contact_id: str) -> Any:
            async with session.get(base + contact_id, headers=headers) as resp:
                data = json.loads(await resp.read())
            if resp.status != 200:
                raise RuntimeError(f"raw GET failed: {resp.status}")
            return data["data"]

        await drive(get, islice(cycle(ids), n))


async def sdk_run(server: Server, ids: list[str], n: int) -> None:
    async with MsgFlashClient(server.api_key, base_url=server.base_url, rate_limit=None) as client:
        await drive(client.contacts.get, islice(cycle(ids), n))


async def run(quick: bool) -> dict[str, Any]:
    n, reps = (1_000, 3) if quick else (5_000, 5)
    sides = {"raw": raw_run, "sdk": sdk_run}
    walls: dict[str, list[float]] = {"raw": [], "sdk": []}
    cpus: dict[str, list[float]] = {"raw": [], "sdk": []}
    with Server(seed=1_000, ids=1_000) as server:
        ids = server.contact_ids
        for side in sides.values():  # warm-up, not counted: imports, hooks, the pool
            await side(server, ids, 500)
        for rep in range(reps):
            order = ("raw", "sdk") if rep % 2 == 0 else ("sdk", "raw")
            for name in order:
                wall, cpu, _ = await timed(lambda: sides[name](server, ids, n))  # noqa: B023
                walls[name].append(wall)
                cpus[name].append(cpu)
            log(
                f"  overhead rep {rep + 1}: raw {walls['raw'][-1]:.3f} s, "
                f"sdk {walls['sdk'][-1]:.3f} s"
            )
    paired = [ratio(s, r) for s, r in zip(walls["sdk"], walls["raw"], strict=True)]
    paired_cpu = [ratio(s, r) for s, r in zip(cpus["sdk"], cpus["raw"], strict=True)]
    result: dict[str, Any] = {
        "calls": n,
        "concurrency": CONCURRENCY,
        "repetitions": reps,
        "ratio_wall_median": round(median(paired), 3),
        "ratio_wall_each": [round(r, 3) for r in paired],
        "ratio_client_cpu_median": round(median(paired_cpu), 3),
        "target": "sdk / raw wall time <= 1.25",
        "target_met": median(paired) <= 1.25,
    }
    for name in sides:
        result[name] = {
            "seconds_median": round(median(walls[name]), 4),
            "req_per_s_median": round(n / median(walls[name])),
            "client_cpu_us_per_call_median": round(median(cpus[name]) / n * 1e6, 1),
        }
    sdk_us, raw_us = (result[k]["client_cpu_us_per_call_median"] for k in ("sdk", "raw"))
    result["sdk_added_cpu_us_per_call"] = round(sdk_us - raw_us, 1)
    return result
