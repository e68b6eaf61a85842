"""One worker of a fleet: shares the key's rate budget and the batches through Redis.

Every worker runs this same loop: take a shard whose batch is not finished,
run it under a ``RedisJournal`` (refused while another live worker owns
it), and mark it finished. All workers send through one
``RedisRateLimiter``, so together they hold the key's 10 requests a second.
If a worker dies, the lease on its shard runs out after ``LEASE`` seconds
and the next worker to try takes the shard over: inputs already accepted
are skipped, those the dead worker had in flight are settled against the
server's message list (reconciliation), the rest are sent.

    export MSGFLASH_API_KEY=msgf_live_... MSGFLASH_INSTANCE_ID=... REDIS_URL=redis://...
    python examples/fleet/worker.py SHARDS PER_SHARD      # run it on every worker

Prints one JSON line per shard it finished.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Iterator

import redis.asyncio

from msgflash_async import MsgFlashClient, OutgoingMessage, ValidationError
from msgflash_async.redis import RedisJournal, RedisRateLimiter

LEASE = 2.0  # seconds a dead worker holds its shard; minutes are fine in production
DONE = "fleet:done"  # the shards whose batch has ended


def shard_inputs(instance_id: str, shard: int, size: int) -> Iterator[tuple[str, OutgoingMessage]]:
    """The same inputs, in the same order, on every worker (the journal checks it)."""
    for n in range(size):
        to = f"+3362{shard:03d}{n:04d}"
        yield (
            to,
            OutgoingMessage.text_message(
                instance_id=instance_id, to=to, text="Your order has shipped"
            ),
        )


async def run_shard(
    client: MsgFlashClient, shared: redis.asyncio.Redis, shard: int, size: int
) -> bool:
    """Run one shard's batch; False if another live worker owns it."""
    instance_id = os.environ["MSGFLASH_INSTANCE_ID"]
    journal = RedisJournal(shared, f"fleet:{shard}", lease=LEASE)
    try:
        report = await client.messages.send_many(
            shard_inputs(instance_id, shard, size), concurrency=4, journal=journal
        )
    except ValidationError:  # in use: its owner is alive, or its lease has not run out
        return False
    if report.complete:
        await shared.sadd(DONE, shard)
    counts = {status.value: n for status, n in report.counts.items() if n}
    unknown = [u.key for u in report.unknown]
    print(
        json.dumps({"pid": os.getpid(), "shard": shard, "counts": counts, "unknown": unknown}),
        flush=True,
    )
    return True


async def main(shards: int, size: int) -> None:
    shared = redis.asyncio.Redis.from_url(os.environ["REDIS_URL"])
    api_key = os.environ["MSGFLASH_API_KEY"]
    async with (
        RedisRateLimiter(shared, api_key) as limiter,
        MsgFlashClient(api_key, rate_limit=limiter) as client,
    ):
        while True:
            finished = {int(s) for s in await shared.smembers(DONE)}
            left = [s for s in range(shards) if s not in finished]
            if not left:
                break
            # Start at a different shard on each worker, so they spread out.
            start = os.getpid() % len(left)
            for shard in left[start:] + left[:start]:
                await run_shard(client, shared, shard, size)
            await asyncio.sleep(0.2)
    await shared.aclose()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
