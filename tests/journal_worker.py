"""A worker process that runs one batch on a RedisJournal (killed by the journal tests).

``python tests/journal_worker.py BASE_URL API_KEY INSTANCE_ID REDIS_URL NAME COUNT LEASE``
sends COUNT text messages (recipient ``+3361000NNNN``) at concurrency 4,
prints ``started`` once the journal is open, then the report as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys

from msgflash_async import MsgFlashClient, OutgoingMessage
from msgflash_async.redis import RedisJournal
from msgflash_async.redis._connect import from_url


def messages(instance_id: str, count: int) -> list[tuple[str, OutgoingMessage]]:
    return [
        (
            f"+3361000{n:04d}",
            OutgoingMessage.text_message(instance_id=instance_id, to=f"+3361000{n:04d}", text="hi"),
        )
        for n in range(count)
    ]


async def main(
    base_url: str, key: str, instance: str, redis_url: str, name: str, count: int, lease: float
) -> None:
    redis = from_url(redis_url)
    journal = RedisJournal(redis, name, lease=lease)
    async with MsgFlashClient(key, base_url=base_url, rate_limit=None) as client:
        batch = client.messages.send_many(messages(instance, count), concurrency=4, journal=journal)
        print("started", flush=True)
        report = await batch
    await redis.aclose()
    counts = {status.value: n for status, n in report.counts.items() if n}
    print(json.dumps({"counts": counts, "stop": report.stop_reason}), flush=True)


if __name__ == "__main__":
    base_url, key, instance, redis_url, name, count, lease = sys.argv[1:8]
    asyncio.run(main(base_url, key, instance, redis_url, name, int(count), float(lease)))
