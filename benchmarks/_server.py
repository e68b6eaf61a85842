"""The emulator in its own process, so the client's CPU is measured alone.

``python -m benchmarks._server --seed 100000 --latency 0.02 --rate-limit 0``
prints one JSON line (base_url, api_key, instance_id, a few contact ids),
then answers commands read from stdin, one JSON line each:

    stats            rate_limited, accepted count, first/last accept time, most
                     arrivals (429s included, with --record) in any 1 s window,
                     max requests in any 1 s window, sent_count
    latency SECONDS  change the injected latency
    reset            forget the accepted-request log, the request record and the 429 count
    faults RATE SEED inject random faults into RATE of all requests (seeded:
                     a failing soak replays exactly): the emulator's defaults
                     (500, HTML 502, 503, 429, drop before the handler) plus
                     a drop after the handler ran and a truncated body;
                     ``faults off`` stops them
    soak             requests received, faults injected (by kind), emulator errors
    sends            every accepted send as [id, to], and duplicate recipients
    contacts PREFIX  [id, phone] of every contact whose phone starts with PREFIX

It serves until stdin closes. ``--cpu N`` pins it to one core; ``--groups N``
seeds N empty groups (their ids in the first line), ``--job-rate`` and
``--job-start-delay`` set the pace of bulk jobs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
from collections import Counter
from typing import Any

import attrs
from aiohttp import web

from msgflash_async.testing import Emulator
from msgflash_async.testing._faults import DEFAULT_RANDOM_FAULTS, Fault, Faults

# What the soak injects: the emulator's defaults, plus the two faults after
# which the request WAS processed but the client gets no usable answer.
SOAK_FAULTS: tuple[Fault, ...] = (
    *DEFAULT_RANDOM_FAULTS,
    Fault.drop(after_handler=True),
    Fault.truncate(),
)


@attrs.define
class _CountingFaults(Faults):
    """The emulator's random faults, counted by kind for the soak report."""

    kinds: Counter[str] = attrs.field(factory=Counter)

    def _take_random(self, path: str) -> Fault | None:
        fault = Faults._take_random(self, path)
        if fault is not None:
            self.kinds[_fault_label(fault)] += 1
        return fault


def _fault_label(fault: Fault) -> str:
    if fault.kind == "error":
        return f"error_{fault.status}"
    if fault.kind == "drop":
        return "drop_after_handler" if fault.after_handler else "drop_before_handler"
    return fault.kind


_received: Counter[str] = Counter()


@web.middleware
async def _count_requests(request: web.Request, handler: Any) -> web.StreamResponse:
    # Outermost: every request that reached the server, faults included.
    _received["requests"] += 1
    response: web.StreamResponse = await handler(request)
    return response


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._server")
    parser.add_argument("--seed", type=int, default=0, help="contacts to seed")
    parser.add_argument("--ids", type=int, default=1000, help="contact ids to print")
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--rate-limit", type=int, default=0, help="req/s; 0 = off")
    parser.add_argument("--cpu", type=int, default=None)
    parser.add_argument("--record", action="store_true", help="keep a log of every request")
    parser.add_argument("--groups", type=int, default=0, help="empty groups to seed")
    parser.add_argument("--job-rate", type=float, default=1000.0, help="bulk job items/s")
    parser.add_argument("--job-start-delay", type=float, default=0.05, help="seconds pending")
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
        # With --record: the most requests (429s included) arriving in any 1 s.
        "max_arrivals_in_1s": _max_in_window(sorted(r.time for r in emu.requests), 1.0),
        # With --record: when each 429 arrived, in seconds after the first accepted request.
        "rate_limited_at": [
            round(r.time - times[0], 4) for r in emu.requests if r.status == 429 and times
        ],
    }


def _max_in_window(times: list[float], window: float) -> int:
    best = start = 0
    for end, at in enumerate(times):
        while at - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


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
        emu.state.requests.clear()
        emu.state.rate_limited = 0
        return {"reset": True}
    if words[0] in _SOAK_COMMANDS:
        return _SOAK_COMMANDS[words[0]](emu, words[1:])
    return {"error": f"unknown command {words[0]!r}"}


def _faults(emu: Emulator, args: list[str]) -> dict[str, Any]:
    if args[0] == "off":
        emu.faults.clear()
        return {"faults": "off"}
    latency = emu.faults.latency
    faults = _CountingFaults(latency=latency)
    faults.randomize(float(args[0]), seed=int(args[1]), choices=SOAK_FAULTS)
    emu.state.faults = faults  # the middleware reads state.faults on every request
    return {"faults": float(args[0]), "seed": int(args[1]), "choices": len(SOAK_FAULTS)}


def _soak(emu: Emulator, _: list[str]) -> dict[str, Any]:
    faults = emu.faults
    kinds = faults.kinds if isinstance(faults, _CountingFaults) else Counter()
    return {
        "requests": _received["requests"],
        "faults_injected": faults.injected,
        "faults_by_kind": dict(sorted(kinds.items())),
        "server_errors": [repr(e) for e in emu.server_errors[:20]],
        "server_error_count": len(emu.server_errors),
    }


def _sends(emu: Emulator, _: list[str]) -> dict[str, Any]:
    # Straight from state.outbound: emu.sent_messages builds a dict per message.
    sent = [[m.id, m.to] for m in emu.state.outbound]
    return {"sent": sent, "duplicate_recipients": emu.duplicate_recipients()}


def _contacts(emu: Emulator, args: list[str]) -> dict[str, Any]:
    prefix = args[0] if args else "+"
    by_phone = emu.state.personal.contacts.by_phone
    return {
        "contacts": [[cid, phone] for phone, cid in by_phone.items() if phone.startswith(prefix)]
    }


_SOAK_COMMANDS = {"faults": _faults, "soak": _soak, "sends": _sends, "contacts": _contacts}


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
        job_rate=args.job_rate,
        job_start_delay=args.job_start_delay,
    )
    emu.app.middlewares.insert(0, _count_requests)  # before start: frozen after
    async with emu:
        ids = emu.seed_contacts(args.seed) if args.seed else []
        groups = [emu.seed_group(f"soak {i}") for i in range(args.groups)]
        emu.faults.latency = args.latency
        hello = {
            "base_url": emu.base_url,
            "api_key": emu.api_key,
            "instance_id": emu.instance_id,
            "ids": ids[: args.ids],
            "groups": groups,
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
