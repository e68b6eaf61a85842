"""A webhook receiver in its own process, bare or with a bot behind it.

``python -m benchmarks._bot_server MODE [--cpu N]`` (MODE ``bare`` or ``bot``)
serves ``POST /hooks`` on a free loopback port and prints one JSON line:
``{"url": ..., "secret": ...}``. Each ``stats`` line read from stdin answers
one JSON line (resident set, events handled, what the bot keeps right now);
EOF stops the server.

``bare``: the receiver hands each event to a coroutine that only counts it.
``bot``: the receiver hands it to a :class:`Bot` whose router has the shape
of a small real bot (commands, a regex, exact texts, a state step, a nested
router for statuses, a fallback) and whose handlers only count; no reply is
sent, so what is measured is the routing, not the API.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
from typing import Any

from aiohttp import web

from msgflash_async import MsgFlashClient
from msgflash_async.bot import Bot, BotEvent, Router, command, regex, sender, step, text
from msgflash_async.webhooks import WebhookEvent, WebhookReceiver, aiohttp_webhook_handler

from ._common import current_rss_mb

SECRET = "whsec_benchmark_secret"


def build_router(counts: dict[str, int]) -> Router:
    async def count(event: BotEvent) -> None:
        counts["handled"] += 1

    router = Router("bench")
    router.message(command("start", "help"))(count)
    router.message(command("status"))(count)
    router.message(regex(r"^order\s+(\d+)$"))(count)
    router.message(text("hi", "hello", ignore_case=True))(count)
    router.message(sender("+10000000000") & ~text("stop"))(count)
    router.message(step("awaiting_order"))(count)
    statuses = Router("statuses")
    statuses.delivered()(count)
    statuses.read()(count)
    router.include(statuses)
    router.fallback(count)
    return router


async def serve(mode: str) -> None:
    counts = {"handled": 0}

    async def bare(event: WebhookEvent) -> None:
        counts["handled"] += 1

    # The client is never used (handlers send nothing): no key is needed.
    client = MsgFlashClient("msgf_live_" + "0" * 64, base_url="http://127.0.0.1:9")
    async with client, Bot(client, build_router(counts)) as bot:
        receiver = WebhookReceiver(SECRET, bot if mode == "bot" else bare)
        app = web.Application()
        app.router.add_post("/hooks", aiohttp_webhook_handler(receiver))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/hooks"
        print(json.dumps({"url": url, "secret": SECRET}), flush=True)
        loop = asyncio.get_running_loop()
        try:
            while line := await loop.run_in_executor(None, sys.stdin.readline):
                if line.strip() == "stats":
                    print(json.dumps(_stats(counts, bot)), flush=True)
        finally:
            await runner.cleanup()


def _stats(counts: dict[str, int], bot: Bot) -> dict[str, Any]:
    gc.collect()
    return {
        "rss_mb": round(current_rss_mb(), 2),
        "handled": counts["handled"],
        "active_senders": bot.active_senders,
        "pending": bot.pending,
        "waiting": bot.waiting,
        "states": len(bot.storage),  # type: ignore[arg-type]
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["bare", "bot"])
    parser.add_argument("--cpu", type=int, default=None)
    args = parser.parse_args()
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    asyncio.run(serve(args.mode))


if __name__ == "__main__":
    main()
