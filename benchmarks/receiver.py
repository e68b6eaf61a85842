"""Benchmark: the webhook receiver's CPU per signed event v. a bare handler.

In one process, no sockets: ``reps`` interleaved rounds, each feeding ``n``
distinct signed ``message.delivered`` deliveries (raw bytes and headers, as
an adapter hands them over) to

- ``sdk``: ``WebhookReceiver.handle`` with its defaults (signature check,
  typed event, de-duplication in memory, a handler timeout) and a handler
  that stores the event in a dict;
- ``baseline``: what a hand-written aiohttp handler would do: HMAC-SHA256 of
  the body compared in constant time, ``json.loads``, a dict update.

Figures are CPU microseconds per event (``time.process_time``), the median
of the rounds, and their ratio (events per second, SDK / baseline). The
HTTP part (aiohttp's parser and response) is the same for both and is left
out, so the ratio is the receiver's own work; an HTTP run would dilute it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from typing import Any

from msgflash_async.webhooks import SIGNATURE_HEADER, WebhookEvent, WebhookReceiver, sign

from ._common import log, median, ratio

SECRET = "whsec_benchmark_receiver"


def deliveries(n: int, tag: str) -> list[tuple[bytes, dict[str, str]]]:
    out = []
    for i in range(n):
        body = json.dumps(
            {
                "event": "message.delivered",
                "messageId": f"msg_{tag}_{i}",
                "instanceId": "inst_1",
                "to": "+22912345678",
                "timestamp": "2026-12-03T21:00:00.000Z",
            }
        ).encode()
        out.append(
            (body, {SIGNATURE_HEADER: sign(body, SECRET), "Content-Type": "application/json"})
        )
    return out


async def _sdk(items: list[tuple[bytes, dict[str, str]]]) -> float:
    seen: dict[str, WebhookEvent] = {}

    async def store(event: WebhookEvent) -> None:
        seen[getattr(event, "message_id", "")] = event

    receiver = WebhookReceiver(SECRET, store)
    start = time.process_time()
    for body, headers in items:
        answer = await receiver.handle(body, headers)
        if answer.status != 200:
            raise RuntimeError(f"receiver answered {answer.status}")
    cpu = time.process_time() - start
    assert len(seen) == len(items)
    return cpu


async def _baseline(items: list[tuple[bytes, dict[str, str]]]) -> float:
    seen: dict[str, Any] = {}
    key = SECRET.encode()

    async def handle(body: bytes, headers: dict[str, str]) -> int:
        expected = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, headers[SIGNATURE_HEADER]):
            return 401
        data = json.loads(body)
        seen[data["messageId"]] = data
        return 200

    start = time.process_time()
    for body, headers in items:
        if await handle(body, headers) != 200:
            raise RuntimeError("baseline refused a delivery")
    cpu = time.process_time() - start
    assert len(seen) == len(items)
    return cpu


async def run(quick: bool) -> dict[str, Any]:
    n, reps = (2_000, 3) if quick else (20_000, 5)
    sdk: list[float] = []
    base: list[float] = []
    for rep in range(reps):
        base.append(await _baseline(deliveries(n, f"b{rep}")))
        sdk.append(await _sdk(deliveries(n, f"s{rep}")))
        log(f"receiver: round {rep + 1}/{reps}")
    sdk_us, base_us = median(sdk) / n * 1e6, median(base) / n * 1e6
    return {
        "events": n,
        "reps": reps,
        "sdk_cpu_us_per_event": round(sdk_us, 1),
        "baseline_cpu_us_per_event": round(base_us, 1),
        "sdk_over_baseline_events_per_s": ratio(base_us, sdk_us),
        "target_ratio": 0.85,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(False)), indent=2))
