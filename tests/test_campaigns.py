"""client.campaigns against the emulator: create in both modes, get, pause, resume, handles."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from aiohttp import web
from servers import serve_handler

from msgflash_async import (
    Button,
    Campaign,
    CampaignContent,
    CampaignRepeat,
    CampaignStateError,
    CampaignStatus,
    ConnectionLostError,
    FeatureNotAvailableError,
    InsufficientQuotaError,
    MessageStatus,
    MsgFlashClient,
    NotFoundError,
    QuotaExceededError,
    Recipients,
    SafetyDecision,
    ServerValidationError,
    ValidationError,
)
from msgflash_async.testing import Emulator, Fault
from msgflash_async.webhooks import verify_signature

pytestmark = pytest.mark.anyio

Pair = tuple[Emulator, MsgFlashClient]
NOW = dt.datetime.now(dt.timezone.utc)
POLL = 0.02


@pytest.fixture
async def live() -> AsyncIterator[Pair]:
    async with (
        Emulator(rate_limit=None, message_step=0.005, campaign_rate=2000) as emu,
        MsgFlashClient(emu.api_key, base_url=emu.base_url, rate_limit=None) as client,
    ):
        yield emu, client


def _bodies(emu: Emulator) -> list[Any]:
    return [r.json for r in emu.requests if r.method == "POST" and r.path == "/api/v1/campaigns"]


async def _create(client: MsgFlashClient, emu: Emulator, **options: Any) -> Campaign:
    arguments: dict[str, Any] = {
        "name": "spring",
        "instance_id": emu.instance_id,
        "recipients": Recipients.all_contacts(),
        "content": CampaignContent.text("Hello"),
        "schedule": NOW,
        **options,
    }
    return await client.campaigns.create(**arguments)


async def test_template_campaign_runs_to_completion_and_fires_webhooks(live: Pair) -> None:
    emu, client = live
    vip = emu.seed_contacts(12, tags=["vip"])
    emu.seed_contacts(5, tags=["other"])
    template = await client.templates.create(
        name="promo", type="text", body="Hi {{contact.firstName}}, code {{custom.code}}"
    )
    campaign = await _create(
        client,
        emu,
        recipients=Recipients.tags(["vip"]),
        content=CampaignContent.template(template.id, variables={"code": "SPRING"}),
        schedule=dt.datetime.now(dt.timezone(dt.timedelta(hours=2))),
        repeat="none",
    )
    assert _bodies(emu) == [
        {
            "instanceId": emu.instance_id,
            "name": "spring",
            "schedule": _bodies(emu)[0]["schedule"],
            "recipients": {"type": "tags", "value": ["vip"]},
            "templateId": template.id,
            "variables": {"code": "SPRING"},
        }
    ]
    assert _bodies(emu)[0]["schedule"].endswith("Z")  # sent as UTC
    assert campaign.status is CampaignStatus.SCHEDULED and campaign.mode == "template"
    assert campaign.repeat is CampaignRepeat.NONE  # the emulator answers "noe", like the docs
    assert campaign.stats.planned == 12 and campaign.template_variables == {"code": "SPRING"}
    assert campaign.safety is not None and campaign.safety.decision is SafetyDecision.ALLOW

    done = await client.campaigns.handle(campaign.id, poll_interval=POLL).wait(timeout=30)
    assert done.status is CampaignStatus.COMPLETED
    stats = done.stats
    assert (stats.planned, stats.queued, stats.sent, stats.failed) == (12, 12, 12, 0)
    assert stats.completed_at is not None and stats.processing_started_at is not None
    sent = [m for m in emu.sent_messages if m["id"] in _campaign_message_ids(emu, campaign.id)]
    assert sorted(emu.workspace().contacts.by_id[i].phone for i in vip) == sorted(
        m["to"] for m in sent
    )
    assert all(m["body"].startswith("Hi ") and m["body"].endswith("code SPRING") for m in sent)
    assert not emu.duplicate_recipients()
    await emu.webhooks.wait_idle()
    sent_events = {p["messageId"] for p in emu.events.payloads("message.sent")}
    assert sent_events == {m["id"] for m in sent}
    one = await client.messages.get(sent[0]["id"])
    assert one.campaign_id == campaign.id and one.status is not MessageStatus.QUEUED


def _campaign_message_ids(emu: Emulator, campaign_id: str) -> set[str]:
    return {m.id for m in emu.workspace().messages.rows if m.campaign_id == campaign_id}


@pytest.mark.parametrize(
    ("content", "wire"),
    [
        (CampaignContent.text("Hello"), {"type": "text", "body": "Hello"}),
        (
            CampaignContent.image("https://e.com/a.jpg", caption="New"),
            {"type": "image", "mediaUrl": "https://e.com/a.jpg", "body": "New"},
        ),
        (
            CampaignContent.video("https://e.com/a.mp4"),
            {"type": "video", "mediaUrl": "https://e.com/a.mp4"},
        ),
        (
            CampaignContent.audio("https://e.com/a.mp3"),
            {"type": "audio", "mediaUrl": "https://e.com/a.mp3"},
        ),
        (
            CampaignContent.document("https://e.com/a.pdf", caption="Menu"),
            {"type": "document", "mediaUrl": "https://e.com/a.pdf", "body": "Menu"},
        ),
        (
            CampaignContent.voice_note("https://e.com/a.ogg"),
            {"type": "voice_note", "mediaUrl": "https://e.com/a.ogg"},
        ),
        (
            CampaignContent.buttons_message(
                title="Order",
                description="Confirm?",
                buttons=[Button.reply("Yes", id="y"), Button.link("Track", "https://e.com")],
                footer="Shop",
            ),
            {
                "type": "buttons",
                "title": "Order",
                "description": "Confirm?",
                "footer": "Shop",
                "buttons": [
                    {"type": "reply", "displayText": "Yes", "id": "y"},
                    {"type": "url", "displayText": "Track", "url": "https://e.com"},
                ],
            },
        ),
    ],
)
async def test_every_direct_type_is_accepted(
    live: Pair, content: CampaignContent, wire: dict[str, Any]
) -> None:
    emu, client = live
    emu.seed_contacts(2)
    campaign = await _create(client, emu, content=content, repeat=CampaignRepeat.WEEKLY)
    (body,) = _bodies(emu)
    assert {k: v for k, v in body.items() if k in wire} == wire
    assert body["repeat"] == "weekly" and body["recipients"] == {"type": "all"}
    assert campaign.mode == "direct" and campaign.type is not None
    assert campaign.type.value == wire["type"] and campaign.repeat is CampaignRepeat.WEEKLY
    done = await client.campaigns.handle(campaign, poll_interval=POLL).wait(timeout=30)
    assert done.stats.sent == 2


async def test_explicit_and_group_audiences(live: Pair) -> None:
    emu, client = live
    ids = emu.seed_contacts(6)
    group_id = emu.seed_group("VIP", contact_ids=ids[:4])
    explicit = await _create(client, emu, recipients=Recipients.contacts([ids[5], ids[0]]))
    group = await _create(client, emu, recipients=Recipients.group(group_id))
    assert _bodies(emu)[0]["recipients"] == {"type": "explicit", "value": [ids[5], ids[0]]}
    assert _bodies(emu)[1]["recipients"] == {"type": "group", "groupId": group_id}
    assert group.recipients == Recipients.group(group_id)
    assert (explicit.stats.planned, group.stats.planned) == (2, 4)
    for campaign, expected in ((explicit, 2), (group, 4)):
        done = await client.campaigns.handle(campaign.id, poll_interval=POLL)
        assert done.stats.sent == expected


async def test_pause_stops_enqueueing_and_resume_finishes(live: Pair) -> None:
    emu, client = live
    emu.settings.campaign_rate = 20  # one message every 50 ms
    emu.settings.campaign_warn_above = 5
    emu.seed_contacts(12)
    campaign = await _create(client, emu)
    assert campaign.safety is not None and campaign.safety.is_warning
    handle = client.campaigns.handle(campaign.id, poll_interval=POLL)
    with anyio.fail_after(10):
        for _ in range(10_000):  # until a couple were enqueued
            if (await handle.refresh()).stats.queued >= 2:
                break
            await anyio.sleep(POLL)
    paused = await client.campaigns.pause(campaign.id)
    assert paused.status is CampaignStatus.PAUSED
    frozen = (await client.campaigns.get(campaign.id)).stats.queued
    await anyio.sleep(0.3)  # six ticks' worth: nothing more is enqueued
    after = await client.campaigns.get(campaign.id)
    assert after.stats.queued == frozen < 12 and after.status is CampaignStatus.PAUSED
    with pytest.raises(CampaignStateError) as again:
        await client.campaigns.pause(campaign.id)
    assert (again.value.status, again.value.code) == (400, "BAD_REQUEST")

    emu.settings.campaign_rate = 2000
    resumed = await client.campaigns.resume(campaign.id)
    assert resumed.status is CampaignStatus.RUNNING
    assert resumed.safety is not None and resumed.safety.is_warning
    assert resumed.safety.message and resumed.safety.raw["decision"] == "warn"
    with pytest.raises(CampaignStateError):
        await client.campaigns.resume(campaign.id)  # running: not resumable
    done = await handle.wait(timeout=30)
    assert done.stats.queued == done.stats.sent == 12
    with pytest.raises(CampaignStateError):
        await client.campaigns.pause(campaign.id)  # completed: not pausable
    assert not emu.duplicate_recipients()


async def test_a_paused_scheduled_campaign_waits_for_resume(live: Pair) -> None:
    emu, client = live
    emu.seed_contacts(3)
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    campaign = await _create(client, emu, schedule=later)
    assert (await client.campaigns.pause(campaign.id)).status is CampaignStatus.PAUSED
    handle = client.campaigns.handle(campaign.id, poll_interval=POLL)
    with pytest.raises(TimeoutError):
        await handle.wait(timeout=0.1)
    assert (await client.campaigns.resume(campaign.id)).status is CampaignStatus.SCHEDULED
    assert handle.campaign is not None and not handle.done and emu.sent_count == 0


async def test_plan_without_campaigns_is_a_typed_403(live: Pair) -> None:
    emu, client = live
    emu.seed_contacts(1)
    created = await _create(client, emu)
    emu.settings.features.discard("campaigns")
    with pytest.raises(FeatureNotAvailableError) as info:
        await _create(client, emu)
    assert (info.value.status, info.value.code) == (403, "CAMPAIGNS_NOT_AVAILABLE_ON_PLAN")
    assert info.value.feature == "campaigns"
    with pytest.raises(FeatureNotAvailableError):
        await client.campaigns.get(created.id)
    assert len(_bodies(emu)) == 2 and len(emu.workspace().campaigns) == 1


async def test_outbound_quota_refuses_creation_and_fails_the_rest(live: Pair) -> None:
    emu, client = live
    emu.seed_contacts(5)
    emu.settings.monthly_outbound_quota = 3
    campaign = await _create(client, emu)
    done = await client.campaigns.handle(campaign.id, poll_interval=POLL).wait(timeout=30)
    assert (done.stats.sent, done.stats.failed, emu.outbound_count) == (3, 2, 3)
    failed = [m for m in emu.workspace().messages.rows if m.status == "failed"]
    assert {m.error["code"] for m in failed if m.error} == {"MONTHLY_OUTBOUND_QUOTA_EXCEEDED"}
    with pytest.raises(QuotaExceededError) as info:
        await _create(client, emu)
    assert (info.value.status, info.value.code) == (429, "MONTHLY_OUTBOUND_QUOTA_EXCEEDED")
    assert len(emu.workspace().campaigns) == 1


async def test_not_found_errors(live: Pair) -> None:
    emu, client = live
    for call in (
        client.campaigns.get("missing"),
        client.campaigns.pause("missing"),
        client.campaigns.resume("missing"),
        _create(client, emu, instance_id="missing"),
        _create(client, emu, content=CampaignContent.template("missing")),
        _create(client, emu, recipients=Recipients.group("missing")),
    ):
        with pytest.raises(NotFoundError):
            await call
    assert not emu.workspace().campaigns


async def test_server_validation_errors_are_typed(live: Pair) -> None:
    emu, client = live
    body = {
        "instanceId": emu.instance_id,
        "name": "x",
        "schedule": "2026-04-01T10:00:00.000Z",
        "recipients": {"type": "tags", "value": []},
        "type": "location",
        "templateId": None,
        "repeat": "hourly",
    }
    with pytest.raises(ServerValidationError) as info:
        await client.campaigns._call("POST", "/api/v1/campaigns", json=body)
    fields = {d["field"] for d in info.value.details}
    assert fields == {"recipients.value", "type", "repeat"}
    empty = {k: v for k, v in body.items() if k not in ("type", "templateId", "repeat")}
    empty["recipients"] = {"type": "group"}
    with pytest.raises(ServerValidationError) as neither:
        await client.campaigns._call("POST", "/api/v1/campaigns", json=empty)
    assert {d["field"] for d in neither.value.details} == {"recipients.groupId", "type"}


async def test_handle_streams_stats_with_a_rate(live: Pair) -> None:
    emu, client = live
    emu.settings.campaign_rate = 100
    emu.seed_contacts(20)
    campaign = await _create(client, emu)
    handle = client.campaigns.handle(campaign.id, poll_interval=POLL)
    seen = [p async for p in handle.progress()]
    assert seen[-1].finished and seen[-1].status is CampaignStatus.COMPLETED
    assert not any(p.finished for p in seen[:-1])
    settled = [p.stats.settled for p in seen]
    assert settled == sorted(settled) and settled[-1] == 20 and seen[-1].percent == 100
    assert any(p.rate for p in seen[1:])
    assert all(p.rate is None or p.rate >= 0 for p in seen)
    assert (await handle).id == campaign.id  # already over: no wait


async def test_handle_is_cancel_safe_and_rebuilt_from_the_id(live: Pair) -> None:
    emu, client = live
    emu.settings.campaign_rate = 50
    emu.seed_contacts(10)
    campaign = await _create(client, emu)
    handle = client.campaigns.handle(campaign.id, poll_interval=POLL)
    with anyio.move_on_after(0.05) as scope:
        await handle
    assert scope.cancelled_caught and not handle.done
    with pytest.raises(TimeoutError):
        await handle.wait(timeout=0.01)
    # Another process knows only the id: a fresh client, a fresh handle.
    async with MsgFlashClient(emu.api_key, base_url=emu.base_url, rate_limit=None) as other:
        rebuilt = other.campaigns.handle(campaign.id, poll_interval=POLL)
        finished = await rebuilt.wait(timeout=30)
    assert finished.status is CampaignStatus.COMPLETED and finished.stats.sent == 10
    again = await handle.wait(timeout=30)  # the interrupted handle still works
    assert again.status is CampaignStatus.COMPLETED and again.stats.sent == 10
    assert not emu.duplicate_recipients() and emu.sent_count == 10


async def test_campaign_messages_are_delivered_as_signed_webhooks(live: Pair) -> None:
    emu, client = live
    emu.webhooks.settings.max_attempts = 1
    emu.seed_contacts(3, tags=["vip"])
    received: list[tuple[bytes, dict[str, str]]] = []

    async def receive(request: web.Request) -> web.Response:
        received.append((await request.read(), dict(request.headers)))
        return web.Response(status=200)

    async with serve_handler(receive) as url:
        endpoint = await client.webhooks.create(url=url + "/hooks", events=["message.sent"])
        assert endpoint.secret is not None
        campaign = await _create(client, emu, recipients=Recipients.tags(["vip"]))
        await client.campaigns.handle(campaign.id, poll_interval=POLL).wait(timeout=30)
        await emu.webhooks.wait_idle()
    ids = _campaign_message_ids(emu, campaign.id)
    events = []
    for body, headers in received:
        verify_signature(body, headers, endpoint.secret)
        events.append(json.loads(body))
    assert {e["messageId"] for e in events} == ids and len(ids) == 3
    assert {e["event"] for e in events} == {"message.sent"}


@pytest.mark.parametrize("verb", ["create", "status"])
async def test_a_campaign_or_status_post_is_never_repeated_after_a_drop(
    live: Pair, verb: str
) -> None:
    emu, client = live
    emu.seed_contacts(3)
    await client.instances.list()  # warm a keep-alive connection first
    path = "/api/v1/campaigns" if verb == "create" else "/api/v1/statuses"
    emu.faults.add(Fault.drop(after_handler=True), method="POST", path=path, times=None)
    with pytest.raises(ConnectionLostError) as info:
        if verb == "create":
            await _create(client, emu)
        else:
            await client.statuses.create_text(emu.instance_id, "hello")
    assert info.value.request_sent  # the outcome is unknown: never resent
    assert len([r for r in emu.requests if r.method == "POST" and r.path == path]) == 1
    # The server took it once: one campaign (three messages), or one status.
    assert len(emu.workspace().campaigns) + emu.statuses_count == 1


async def test_a_handle_rebuilt_in_another_process(live: Pair) -> None:
    emu, client = live
    emu.settings.campaign_rate = 50
    emu.seed_contacts(10)
    campaign = await _create(client, emu)
    script = (
        "import asyncio, sys\n"
        "from msgflash_async import MsgFlashClient\n"
        "async def main():\n"
        "    async with MsgFlashClient(rate_limit=None) as client:\n"
        "        handle = client.campaigns.handle(sys.argv[1], poll_interval=0.05)\n"
        "        done = await handle.wait(timeout=60)\n"
        "        print(done.status, done.stats.planned, done.stats.sent)\n"
        "asyncio.run(main())\n"
    )
    env = {**os.environ, "MSGFLASH_API_KEY": emu.api_key, "MSGFLASH_BASE_URL": emu.base_url}
    env.pop("MSGFLASH_TEAM_ID", None)
    result = await anyio.run_process(
        [sys.executable, "-c", script, campaign.id], env=env, check=False
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().split() == ["completed", "10", "10"]


async def test_quota_preflight_refuses_a_campaign_that_cannot_fit(live: Pair) -> None:
    emu, client = live
    ids = emu.seed_contacts(5, tags=["vip"])
    group_id = emu.seed_group("all five", contact_ids=ids)
    emu.settings.monthly_outbound_quota = 4
    for recipients in (Recipients.group(group_id), Recipients.all_contacts()):
        with pytest.raises(InsufficientQuotaError) as info:
            await _create(client, emu, recipients=recipients, check_quota=True)
        assert (info.value.requested, info.value.fits) == (5, 4)
    with pytest.raises(InsufficientQuotaError):
        await _create(client, emu, recipients=Recipients.tags(["vip"]), check_quota=5)
    with pytest.raises(ValidationError) as unknown:
        await _create(client, emu, recipients=Recipients.tags(["vip"]), check_quota=True)
    assert unknown.value.field == "check_quota"
    assert not _bodies(emu)  # nothing was created
    fits = await _create(client, emu, recipients=Recipients.contacts(ids[:4]), check_quota=True)
    assert fits.stats.planned == 4 and len(_bodies(emu)) == 1
