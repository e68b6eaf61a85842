"""Many processes on one key: the shared rate budget, jitter, and a worker killed mid-batch.

``fleet``: 4 worker processes (``benchmarks._fleet_worker``) send 600 messages
between them (150 each, concurrency 8) to the emulator in its own process,
which enforces 10 requests per sliding second and records every arrival.
Each scenario runs on a fresh Redis database:

- ``shared``: every worker uses one ``RedisRateLimiter``;
- ``shared_jitter``: the same through a loopback proxy delaying each
  forwarded chunk by a random 0-40 ms (``benchmarks._proxy``);
- ``default_each``: each worker its own default limiter (10 req/s);
- ``split_each``: each worker ``rate_limit=10/4`` (2.5 req/s).

Measured at the server: aggregate rate (accepted over first-to-last
accept), 429s given, the most arrivals (429s included) in any 1 s window.
Targets for ``shared``: >= 9.5 req/s, 0 x 429, no window over 10.

Then ``kills`` trials: the 4 workers each run a shard under a
``RedisJournal`` (lease 2 s) with the shared limiter; one is SIGKILLed once a
quarter of the sends are accepted, and a replacement process runs its shard
with the same inputs, taking the batch over when the lease runs out.
Reported: unknowns per kill (the dead worker's inputs the replacement
cannot settle), duplicates at the server (must be 0) and inputs never sent.

``rate-jitter``: one process, 1,000 sends through the jitter proxy, with a
fixed 10 ms margin (``SlidingWindowLimiter(adaptive=None)``, before) and the
default adaptive margin (after): 429s per 1,000 requests and the rate.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from collections import Counter
from typing import Any

from ._common import Server, log
from ._redis import redis_server

WORKERS = 4
CONCURRENCY = 8
JITTER = 0.040


class _Proxy:
    """``benchmarks._proxy`` in a subprocess, in front of the emulator."""

    def __init__(self, base_url: str, jitter: float, seed: int = 1) -> None:
        port = base_url.rsplit(":", 1)[1]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._proxy", port, str(jitter), str(seed)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.base_url = f"http://127.0.0.1:{int(self.proc.stdout.readline())}"

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


async def _worker(server: Server, base_url: str, redis_url: str, *args: str) -> Any:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks._fleet_worker",
        base_url,
        server.api_key,
        server.instance_id,
        redis_url,
        *args,
        stdout=subprocess.PIPE,
    )


async def _report(proc: Any) -> dict[str, Any]:
    out, _ = await proc.communicate()
    lines = [line for line in out.decode().splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {"killed": True}


def _flush(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    client.close()


def _server_figures(server: Server) -> dict[str, Any]:
    stats = server.command("stats")
    span = (stats["last"] or 0.0) - (stats["first"] or 0.0)
    return {
        "aggregate_rate": round((stats["accepted"] - 1) / span, 3) if span > 0 else None,
        "server_429s": stats["rate_limited"],
        "max_arrivals_in_1s": stats["max_arrivals_in_1s"],
        "accepted": stats["accepted"],
    }


async def _scenario(
    server: Server, redis_url: str, mode: str, jitter: float, n: int, first: int
) -> dict[str, Any]:
    _flush(redis_url)
    server.command("reset")
    proxy = _Proxy(server.base_url, jitter) if jitter else None
    base_url = proxy.base_url if proxy else server.base_url
    per = n // WORKERS
    try:
        procs = [
            await _worker(server, base_url, redis_url, mode, str(first + k * per), str(per))
            for k in range(WORKERS)
        ]
        reports = [await _report(p) for p in procs]
    finally:
        if proxy:
            proxy.close()
    figures = _server_figures(server)
    failed = sum(sum(v for k, v in r["counts"].items() if k != "accepted") for r in reports)
    figures["sends_not_accepted"] = failed
    return figures


async def _kill_trial(server: Server, redis_url: str, n: int, first: int) -> dict[str, Any]:
    _flush(redis_url)
    server.command("reset")
    per = n // WORKERS
    shards = [(str(first + k * per), f"fleet-shard-{k}") for k in range(WORKERS)]
    procs = [
        await _worker(server, server.base_url, redis_url, "shared", start, str(per), name)
        for start, name in shards
    ]
    # Kill once the fleet is well into the batch (a quarter of the sends accepted).
    while server.command("stats")["accepted"] < n // 4:  # noqa: ASYNC110 (another process)
        await asyncio.sleep(0.2)
    procs[0].send_signal(signal.SIGKILL)
    await procs[0].wait()
    start, name = shards[0]
    replacement = await _worker(server, server.base_url, redis_url, "shared", start, str(per), name)
    reports = [await _report(p) for p in [replacement, *procs[1:]]]
    sends = server.command("sends")
    prefix = [f"+1555{i:07d}" for i in range(first, first + n)]
    counts = Counter(to for _, to in sends["sent"] if to in set(prefix))
    figures = _server_figures(server)
    figures.update(
        unknown_after_kill=len(reports[0].get("unknown", [])),
        duplicates=sum(1 for c in counts.values() if c > 1),
        never_sent=sum(1 for to in prefix if counts[to] == 0),
        replacement=reports[0].get("counts"),
    )
    return figures


async def run_fleet(quick: bool) -> dict[str, Any]:
    n, kills = (200, 1) if quick else (600, 3)
    scenarios = {
        "shared": ("shared", 0.0),
        "shared_jitter": ("shared", JITTER),
        "default_each": ("local", 0.0),
        "split_each": (f"split:{WORKERS}", 0.0),
    }
    results: dict[str, Any] = {"workers": WORKERS, "sends": n, "concurrency": CONCURRENCY}
    with redis_server() as redis_url, Server(rate_limit=10, ids=0, record=True) as server:
        for number, (label, (mode, jitter)) in enumerate(scenarios.items()):
            results[label] = await _scenario(server, redis_url, mode, jitter, n, number * 100_000)
            log(f"  fleet {label}: {results[label]}")
        trials = []
        for trial in range(kills):
            trials.append(await _kill_trial(server, redis_url, n, (10 + trial) * 100_000))
            log(f"  fleet kill {trial + 1}: {trials[-1]}")
        results["kills"] = trials
    shared = results["shared"]
    results["target"] = "shared: >= 9.5 req/s, 0 x 429, no 1 s window over 10; 0 duplicates"
    results["target_met"] = (
        (shared["aggregate_rate"] or 0) >= 9.5
        and shared["server_429s"] == 0
        and shared["max_arrivals_in_1s"] <= 10
        and all(t["duplicates"] == 0 for t in trials)
    )
    return results


async def run_jitter(quick: bool) -> dict[str, Any]:
    n = 200 if quick else 1000
    results: dict[str, Any] = {"sends": n, "jitter_s": JITTER}
    with redis_server() as redis_url, Server(rate_limit=10, ids=0, record=True) as server:
        for number, (label, mode) in enumerate(
            (("before_fixed", "fixed"), ("after_adaptive", "adaptive"))
        ):
            server.command("reset")
            proxy = _Proxy(server.base_url, JITTER, seed=number + 7)
            try:
                proc = await _worker(
                    server, proxy.base_url, redis_url, mode, str(number * 100_000), str(n)
                )
                report = await _report(proc)
            finally:
                proxy.close()
            figures = _server_figures(server)
            figures["429s_per_1000"] = round(figures["server_429s"] * 1000 / n, 1)
            figures["client_counts"] = report.get("counts")
            results[label] = figures
            log(f"  rate-jitter {label}: {figures}")
    return results
