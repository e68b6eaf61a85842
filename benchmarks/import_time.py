"""Benchmark: the cost of ``import msgflash_async`` over ``import aiohttp``.

Each figure is the CPU time (user + system, from ``wait4``) of a fresh
interpreter that imports one thing, minus a fresh interpreter that imports
nothing. CPU time, not wall time, so other processes on a loaded machine do
not inflate it. The variants run interleaved (bare, aiohttp, sdk, sdk + client
class, webhooks, testing) for ``reps`` rounds and each figure is the median.

Target: ``import msgflash_async`` within aiohttp + 30 ms. The webhook
adapters (aiohttp.web), the emulator, the CLI, Redis and OpenTelemetry are
imported on first use, not by ``import msgflash_async``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from ._common import _root, log, median

VARIANTS: dict[str, str] = {
    "bare": "pass",
    "aiohttp": "import aiohttp",
    "sdk": "import msgflash_async",
    "sdk_client": "from msgflash_async import MsgFlashClient",
    # What a first send pays on top: the messages resource, its models, the converter.
    "sdk_messages": "import msgflash_async.resources.messages",
    "webhooks": "import msgflash_async.webhooks",
    "testing": "import msgflash_async.testing",
}


def _cpu_ms(code: str) -> float:
    env = dict(os.environ, PYTHONPATH=_root())
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"{code!r} exited {proc.returncode}")
    return (usage.ru_utime + usage.ru_stime) * 1000


async def run(quick: bool) -> dict[str, Any]:
    reps = 5 if quick else 15
    samples: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for rep in range(reps):
        for name, code in VARIANTS.items():
            samples[name].append(_cpu_ms(code))
        log(f"import-time: round {rep + 1}/{reps}")
    bare = median(samples["bare"])
    cost = {name: round(median(values) - bare, 1) for name, values in samples.items()}
    return {
        "reps": reps,
        "cpu_ms_over_bare_interpreter": cost,
        "sdk_minus_aiohttp_ms": round(cost["sdk"] - cost["aiohttp"], 1),
        "sdk_client_minus_aiohttp_ms": round(cost["sdk_client"] - cost["aiohttp"], 1),
        "sdk_messages_minus_aiohttp_ms": round(cost["sdk_messages"] - cost["aiohttp"], 1),
        "target_ms": 30,
    }
