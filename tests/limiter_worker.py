"""One worker process of the multi-process limiter tests.

``python tests/limiter_worker.py BASE_URL API_KEY REDIS_URL CALLS RATE MARGIN``
makes CALLS API calls through a client whose limiter is a RedisRateLimiter
shared with the other workers, then prints one JSON line: calls made and
429s the client saw (none are retried away: max_retries=0).
"""

from __future__ import annotations

import asyncio
import json
import sys

from msgflash_async import MsgFlashClient, RateLimitError
from msgflash_async.redis import RedisRateLimiter


async def main(
    base_url: str, api_key: str, redis_url: str, calls: int, rate: float, margin: float
) -> None:
    limiter = RedisRateLimiter.from_url(redis_url, api_key, rate=rate, margin=margin)
    done = refused = 0
    async with (
        limiter,
        MsgFlashClient(api_key, base_url=base_url, rate_limit=limiter, max_retries=0) as client,
    ):
        for _ in range(calls):
            try:
                await client.contacts.list(limit=1)
                done += 1
            except RateLimitError:
                refused += 1
    print(json.dumps({"calls": done, "rate_limited": refused}), flush=True)


if __name__ == "__main__":
    url, key, redis_url, calls, rate, margin = sys.argv[1:7]
    asyncio.run(main(url, key, redis_url, int(calls), float(rate), float(margin)))
