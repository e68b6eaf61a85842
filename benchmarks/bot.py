"""Bots: routed inbound events per second against the bare receiver; memory with many senders.

``bot-throughput``: a receiver in its own process (pinned to the server
core), once bare (its ``on_event`` only counts) and once with a :class:`Bot`
whose router has the shape of a small real bot (see ``benchmarks._bot_server``).
This process posts 20,000 signed ``message.received`` deliveries (``--quick``:
4,000) at concurrency 32, from 2,000 distinct senders, mixing texts that hit
every handler and the fallback. Both sides are driven the same way; the
order alternates over 3 repetitions; the figure is the median of the paired
bot/bare throughput ratios. Target: >= 0.8x.

``bot-rss``: the bot's process resident set after a warm-up, after 10,000
distinct senders (one message each), and after 10,000 more new senders
(``--quick``: 2,000 each), bare and bot. Target: flat, i.e. the second 10,000
senders add no more than 2 MB to what the first added; the bot keeps no
per-sender entry once their events are handled (``active_senders`` 0).
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import anyio

from msgflash_async.webhooks import sign

from ._common import SERVER_CPU, _root, can_pin, log, median, ratio

CONCURRENCY = 32
TEXTS = ("/start", "/status 12", "order 42", "hello", "where is my parcel?", "thanks", "stop")


class Receiver:
    """``benchmarks._bot_server MODE`` as a child process."""

    def __init__(self, mode: str) -> None:
        cmd = [sys.executable, "-m", "benchmarks._bot_server", mode]
        if can_pin():
            cmd += ["--cpu", str(SERVER_CPU)]
        self._proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=_root()
        )
        info = self._reply()
        self.url, self.secret = str(info["url"]), str(info["secret"])

    def _reply(self) -> dict[str, Any]:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError("the receiver process exited early")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def stats(self) -> dict[str, Any]:
        assert self._proc.stdin is not None
        self._proc.stdin.write("stats\n")
        self._proc.stdin.flush()
        return self._reply()

    def close(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


def bodies(count: int, senders: int, first_sender: int = 0) -> Iterator[bytes]:
    """``count`` signed-to-be bodies from ``senders`` numbers, each message id new."""
    ids = itertools.count()
    for n in range(count):
        payload = {
            "event": "message.received",
            "instanceId": "inst_bench",
            "messageId": f"in_{os.getpid()}_{first_sender}_{next(ids)}",
            "from": f"+2299{first_sender + n % senders:07d}",
            "body": TEXTS[n % len(TEXTS)],
            "type": "text",
            "status": "received",
        }
        yield json.dumps(payload).encode()


async def post_all(receiver: Receiver, payloads: Iterator[bytes]) -> int:
    """Post every body with CONCURRENCY workers; the number answered 200."""
    ok = 0
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal ok
            for body in payloads:
                headers = {"X-MsgFlash-Signature": sign(body, receiver.secret)}
                async with session.post(receiver.url, data=body, headers=headers) as resp:
                    await resp.read()
                    ok += resp.status == 200

        async with anyio.create_task_group() as tg:
            for _ in range(CONCURRENCY):
                tg.start_soon(worker)
    return ok


async def _rate(mode: str, count: int) -> float:
    receiver = Receiver(mode)
    try:
        await post_all(receiver, bodies(500, 100, first_sender=9_000_000))  # warm up
        started = time.perf_counter()
        ok = await post_all(receiver, bodies(count, 2_000))
        elapsed = time.perf_counter() - started
        if ok != count:
            raise RuntimeError(f"{mode}: only {ok} of {count} deliveries answered 200")
        return count / elapsed
    finally:
        receiver.close()


async def run_throughput(quick: bool) -> dict[str, Any]:
    count = 4_000 if quick else 20_000
    rates: dict[str, list[float]] = {"bare": [], "bot": []}
    for rep in range(3):
        for mode in ("bare", "bot") if rep % 2 == 0 else ("bot", "bare"):
            rates[mode].append(await _rate(mode, count))
            log(f"  bot-throughput rep {rep + 1} {mode}: {rates[mode][-1]:.0f} events/s")
    ratios = [ratio(b, a) for a, b in zip(rates["bare"], rates["bot"], strict=True)]
    figure = median(ratios)
    return {
        "events": count,
        "concurrency": CONCURRENCY,
        "senders": 2_000,
        "bare_events_per_s": [round(r) for r in rates["bare"]],
        "bot_events_per_s": [round(r) for r in rates["bot"]],
        "ratios": [round(r, 3) for r in ratios],
        "bot_over_bare": round(figure, 3),
        "target": ">= 0.8",
        "target_met": figure >= 0.8,
    }


async def _rss(mode: str, senders: int) -> dict[str, Any]:
    receiver = Receiver(mode)
    try:
        await post_all(receiver, bodies(2_000, 200, first_sender=9_000_000))
        warm = receiver.stats()
        await post_all(receiver, bodies(senders, senders, first_sender=0))
        first = receiver.stats()
        await post_all(receiver, bodies(senders, senders, first_sender=senders))
        second = receiver.stats()
    finally:
        receiver.close()
    return {"warm": warm, "after_first": first, "after_second": second}


async def run_rss(quick: bool) -> dict[str, Any]:
    senders = 2_000 if quick else 10_000
    results = {mode: await _rss(mode, senders) for mode in ("bare", "bot")}
    growth = {}
    for mode, r in results.items():
        first = r["after_first"]["rss_mb"] - r["warm"]["rss_mb"]
        second = r["after_second"]["rss_mb"] - r["after_first"]["rss_mb"]
        growth[mode] = {"first_mb": round(first, 2), "second_mb": round(second, 2)}
        log(f"  bot-rss {mode}: +{first:.2f} MB, then +{second:.2f} MB")
    bot = results["bot"]["after_second"]
    flat = growth["bot"]["second_mb"] - growth["bot"]["first_mb"] <= 2.0
    return {
        "senders_per_step": senders,
        "runs": results,
        "growth": growth,
        "bot_kept_after": {k: bot[k] for k in ("active_senders", "pending", "waiting", "states")},
        "target": "flat: the second batch of new senders adds <= 2 MB more than the first",
        "target_met": flat and bot["active_senders"] == 0,
    }
