"""Benchmark ``soak``: 200 tasks of mixed traffic for ~2 minutes with 1 % injected faults.

Each task loops until the time is up, drawing an operation by weight:
``contacts.get`` 40, ``contacts.list`` (2-4 pages of 100, prefetch half the
time) 10, ``contacts.create`` 15, ``messages.send`` 25, ``messages.send_many``
of 5 messages 5, ``groups.add_members`` of 100-200 ids (a bulk job, polled every
20 ms; the emulator runs jobs at 20,000 items/s after 10 ms pending) 5.

The emulator runs in its own process (pinned to CPU 0) with its rate limit
off, and the client's limiter is off too: at the documented 10 req/s two
minutes would be only 1,200 requests, far too few to show a leak or a rare
race. After a warm-up without faults, the server injects random faults into
1 % of requests (seeded, so a failing run replays): 500, HTML 502, text 503,
429 with Retry-After, a connection dropped before the handler, a connection
dropped AFTER the handler ran (the request took effect, the answer is lost),
and a truncated body (also after the handler).

At the end the SDK's outcomes are checked against the emulator's record (see
``_soak.verify``): a send the SDK reported accepted is recorded exactly once
under its message id, an unknown one at most once, a rejected or unsent one
never, no recipient twice, nothing recorded that the SDK never reported; the
same for contact creates by phone. The client's resident set and open file
descriptors are sampled during the load (10 %, 25 %, 50 %, 75 %, 100 % of
the time) and after the client closed; "flat" compares the 25 % sample with
the end of the load.
"""

from __future__ import annotations

import asyncio
import gc
import os
import random
import statistics
import time
from collections import Counter
from typing import Any

import anyio

from msgflash_async import MsgFlashClient

from ._common import Server, current_rss_mb, log
from ._soak import WARMUP_TASK, Histogram, Ops, OutcomeLog, verify

TASKS = 200
FAULT_RATE = 0.01
FAULT_SEED = 20261122
HANG_AFTER = 60.0  # no operation should come near this: the faults never stall
SAMPLE_AT = (0.10, 0.25, 0.50, 0.75, 1.00)
RSS_FLAT_MB = 5.0
FDS_FLAT = 5


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def sample(label: str) -> dict[str, Any]:
    gc.collect()
    return {"at": label, "rss_mb": round(current_rss_mb(), 2), "open_fds": open_fds()}


class Load:
    """The running soak: per-operation histograms, per-task counts, the stop flag."""

    def __init__(self, ops: Ops, duration: float, seed: int) -> None:
        self.ops = ops
        self.duration = duration
        self.seed = seed
        self.table = ops.table()
        self.names = list(self.table)
        self.weights = [self.table[n][0] for n in self.names]
        self.latency = {name: Histogram() for name in self.names}
        self.per_task = [0] * TASKS
        self.hangs = 0
        self.stopping = False

    async def run_task(self, task: int) -> None:
        rng = random.Random(self.seed * 1000 + task)
        seq = 0
        while not self.stopping:
            name = rng.choices(self.names, self.weights)[0]
            await self.one(name, rng, task, seq)
            seq += 5  # send_many uses seq .. seq + 4
            self.per_task[task] += 1

    async def one(self, name: str, rng: random.Random, task: int, seq: int) -> None:
        started = time.perf_counter()
        with anyio.move_on_after(HANG_AFTER) as scope:
            try:
                await self.table[name][1](rng, task, seq)
            except Exception as exc:
                self.ops.error(name, exc)
        if scope.cancelled_caught:
            self.hangs += 1
            self.ops.errors[f"{name}:Hang"] += 1
        self.latency[name].add(time.perf_counter() - started)

    async def sampler(self, started: float, samples: list[dict[str, Any]]) -> None:
        for fraction in SAMPLE_AT:
            await anyio.sleep(max(0.0, started + fraction * self.duration - time.perf_counter()))
            samples.append(sample(f"{fraction:.0%} of the load"))
            log(f"  soak {fraction:.0%}: {samples[-1]}, ops {sum(self.per_task)}")
        self.stopping = True


async def warm_up(ops: Ops) -> None:
    """Each operation a few times, one after the other, before faults and samples."""
    rng, seq = random.Random(0), 0
    for _ in range(5):
        for _, call in ops.table().values():
            await call(rng, WARMUP_TASK, seq)
            seq += 5


