"""Benchmark ``crash``: inputs left unknown by a SIGKILL at a random moment, before and after.

A batch worker (``benchmarks._crash_worker``, a real process) sends 200
messages with a file journal at concurrency 8 under the default limiter (10
req/s) to the emulator, which runs in this process; it is SIGKILLed at a
random moment 0-3 s after its first outcome. Then the journal is read: every
attempt without an outcome is an input the crash left ``unknown``, and the
emulator says which of those never arrived.

Two ways of journaling, side by side on the same kills:

    ahead   the attempt is recorded before the send is called, so inputs
            still waiting for the rate limiter are unknown too (what the SDK
            did before; it even announced them one input per worker earlier)
    wire    ``send_many``: the attempt is recorded when the request leaves,
            after the limiter and the pool let it go

Target: at the wire, never more unknowns than requests in flight (at most
``concurrency``), and next to none that never arrived. After each wire-mode
kill the worker is run again on its journal (no limiter): reconciliation
settles every unknown, so none may be left, and no recipient may get two
messages.
"""

from __future__ import annotations

import random
import statistics
import tempfile
from pathlib import Path
from typing import Any

from msgflash_async.testing import Emulator

from ._common import log
from ._crash import in_doubt, run_and_kill, run_to_end, worker_config
from ._crash_worker import phone

CONCURRENCY = 8
SEED = 20261203


async def _trial(mode: str, after: float, directory: Path, number: int) -> tuple[int, ...]:
    journal = directory / f"{mode}-{number}.jsonl"
    async with Emulator(rate_limit=None, message_step=None) as emu:
        config = worker_config(emu, journal, n=200, concurrency=CONCURRENCY, rate=10, mode=mode)
        await run_and_kill(config, after=after)
        received = {m["to"] for m in emu.sent_messages}
        unknown = await in_doubt(journal)
        lost = sum(1 for i in unknown if phone(i) not in received)
        if mode != "wire":
            return len(unknown), lost
        # Resume on the journal at full speed: reconciliation settles the unknowns.
        summary = await run_to_end({**config, "rate": None, "settle_after": 0.5})
        duplicates = sum(n - 1 for n in emu.duplicate_recipients().values())
    return len(unknown), lost, len(summary["unknown"]), duplicates


async def run(quick: bool) -> dict[str, Any]:
    trials = 4 if quick else 20
    draw = random.Random(SEED)
    kills = [draw.uniform(0.0, 3.0) for _ in range(trials)]
    result: dict[str, Any] = {"trials": trials, "concurrency": CONCURRENCY, "rate": 10}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("ahead", "wire"):
            figures = [await _trial(mode, after, Path(tmp), n) for n, after in enumerate(kills)]
            unknown = [f[0] for f in figures]
            lost = [f[1] for f in figures]
            result[mode] = {
                "unknown_per_kill_mean": round(statistics.mean(unknown), 2),
                "unknown_per_kill_max": max(unknown),
                "never_arrived_mean": round(statistics.mean(lost), 2),
                "never_arrived_max": max(lost),
            }
            if mode == "wire":
                result[mode]["unknown_after_resume_max"] = max(f[2] for f in figures)
                result[mode]["duplicates_total"] = sum(f[3] for f in figures)
            log(f"crash {mode}: {result[mode]}")
    return result
