"""One worker process of the fleet benchmarks.

``python -m benchmarks._fleet_worker URL KEY INSTANCE REDIS_URL MODE FIRST COUNT [JOURNAL]``
sends COUNT text messages (recipients ``+1555`` + FIRST..FIRST+COUNT-1) with
``send_many`` at concurrency 8. MODE picks the limiter: ``shared`` (a
RedisRateLimiter), ``local`` (the default 10 req/s of its own), ``split:N``
(10/N req/s of its own), ``fixed`` (10 req/s, margin never widened) or
``adaptive`` (10 req/s, the default adaptive margin). With JOURNAL the batch
keeps a RedisJournal of that name (lease 2 s), waiting for a live owner's
lease to run out. Prints ``started`` when sending starts, then the report as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from msgflash_async import (
    MsgFlashClient,
    OutgoingMessage,
    RateLimiter,
    SlidingWindowLimiter,
    ValidationError,
)
from msgflash_async.redis import RedisJournal, RedisRateLimiter
from msgflash_async.redis._connect import from_url

LEASE = 2.0


def _limiter(mode: str, redis: Any, api_key: str) -> RateLimiter:
    if mode == "shared":
        return RedisRateLimiter(redis, api_key)
    if mode == "fixed":
        return SlidingWindowLimiter(adaptive=None)
    if mode.startswith("split:"):
        return SlidingWindowLimiter(rate=10 / int(mode.split(":")[1]))
    return SlidingWindowLimiter()  # local, adaptive


def _messages(instance: str, first: int, count: int) -> list[tuple[str, OutgoingMessage]]:
    tos = [f"+1555{n:07d}" for n in range(first, first + count)]
    return [
        (to, OutgoingMessage.text_message(instance_id=instance, to=to, text="fleet")) for to in tos
    ]


async def main(argv: list[str]) -> None:
    base_url, api_key, instance, redis_url, mode, first, count = argv[:7]
    redis = from_url(redis_url)
    limiter = _limiter(mode, redis, api_key)
    messages = _messages(instance, int(first), int(count))
    async with MsgFlashClient(api_key, base_url=base_url, rate_limit=limiter) as client:
        print("started", flush=True)
        while True:
            journal = RedisJournal(redis, argv[7], lease=LEASE) if len(argv) > 7 else None
            try:
                report = await client.messages.send_many(messages, concurrency=8, journal=journal)
                break
            except ValidationError:  # another live owner: wait for its lease
                await asyncio.sleep(0.2)
    if isinstance(limiter, RedisRateLimiter):
        await limiter.aclose()  # pending marks
    await redis.aclose()
    answer = {
        "counts": {k.value: v for k, v in report.counts.items() if v},
        "unknown": [u.key for u in report.unknown],
        "stop": report.stop_reason,
        "seconds": round(report.elapsed, 3),
    }
    print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
