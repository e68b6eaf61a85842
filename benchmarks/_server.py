"""The emulator in its own process, so the client's CPU is measured alone.

``python -m benchmarks._server --seed 100000 --latency 0.02 --rate-limit 0``
prints one JSON line (base_url, api_key, instance_id, a few contact ids),
then answers commands read from stdin, one JSON line each:

    stats            rate_limited, accepted count, first/last accept time,
                     max requests in any 1 s window, sent_count
    latency SECONDS  change the injected latency
    reset            forget the accepted-request log and the 429 count

It serves until stdin closes. ``--cpu N`` pins it to one core.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
from typing import Any

from msgflash_async.testing import Emulator


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._server")
    parser.add_argument("--seed", type=int, default=0, help="contacts to seed")
    parser.add_argument("--ids", type=int, default=1000, help="contact ids to print")
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--rate-limit", type=int, default=0, help="req/s; 0 = off")
    parser.add_argument("--cpu", type=int, default=None)
    parser.add_argument("--record", action="store_true", help="keep a log of every request")
    return parser.parse_args(argv)


def _stats(emu: Emulator) -> dict[str, Any]:
    state = emu.state
    times = [t for log in state.accepted.values() for t in log]
    times.sort()
    return {
        "rate_limited": emu.rate_limited_count,
        "accepted": len(times),
        "first": times[0] if times else None,
        "last": times[-1] if times else None,
        "max_in_1s": emu.max_requests_in_any_window(1.0),
        # After the first second's burst: the rate a long run settles at.
        "steady_rate": (len(times) - 10) / (times[-1] - times[9]) if len(times) > 20 else None,
        "sent_count": emu.sent_count,
        # With --record: when each 429 arrived, in seconds after the first accepted request.
        "rate_limited_at": [
            round(r.time - times[0], 4) for r in emu.requests if r.status == 429 and times
        ],
    }


def _command(emu: Emulator, line: str) -> dict[str, Any]:
    words = line.split()
    if not words:
        return {}
    if words[0] == "stats":
        return _stats(emu)
    if words[0] == "latency":
        emu.faults.latency = float(words[1])
        return {"latency": emu.faults.latency}
    if words[0] == "reset":
        emu.state.accepted.clear()
        emu.state.rate_limited = 0
        return {"reset": True}
    return {"error": f"unknown command {words[0]!r}"}


def _read_commands(loop: asyncio.AbstractEventLoop, emu: Emulator, done: asyncio.Event) -> None:
    # A thread reads stdin; each command runs on the loop, so it sees a consistent state.
    async def run(line: str) -> dict[str, Any]:
        return _command(emu, line)

    for line in sys.stdin:
        reply = asyncio.run_coroutine_threadsafe(run(line), loop).result()
        print(json.dumps(reply), flush=True)
    loop.call_soon_threadsafe(done.set)


async def _serve(args: argparse.Namespace) -> None:
    emu = Emulator(
        rate_limit=args.rate_limit or None,
        record_requests=args.record,
        message_step=3600.0,  # lifecycle steps never come due during a run: no server work
    )
    async with emu:
        ids = emu.seed_contacts(args.seed) if args.seed else []
        emu.faults.latency = args.latency
        hello = {
            "base_url": emu.base_url,
            "api_key": emu.api_key,
            "instance_id": emu.instance_id,
            "ids": ids[: args.ids],
        }
        print(json.dumps(hello), flush=True)
        done = asyncio.Event()
        loop = asyncio.get_running_loop()
        threading.Thread(target=_read_commands, args=(loop, emu, done), daemon=True).start()
        await done.wait()


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
