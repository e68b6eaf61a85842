"""``python -m benchmarks [NAME ...] [--quick] [--json PATH] [--list]``.

Runs the named benchmarks (all when none is named) one after the other,
prints each result as JSON on stdout and merges them into a JSON file
(``benchmarks/results.json`` by default), keyed by benchmark name, with the
machine they ran on. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from . import (
    bot,
    converter,
    crash,
    fleet,
    import_time,
    overhead,
    pagination,
    receiver,
    sending,
    soak,
    telemetry,
)
from ._common import can_pin, log, pin_client

Benchmark = Callable[[bool], Awaitable[dict[str, Any]]]

BENCHMARKS: dict[str, Benchmark] = {
    "pagination": pagination.run,
    "pagination-rss": pagination.run_rss,
    "overhead": overhead.run,
    "converter": converter.run,
    "rate-limit": sending.run_rate_limit,
    "send-throughput": sending.run_throughput,
    "send-rss": sending.run_rss,
    "soak": soak.run,
    "telemetry": telemetry.run,
    "fleet": fleet.run_fleet,
    "rate-jitter": fleet.run_jitter,
    "crash": crash.run,
    "bot-throughput": bot.run_throughput,
    "bot-rss": bot.run_rss,
    "import-time": import_time.run,
    "receiver": receiver.run,
}

DEFAULT_JSON = Path(__file__).with_name("results.json")


def machine() -> dict[str, Any]:
    """What the figures depend on: cores, CPU, versions, pinning."""
    import msgflash_async

    try:
        import orjson

        orjson_version: str | None = orjson.__version__
    except ImportError:
        orjson_version = None
    return {
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "aiohttp": aiohttp.__version__,
        "orjson": orjson_version,
        "msgflash_async": getattr(msgflash_async, "__version__", "?"),
        "platform": platform.platform(),
        "pinned": "server on cpu 0, client on cpu 1" if can_pin() else "not pinned",
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke test")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="results file to update")
    parser.add_argument("--list", action="store_true", help="list the benchmark names")
    return parser.parse_args(argv)


async def _run_all(names: list[str], quick: bool) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name in names:
        log(f"{name} ...")
        started = time.perf_counter()
        result = await BENCHMARKS[name](quick)
        result["quick"] = quick
        result["ran_at"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        result["benchmark_seconds"] = round(time.perf_counter() - started, 1)
        results[name] = result
        print(json.dumps({name: result}, indent=2), flush=True)
    return results


def _save(path: Path, results: dict[str, Any]) -> None:
    # Merge: rerunning one benchmark keeps the others' last figures.
    old: dict[str, Any] = {}
    if path.exists():
        old = json.loads(path.read_text())
    merged = {**old.get("results", {}), **results}
    path.write_text(json.dumps({"machine": machine(), "results": merged}, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.list:
        print("\n".join(BENCHMARKS))
        return 0
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        log(f"unknown benchmark(s) {unknown}; choose from {list(BENCHMARKS)}")
        return 2
    names = args.names or list(BENCHMARKS)
    pinned = pin_client()
    log(f"machine: {json.dumps(machine())} (client pinned: {pinned})")
    results = asyncio.run(_run_all(names, args.quick))
    _save(args.json, results)
    log(f"results merged into {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
