"""The demo's server-side campaign: one request for the whole group, followed live."""

from __future__ import annotations

import datetime as dt

import anyio

from .._client import MsgFlashClient
from ..models.campaigns import CampaignContent, CampaignStatus, Recipients
from ..testing import Emulator
from .progress import ProgressBar

__all__ = ["server_campaign"]

POLL = 0.2  # seconds; a real campaign is polled every 10 s or followed by webhook
RATE = 600  # messages a second the emulator enqueues (the real pace is the server's)


def say(text: str) -> None:
    print(text, flush=True)


async def server_campaign(client: MsgFlashClient, emu: Emulator, group_id: str) -> None:
    """Create a template campaign to ``group_id``, pause and resume it, stream its stats."""
    emu.settings.campaign_rate = RATE
    template = await client.templates.create(
        name="vip-night", type="text", body="Hi {{contact.firstName}}, VIP night is {{custom.day}}"
    )
    campaign = await client.campaigns.create(
        name="vip-night",
        instance_id=emu.instance_id,
        recipients=Recipients.group(group_id),
        content=CampaignContent.template(template.id, variables={"day": "Friday"}),
        schedule=dt.datetime.now(dt.timezone.utc),
    )
    planned = campaign.stats.planned
    say(f"\n8. Server-side campaign {campaign.id} to the group: {planned:,} messages, 1 request")
    if campaign.safety is not None:
        say(f"   safety: {campaign.safety.decision} {campaign.safety.message or ''}".rstrip())
    handle = client.campaigns.handle(campaign.id, poll_interval=POLL)
    bar = ProgressBar("campaign", planned)
    paused = False
    async for progress in handle.progress():
        stats = progress.stats
        bar.update(
            stats.settled,
            f"{progress.status} {progress.rate or 0:4.0f} msg/s "
            f"delivered={stats.delivered} read={stats.read} failed={stats.failed}",
        )
        if not paused and progress.percent >= 30:
            paused = True
            await pause_and_resume(client, campaign.id, bar)
    bar.close()
    done = await handle
    stats = done.stats
    polls = sum(1 for r in emu.requests if r.method == "GET" and campaign.id in r.path)
    say(
        f"   campaign {done.status}: planned={stats.planned} sent={stats.sent} "
        f"delivered={stats.delivered} read={stats.read} failed={stats.failed}"
    )
    say(f"   API requests: 1 POST + 2 (pause, resume) + {polls} GETs, not {planned:,} POSTs")


async def pause_and_resume(client: MsgFlashClient, campaign_id: str, bar: ProgressBar) -> None:
    paused = await client.campaigns.pause(campaign_id)
    await anyio.sleep(0.5)
    still = await client.campaigns.get(campaign_id)
    assert still.status is CampaignStatus.PAUSED
    bar.update(still.stats.settled, f"paused: queued stays at {still.stats.queued}")
    resumed = await client.campaigns.resume(campaign_id)
    advice = resumed.safety.decision if resumed.safety is not None else "none"
    bar.update(
        resumed.stats.settled,
        f"resumed after a pause at {paused.stats.queued} queued (safety: {advice})",
    )