async def drive(server: Server, duration: float) -> dict[str, Any]:
    log_file = OutcomeLog()
    samples: list[dict[str, Any]] = []
    async with MsgFlashClient(server.api_key, base_url=server.base_url, rate_limit=None) as client:
        ops = Ops(client, server.instance_id, server.contact_ids, server.group_ids, log_file)
        await warm_up(ops)
        samples.append(sample("after warm-up"))
        server.command(f"faults {FAULT_RATE} {FAULT_SEED}")
        load = Load(ops, duration, FAULT_SEED)
        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            tg.start_soon(load.sampler, started, samples)
            for task in range(TASKS):
                tg.start_soon(load.run_task, task)
        elapsed = time.perf_counter() - started
        samples.append(sample("all tasks finished, client open"))
    await asyncio.sleep(0.1)  # let the closed transports go
    samples.append(sample("client closed"))
    server.command("faults off")
    checked = verify(
        log_file.rows(),
        server.command("sends")["sent"],
        server.command("contacts +1666")["contacts"],
    )
    log_file.close()
    return _result(load, ops, server, elapsed, samples, checked)


def _result(
    load: Load,
    ops: Ops,
    server: Server,
    elapsed: float,
    samples: list[dict[str, Any]],
    checked: dict[str, Any],
) -> dict[str, Any]:
    soak = server.command("soak")
    calls = sum(load.per_task)
    errors = ops.errors
    by_class: Counter[str] = Counter()
    for key, count in errors.items():
        by_class[key.split(":", 1)[1]] += count
    flat = _flatness(samples)
    verdict = checked["agree"] and flat["flat"] and not load.hangs and not ops.foreign
    verdict = verdict and min(load.per_task) > 0 and not soak["server_error_count"]
    return {
        "tasks": TASKS,
        "duration_s": round(elapsed, 1),
        "fault_rate": FAULT_RATE,
        "fault_seed": FAULT_SEED,
        "sdk_calls": calls,
        "sdk_calls_per_s": round(calls / elapsed),
        "http_requests_at_server": soak["requests"],
        "http_requests_per_s": round(soak["requests"] / elapsed),
        "faults_injected": soak["faults_injected"],
        "faults_by_kind": soak["faults_by_kind"],
        "emulator_errors": soak["server_errors"],
        "errors_by_class": dict(by_class.most_common()),
        "errors_by_operation_and_class": dict(sorted(errors.items())),
        "non_msgflash_errors": ops.foreign,
        "hangs": load.hangs,
        "latency": {name: h.summary() for name, h in load.latency.items()},
        "calls_per_task": {
            "min": min(load.per_task),
            "median": statistics.median(load.per_task),
            "max": max(load.per_task),
        },
        "records": checked,
        "samples": samples,
        "flat": flat,
        "target": "record and outcomes agree; RSS and fds flat; no hang, no foreign error, "
        "no starved task",
        "target_met": verdict,
    }


def _flatness(samples: list[dict[str, Any]]) -> dict[str, Any]:
    by = {s["at"]: s for s in samples}
    quarter, end = by["25% of the load"], by["100% of the load"]
    rss_growth = end["rss_mb"] - quarter["rss_mb"]
    fds_growth = end["open_fds"] - quarter["open_fds"]
    return {
        "rss_mb_at_25pct": quarter["rss_mb"],
        "rss_mb_at_end": end["rss_mb"],
        "rss_growth_mb": round(rss_growth, 2),
        "fds_at_25pct": quarter["open_fds"],
        "fds_at_end": end["open_fds"],
        "fds_growth": fds_growth,
        "rule": f"growth from 25 % to the end <= {RSS_FLAT_MB} MB and <= {FDS_FLAT} fds",
        "flat": rss_growth <= RSS_FLAT_MB and fds_growth <= FDS_FLAT,
    }


async def run(quick: bool) -> dict[str, Any]:
    duration = 20.0 if quick else 120.0
    with Server(seed=5000, ids=5000, groups=20, job_rate=20000.0, job_start_delay=0.01) as server:
        result = await drive(server, duration)
    log(
        f"  soak: {result['sdk_calls']} calls, errors {result['errors_by_class']}, "
        f"records agree {result['records']['agree']}, flat {result['flat']['flat']}"
    )
    return result
