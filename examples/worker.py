"""A worker that sends a campaign of many messages and can be re-run safely.

It reads recipients lazily (here, generated; in real life a CSV or a database
cursor), sends them through ``send_many`` under the client's 10 req/s limiter,
prints a progress line, and keeps a journal: if the process is killed or the
monthly quota runs out, running it again sends only what was not accepted,
and lists the sends whose outcome is unknown instead of sending them twice.

    export MSGFLASH_API_KEY=msgf_live_...  MSGFLASH_INSTANCE_ID=...
    python examples/worker.py campaign.journal 50000

With no key set, it runs against an in-process emulator whose instance id is
fixed (the journal refuses inputs that differ from the ones it recorded, and
the instance id is part of each message). So a resume shows offline: run it
twice on one journal, and the second run skips what the first accepted. The
third argument runs it several times in one process:

    python examples/worker.py demo.journal 30
    python examples/worker.py demo.journal 30      # all skipped
    python examples/worker.py demo2.journal 30 2   # the same, in one process
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator

from msgflash_async import BatchProgress, MsgFlashClient, OutcomeStatus, OutgoingMessage
from msgflash_async.testing import Emulator

DEMO_INSTANCE_ID = "00000000-0000-4000-8000-000000000001"


def recipients(count: int) -> Iterator[str]:
    for n in range(count):
        yield f"+3361{n:07d}"


def outgoing(instance_id: str, count: int) -> Iterator[tuple[str, OutgoingMessage]]:
    # (key, message) pairs: the key comes back with each outcome.
    for to in recipients(count):
        yield (
            to,
            OutgoingMessage.text_message(
                instance_id=instance_id, to=to, text="Spring sale: -20% today"
            ),
        )


def show(progress: BatchProgress) -> None:
    print(
        f"\r{progress.done} done, {progress.accepted} accepted, {progress.rejected} rejected, "
        f"{progress.unknown} unknown, {progress.rate:.1f}/s",
        end="",
        flush=True,
    )


async def run(client: MsgFlashClient, instance_id: str, journal: str, count: int) -> int:
    batch = client.messages.send_many(
        outgoing(instance_id, count), concurrency=16, journal=journal, on_progress=show
    )
    report = await batch
    print()
    print({status.value: n for status, n in report.counts.items() if n})
    for item in report.unknown:  # reconcile these with client.messages.list()
        print("outcome unknown, not re-sent:", item.key, item.reason)
    if report.stop_reason:
        print("stopped early:", report.stop_reason, "- run again to send the rest")
    return 0 if report.counts[OutcomeStatus.UNKNOWN] == 0 and report.complete else 1


async def run_times(
    client: MsgFlashClient, instance_id: str, journal: str, count: int, runs: int
) -> int:
    # Each run is what a restarted process does: same inputs, same journal.
    code = 0
    for number in range(1, runs + 1):
        if runs > 1:
            print(f"run {number} of {runs}")
        code = await run(client, instance_id, journal, count)
    return code


async def main(journal: str, count: int, runs: int = 1) -> int:
    if os.environ.get("MSGFLASH_API_KEY"):
        async with MsgFlashClient() as client:
            instance_id = os.environ["MSGFLASH_INSTANCE_ID"]
            return await run_times(client, instance_id, journal, count, runs)
    # A fixed instance id: this process's inputs match those of an earlier one.
    async with (
        Emulator(instance_id=DEMO_INSTANCE_ID) as emu,
        MsgFlashClient(emu.api_key, base_url=emu.base_url) as client,
    ):
        return await run_times(client, emu.instance_id, journal, count, runs)


if __name__ == "__main__":
    journal_path = sys.argv[1] if len(sys.argv) > 1 else "campaign.journal"
    total = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    raise SystemExit(asyncio.run(main(journal_path, total, repeat)))
