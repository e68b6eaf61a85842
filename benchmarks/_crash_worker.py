"""A batch worker to be killed: ``python -m benchmarks._crash_worker CONFIG_JSON``.

Sends ``n`` text messages (to ``+336100NNNNN``, text ``"crash test NNNNN"``)
through ``send_many`` with a file journal, under the client's limiter at
``rate`` req/s. It prints ``started`` once the first outcome is in (so a
killer knows requests are flowing), and a JSON summary of the report if it
lives to the end. ``mode`` picks the send:

    wire        ``send_many``: the attempt is journaled when the request
                leaves (after the limiter and the pool)
    ahead       a plain one-argument ``send`` through ``BatchSender``: the
                attempt is journaled before the call, then the request waits
                for the limiter (how every send was journaled before)

``reconcile`` (bool) and ``settle_after`` (seconds) are handed to
``send_many`` on a resume.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from msgflash_async import BatchSender, MsgFlashClient, OutgoingMessage, RetryPolicy


def phone(i: int) -> str:
    return f"+336100{i:05d}"


def inputs(instance_id: str, n: int) -> list[OutgoingMessage]:
    return [
        OutgoingMessage.text_message(
            instance_id=instance_id, to=phone(i), text=f"crash test {i:05d}"
        )
        for i in range(n)
    ]


async def main(config: dict[str, Any]) -> dict[str, Any]:
    retry = RetryPolicy(max_retries=2, backoff_base=0.01, backoff_max=0.05)
    async with MsgFlashClient(
        config["api_key"], base_url=config["base_url"], rate_limit=config["rate"], max_retries=retry
    ) as client:
        messages = inputs(config["instance_id"], config["n"])
        if config.get("mode", "wire") == "ahead":
            sender = BatchSender(
                client.messages.send, concurrency=config["concurrency"], journal=config["journal"]
            )
            stream = sender.stream(messages)
        else:
            options = {k: config[k] for k in ("reconcile", "settle_after") if k in config}
            stream = client.messages.send_many(
                messages,
                concurrency=config["concurrency"],
                journal=config["journal"],
                **options,
            )
        announced = False
        async with stream as outcomes:
            async for _ in outcomes:
                if not announced:
                    print("started", flush=True)
                    announced = True
        report = stream.report
    return {
        "counts": {status.value: n for status, n in report.counts.items()},
        "unknown": [u.index for u in report.unknown],
        "stop_reason": report.stop_reason,
    }


if __name__ == "__main__":
    summary = asyncio.run(main(json.loads(sys.argv[1])))
    print(json.dumps(summary), flush=True)
