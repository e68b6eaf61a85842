"""Benchmark: what OpenTelemetry costs per call, v. the SDK without it and raw aiohttp.

The ``overhead`` set-up (5,000 ``client.contacts.get(id)`` at concurrency 50,
emulator in its own process, no latency, no limit) with three sides run in
alternating order: raw aiohttp, the SDK with no observer (OpenTelemetry not
configured: the state every client is in unless the application set up a
tracer provider), and the SDK instrumented with the OpenTelemetry SDK
(a real TracerProvider and MeterProvider recording every span and metric,
with no exporter, so the figure is the SDK's own cost, not an exporter's).
Figures: median paired ratios sdk/raw and otel/raw.
"""

from __future__ import annotations

from itertools import cycle, islice
from typing import Any

from msgflash_async import MsgFlashClient

from ._common import Server, log, median, timed
from .overhead import drive, raw_run, sdk_run


def _providers() -> tuple[Any, Any]:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider

    return TracerProvider(), MeterProvider()


async def otel_run(server: Server, ids: list[str], n: int) -> None:
    from msgflash_async.otel import instrument

    tracer_provider, meter_provider = _providers()
    client = MsgFlashClient(server.api_key, base_url=server.base_url, rate_limit=None)
    instrument(client, tracer_provider=tracer_provider, meter_provider=meter_provider)
    async with client:
        await drive(client.contacts.get, islice(cycle(ids), n))


async def run(quick: bool) -> dict[str, Any]:
    n, reps = (1_000, 3) if quick else (5_000, 5)
    sides = {"raw": raw_run, "sdk": sdk_run, "otel": otel_run}
    walls: dict[str, list[float]] = {name: [] for name in sides}
    cpus: dict[str, list[float]] = {name: [] for name in sides}
    with Server(seed=1_000, ids=1_000) as server:
        ids = server.contact_ids
        for side in sides.values():  # warm-up: imports, the pool
            await side(server, ids, 500)
        for rep in range(reps):
            names = list(sides)
            order = names[rep % 3 :] + names[: rep % 3]
            for name in order:
                wall, cpu, _ = await timed(lambda: sides[name](server, ids, n))  # noqa: B023
                walls[name].append(wall)
                cpus[name].append(cpu)
            log(f"telemetry rep {rep + 1}/{reps}: " + ", ".join(
                f"{name} {walls[name][-1]:.2f}s" for name in names))  # fmt: skip
    pairs = {
        name: [w / r for w, r in zip(walls[name], walls["raw"], strict=True)]
        for name in ("sdk", "otel")
    }
    return {
        "calls": n,
        "repetitions": reps,
        "wall_ratio_sdk_to_raw": round(median(pairs["sdk"]), 3),
        "wall_ratio_otel_to_raw": round(median(pairs["otel"]), 3),
        "cpu_us_per_call": {name: round(median(cpus[name]) / n * 1e6, 1) for name in sides},
        "wall_s_median": {name: round(median(walls[name]), 3) for name in sides},
    }
