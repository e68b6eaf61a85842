"""The demo: a realistic flow against the embedded emulator, no account needed."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

import anyio

from .._batch_outcomes import BatchProgress, OutcomeStatus
from .._client import MsgFlashClient
from .._jobs import JobHandle
from ..models.messages import OutgoingMessage
from ..testing import Emulator
from .demo_campaign import server_campaign
from .progress import ProgressBar
from .receiver import WebhookInbox

__all__ = ["run_demo"]

CONTACTS = 2_500
DELETED = 150
CAMPAIGN = 1_000
POLL = 0.2  # the documented 2 s is for real servers; the emulator's jobs are quick


def say(text: str) -> None:
    print(text, flush=True)


async def run_demo() -> None:
    started = time.perf_counter()
    # The emulator enforces 10 req/s by default like the real API; the demo
    # lifts it (and the client's limiter) so 2,500 creates take seconds.
    async with Emulator(rate_limit=None, job_rate=1_000, message_step=0.3) as emu:
        say(f"MsgFlash emulator listening on {emu.base_url}")
        async with (
            MsgFlashClient(emu.api_key, base_url=emu.base_url, rate_limit=None) as client,
            WebhookInbox() as inbox,
        ):
            ids = await create_contacts(client)
            group_id = await fill_group(client, ids)
            await stream_members(client, group_id)
            await delete_some(client, ids[:DELETED])
            await subscribe(client, inbox)
            reachable = await check_numbers(client, emu, CAMPAIGN)
            sent = await campaign(client, emu, ids[DELETED : DELETED + CAMPAIGN], reachable)
            await follow_statuses(client, inbox, sent)
            await server_campaign(client, emu, group_id)
            await summary(client, started)


async def create_contacts(client: MsgFlashClient) -> list[str]:
    say(f"\n1. Creating {CONTACTS:,} contacts (32 at a time)")
    bar = ProgressBar("contacts", CONTACTS)
    ids: list[str] = []
    limiter = anyio.CapacityLimiter(32)

    async def create(n: int) -> None:
        async with limiter:
            contact = await client.contacts.create(
                name=f"Customer {n:04d}", phone=phone(n), tags=["demo"]
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
    say(
        f"   added={result.added} already_in_group={result.already_in_group} "
        f"not_found={result.not_found}"
    )
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


async def subscribe(client: MsgFlashClient, inbox: WebhookInbox) -> None:
    events = ["message.sent", "message.delivered", "message.read", "message.failed"]
    endpoint = await client.webhooks.create(url=inbox.url, events=events)
    if endpoint.secret is not None:
        inbox.listen(endpoint.secret)
    say(f"\n5. Webhook endpoint {endpoint.id} registered for {inbox.url}")
    say(f"   signing secret (shown once, masked in reprs): {endpoint.secret!r}")


def phone(n: int) -> str:
    """The phone of the ``n``-th demo contact."""
    return f"+3361{n:07d}"


async def check_numbers(client: MsgFlashClient, emu: Emulator, count: int) -> set[str]:
    # Every 40th campaign number is "not on WhatsApp" in this emulator run.
    phones = [phone(DELETED + n) for n in range(count)]
    emu.settings.not_on_whatsapp.update(phones[::40])
    say(f"\n6. Checking {len(phones):,} numbers are on WhatsApp first (a lookup job)")
    lookup = client.number_lookups.create(emu.instance_id, phones, poll_interval=POLL)
    handle = await lookup.submit()
    bar = ProgressBar("checked", 100)
    async for progress in handle.progress():
        bar.update(
            progress.percent, f"{progress.checked} checked, {progress.on_whatsapp} on WhatsApp"
        )
    bar.close()
    result = await handle
    say(
        f"   on WhatsApp={result.on_whatsapp_count} not={result.not_on_whatsapp_count} "
        f"invalid={result.invalid_count}: sending only to the first"
    )
    return set(result.on_whatsapp)


async def campaign(
    client: MsgFlashClient, emu: Emulator, contact_ids: Sequence[str], reachable: set[str]
) -> list[str]:
    template = await client.templates.create(
        name="spring-promo",
        type="text",
        body="Hi {{contact.firstName}}, your code is {{custom.code}}",
    )
    say(
        f"\n7. Campaign: template {template.name!r} to {len(reachable):,} contacts "
        "through the batch sender"
    )
    bar = ProgressBar("sent", len(reachable))

    def show(progress: BatchProgress) -> None:
        bar.update(progress.done, f"{progress.rate:5.0f} req/s  rejected={progress.rejected}")

    def messages() -> Iterator[OutgoingMessage]:  # a generator: never held in memory
        for n, contact_id in enumerate(contact_ids):
            if phone(n + DELETED) not in reachable:
                continue  # not on WhatsApp: sending there risks the instance
            yield OutgoingMessage.template_message(
                instance_id=emu.instance_id,
                to=phone(n + DELETED),
                template_id=template.id,
                contact_id=contact_id,
                variables={"code": f"SPRING{n:04d}"},
            )

    accepted: list[str] = []
    async with client.messages.send_many(messages(), on_progress=show) as outcomes:
        async for outcome in outcomes:
            if outcome.status is OutcomeStatus.ACCEPTED and outcome.message_id:
                accepted.append(outcome.message_id)
    bar.close()
    report = outcomes.report
    counts = ", ".join(f"{status.value}={n}" for status, n in report.counts.items() if n)
    say(f"   report: {counts}; stopped: {report.stop_reason or 'no'}")
    return accepted


async def follow_statuses(client: MsgFlashClient, inbox: WebhookInbox, ids: list[str]) -> None:
    say("\n8. Following delivery by webhook (signed, verified, de-duplicated)")
    with anyio.move_on_after(20):
        for message_id in ids:
            await inbox.tracker.wait_for(message_id, "read")
    for message_id in ids[:3]:
        message = await client.messages.get(message_id)
        say(
            f"   {message.to}  webhook: {inbox.tracker.status_of(message_id)}  "
            f"API: {message.status}  {message.body!r}"
        )
    say(f"   {inbox.received} webhook deliveries: {inbox.summary()}")


async def summary(client: MsgFlashClient, started: float) -> None:
    first = await client.contacts.list(limit=1)
    groups = await client.groups.list()
    jobs = [job async for job in client.bulk_jobs.list()]
    say("\nSummary")
    say(f"   contacts left : {first.total:,}")
    say(f"   groups        : {', '.join(f'{g.name} ({g.contact_count})' for g in groups.items)}")
    say(f"   bulk jobs     : {', '.join(f'{j.operation}={j.status}' for j in jobs)}")
    say(f"   finished in {time.perf_counter() - started:.1f}s")
