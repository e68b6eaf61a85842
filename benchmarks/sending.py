"""Benchmarks 4 and 5: the batch sender against ``POST /api/v1/messages/send``.

``rate-limit``: 600 sends, client with its default limiter (10/s), emulator
enforcing 10 requests per sliding second. The achieved rate is measured at
the server (accepted requests over the span from the first to the last, and
the steady rate after the first burst of 10), and
the server says how many 429s it gave and the most requests it accepted in
any 1 s window. Targets: >= 9.7 req/s, zero 429s, no window above 10. There is
no raw baseline here: the target is absolute.

``send-throughput``: 20,000 sends at concurrency 64, 5 ms injected latency,
no limit on either side; the SDK's batch sender v. a raw aiohttp loop (64
workers pulling from one generator: a semaphore of 64 without a task per
message; ``json.dumps`` / ``json.loads``), alternating order, median of the
paired ratios. Target: SDK / raw <= 1.3.

``send-rss``: the sender's resident-set growth for 20k and 100k inputs from a
generator, each in a fresh process (target: flat).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import anyio

from msgflash_async import MsgFlashClient

from ._common import Server, log, median, ratio, run_child, timed
from ._sending import batch_api, raw_body, recipients, send_batch

CONCURRENCY = 64


async def run_rate_limit(quick: bool) -> dict[str, Any]:
    n = 100 if quick else 600
    with Server(rate_limit=10, ids=0, record=True) as server:
        async with MsgFlashClient(server.api_key, base_url=server.base_url) as client:
            api = batch_api(client)
            started = time.perf_counter()
            counts = await send_batch(client, server.instance_id, n, concurrency=32)
            elapsed = time.perf_counter() - started
        stats = server.command("stats")
    span = (stats["last"] or 0.0) - (stats["first"] or 0.0)
    server_rate = (stats["accepted"] - 1) / span if span > 0 else float("nan")
    steady = stats["steady_rate"] or 0.0
    met = min(server_rate, steady) >= 9.7 and stats["rate_limited"] == 0
    met = met and stats["max_in_1s"] <= 10
    log(f"  rate-limit: {server_rate:.3f} req/s, 429s {stats['rate_limited']}")
    return {
        "sends": n,
        "api": api,
        "counts": counts,
        "client_seconds": round(elapsed, 3),
        "client_rate": round(n / elapsed, 3),
        "server_rate": round(server_rate, 3),
        "server_steady_rate_after_first_10": round(stats["steady_rate"] or 0.0, 3),
        "server_accepted": stats["accepted"],
        "server_429s": stats["rate_limited"],
        "server_429s_at_s": stats["rate_limited_at"],
        "max_requests_in_any_1s_window": stats["max_in_1s"],
        "target": ">= 9.7 req/s at the server, 0 x 429, no 1 s window above 10",
        "target_met": met,
    }


async def raw_send(server: Server, n: int) -> dict[str, int]:
    """The baseline: CONCURRENCY workers posting bodies from one generator."""
    url = server.base_url + "/api/v1/messages/send"
    headers = {**server.headers(), "Content-Type": "application/json"}
    bodies: Iterator[dict[str, Any]] = (
        raw_body(server.instance_id, to, i) for i, to in enumerate(recipients(n))
    )
    counts = {"accepted": 0, "failed": 0}
    connector = aiohttp.TCPConnector(limit=CONCURRENCY, limit_per_host=CONCURRENCY)
    timeout = aiohttp.ClientTimeout(total=30, sock_connect=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker() -> None:
            for body in bodies:
                data = json.dumps(body).encode()
                async with session.post(url, data=data, headers=headers) as resp:
                    json.loads(await resp.read())
                counts["accepted" if resp.status < 300 else "failed"] += 1

        async with anyio.create_task_group() as tg:
            for _ in range(CONCURRENCY):
                tg.start_soon(worker)
    return counts


async def sdk_send(server: Server, n: int) -> dict[str, int]:
    async with MsgFlashClient(server.api_key, base_url=server.base_url, rate_limit=None) as client:
        return await send_batch(client, server.instance_id, n, CONCURRENCY)


async def run_throughput(quick: bool) -> dict[str, Any]:
    n, reps = (4_000, 3) if quick else (20_000, 3)
    sides = {"raw": raw_send, "sdk": sdk_send}
    walls: dict[str, list[float]] = {"raw": [], "sdk": []}
    cpus: dict[str, list[float]] = {"raw": [], "sdk": []}
    with Server(latency=0.005, ids=0) as server:
        for side in sides.values():  # warm-up, not counted
            await side(server, 500)
        for rep in range(reps):
            order = ("raw", "sdk") if rep % 2 == 0 else ("sdk", "raw")
            for name in order:
                wall, cpu, counts = await timed(lambda: sides[name](server, n))  # noqa: B023
                if counts.get("accepted") != n:
                    raise RuntimeError(f"{name} send run did not accept everything: {counts}")
                walls[name].append(wall)
                cpus[name].append(cpu)
            log(
                f"  send-throughput rep {rep + 1}: raw {walls['raw'][-1]:.2f} s, "
                f"sdk {walls['sdk'][-1]:.2f} s"
            )
    paired = [ratio(s, r) for s, r in zip(walls["sdk"], walls["raw"], strict=True)]
    paired_cpu = [ratio(s, r) for s, r in zip(cpus["sdk"], cpus["raw"], strict=True)]
    result: dict[str, Any] = {
        "sends": n,
        "concurrency": CONCURRENCY,
        "latency_s": 0.005,
        "repetitions": reps,
        "ratio_wall_median": round(median(paired), 3),
        "ratio_wall_each": [round(r, 3) for r in paired],
        "ratio_client_cpu_median": round(median(paired_cpu), 3),
        "target": "sdk / raw wall time <= 1.3",
        "target_met": median(paired) <= 1.3,
    }
    for name in sides:
        result[name] = {
            "seconds_median": round(median(walls[name]), 3),
            "sends_per_s_median": round(n / median(walls[name])),
            "client_cpu_us_per_send_median": round(median(cpus[name]) / n * 1e6, 1),
        }
    return result


async def run_rss(quick: bool) -> dict[str, Any]:
    sizes = (4_000, 20_000) if quick else (20_000, 100_000)
    results: dict[str, Any] = {}
    with Server(latency=0.005, ids=0) as server:
        for size in sizes:
            answer = run_child(
                ["send", server.base_url, server.api_key, server.instance_id, str(size)]
            )
            results[str(size)] = answer
            log(f"  send-rss {size}: +{answer['growth_mb']} MB in {answer['seconds']} s")
    small, large = (results[str(s)]["growth_mb"] for s in sizes)
    return {
        "sizes": list(sizes),
        "concurrency": CONCURRENCY,
        "runs": results,
        "growth_difference_mb": round(large - small, 2),
        "target": "flat: growth for the large run within 5 MB of the small one",
        "target_met": large - small <= 5.0,
    }
