"""The demo: a realistic flow against the embedded emulator, no account needed."""

from __future__ import annotations

import time
from collections.abc import Sequence

import anyio

from .._client import MsgFlashClient
from .._jobs import JobHandle
from ..testing import Emulator
from .progress import ProgressBar

__all__ = ["run_demo"]

CONTACTS = 2_500
DELETED = 150
POLL = 0.2  # the documented 2 s is for real servers; the emulator's jobs are quick


def say(text: str) -> None:
    print(text, flush=True)


async def run_demo() -> None:
    started = time.perf_counter()
    # The emulator enforces 10 req/s by default like the real API; the demo
    # lifts it (and the client's limiter) so 2,500 creates take seconds.
    async with Emulator(rate_limit=None, job_rate=1_000) as emu:
        say(f"MsgFlash emulator listening on {emu.base_url}")
        async with MsgFlashClient(emu.api_key, base_url=emu.base_url, rate_limit=None) as client:
            ids = await create_contacts(client)
            group_id = await fill_group(client, ids)
            await stream_members(client, group_id)
            await delete_some(client, ids[:DELETED])
            await summary(client, started)


async def create_contacts(client: MsgFlashClient) -> list[str]:
    say(f"\n1. Creating {CONTACTS:,} contacts (32 at a time)")
    bar = ProgressBar("contacts", CONTACTS)
    ids: list[str] = []
    limiter = anyio.CapacityLimiter(32)

    async def create(n: int) -> None:
        async with limiter:
            contact = await client.contacts.create(
                name=f"Customer {n:04d}", phone=f"+3361{n:07d}", tags=["demo"]
            )
        ids.append(contact.id)
        bar.update(len(ids))

    async with anyio.create_task_group() as tg:
        for n in range(CONTACTS):
            tg.start_soon(create, n)
    bar.close()
    return ids


async def fill_group(client: MsgFlashClient, ids: Sequence[str]) -> str:
    group = await client.groups.create(
        name="VIP customers", description="everyone from the demo", color="#25D366"
    )
    say(f"\n2. Created group {group.name!r}; adding {len(ids):,} members (a background job)")
    handle = await client.groups.add_members(group.id, ids, poll_interval=POLL).submit()
    say(f"   job {handle.job_id} accepted")
    await follow(handle, "added")
    result = await handle
    say(f"   added={result.added} already_in_group={result.already_in_group} "
        f"not_found={result.not_found}")
    return group.id


async def follow(handle: JobHandle[object], label: str) -> None:
    bar = ProgressBar(label, 100)
    async for progress in handle.progress():
        bar.update(progress.percent, f"{progress.processed}/{progress.requested} ids")
    bar.close()


async def stream_members(client: MsgFlashClient, group_id: str) -> None:
    say("\n3. Streaming members whose name matches 'Customer 12' (page by page)")
    found = 0
    async for contact in client.groups.list_members(group_id, search="Customer 12"):
        if found < 3:
            say(f"   {contact.name:<16} {contact.phone}")
        found += 1
    say(f"   ... {found} members matched")


async def delete_some(client: MsgFlashClient, ids: Sequence[str]) -> None:
    say(f"\n4. Bulk-deleting {len(ids)} contacts (100 or more: a background job)")
    handle = await client.contacts.bulk_delete(ids, poll_interval=POLL).submit()
    await follow(handle, "deleted")
    result = await handle
    say(f"   deleted={result.deleted} not_found={result.not_found}")


async def summary(client: MsgFlashClient, started: float) -> None:
    first = await client.contacts.list(limit=1)
    groups = await client.groups.list()
    jobs = [job async for job in client.bulk_jobs.list()]
    say("\nSummary")
    say(f"   contacts left : {first.total:,}")
    say(f"   groups        : {', '.join(f'{g.name} ({g.contact_count})' for g in groups.items)}")
    say(f"   bulk jobs     : {', '.join(f'{j.operation}={j.status}' for j in jobs)}")
    say(f"   finished in {time.perf_counter() - started:.1f}s")
