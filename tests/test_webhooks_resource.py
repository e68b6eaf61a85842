"""client.webhooks (endpoint management) against the emulator over loopback."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from msgflash_async._client import MsgFlashClient
from msgflash_async._exceptions import (
    NotFoundError,
    PermissionDeniedError,
    PlanLimitError,
    ValidationError,
)
from msgflash_async._secret import Secret
from msgflash_async.models.webhooks import WebhookEventType
from msgflash_async.resources.webhooks import Webhooks
from msgflash_async.testing import Emulator

pytestmark = pytest.mark.anyio

EVENTS = ["message.delivered", "message.read"]
FAKE_KEY = "msgf_live_" + "0" * 64


@pytest.fixture
async def webhooks(emu: Emulator) -> AsyncIterator[Webhooks]:
    async with MsgFlashClient(emu.api_key, base_url=emu.base_url, rate_limit=None) as client:
        yield client.webhooks


async def test_create_list_delete(emu: Emulator, webhooks: Webhooks) -> None:
    created = await webhooks.create(url="https://example.com/hooks", events=EVENTS)
    assert created.url == "https://example.com/hooks"
    assert created.events == (WebhookEventType.MESSAGE_DELIVERED, WebhookEventType.MESSAGE_READ)
    assert created.active is True
    assert isinstance(created.created_at, dt.datetime)
    assert isinstance(created.secret, Secret)
    assert created.secret.reveal().startswith("whsec_")
    assert emu.requests[-1].json == {"url": "https://example.com/hooks", "events": EVENTS}
    assert emu.requests[-1].status == 201

    listed = (await webhooks.list()).items  # awaited: the first (and only) page
    assert [e.id for e in listed] == [created.id]
    assert listed[0].secret is None  # shown once, at creation
    assert [e.url async for e in webhooks.list()] == [created.url]

    await webhooks.delete(created.id)
    assert (await webhooks.list()).items == []
    with pytest.raises(NotFoundError):
        await webhooks.delete(created.id)


async def test_enum_members_and_loopback_http_are_accepted(webhooks: Webhooks) -> None:
    for url in ("http://127.0.0.1:8080/h", "http://localhost/h", "http://[::1]:9/h"):
        created = await webhooks.create(url=url, events=[WebhookEventType.INSTANCE_CONNECTED])
        assert created.url == url


@pytest.mark.parametrize(
    ("url", "events", "field"),
    [
        ("http://example.com/hooks", EVENTS, "url"),
        ("ftp://example.com/hooks", EVENTS, "url"),
        ("https:///no-host", EVENTS, "url"),
        ("example.com/hooks", EVENTS, "url"),
        (" https://example.com", EVENTS, "url"),
        ("https://example.com:99999/", EVENTS, "url"),
        ("http://127.0.0.1.example.com/", EVENTS, "url"),
        ("https://example.com", [], "events"),
        ("https://example.com", ["message.sent", "message.sent"], "events"),
        ("https://example.com", ["message.bounced"], "events"),
        ("https://example.com", ["MESSAGE.SENT"], "events"),
        ("https://example.com", "message.sent", "events"),
        ("https://example.com", ["message.sent"] * 51, "events"),
    ],
)
async def test_bad_arguments_are_refused_before_any_request(
    emu: Emulator, webhooks: Webhooks, url: Any, events: Any, field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        await webhooks.create(url=url, events=events)
    assert caught.value.field == field
    assert emu.requests == []


async def test_secret_is_masked_everywhere_but_reveal(webhooks: Webhooks) -> None:
    created = await webhooks.create(url="https://example.com/hooks", events=EVENTS)
    secret = created.secret
    assert secret is not None
    revealed = secret.reveal()
    for text in (repr(created), str(created), repr(secret), str(secret), f"{created}"):
        assert revealed not in text
    assert "**********" in repr(created)


async def test_plan_gates_and_cap(emu: Emulator, webhooks: Webhooks) -> None:
    emu.webhooks.settings.max_endpoints = 1
    await webhooks.create(url="https://example.com/a", events=EVENTS)
    with pytest.raises(PlanLimitError) as capped:
        await webhooks.create(url="https://example.com/b", events=EVENTS)
    assert capped.value.code == "MAX_WEBHOOK_ENDPOINTS_REACHED"

    emu.webhooks.settings.available = False
    with pytest.raises(PermissionDeniedError) as gated:
        await webhooks.create(url="https://example.com/c", events=EVENTS)
    assert gated.value.code == "WEBHOOKS_NOT_AVAILABLE_ON_PLAN"


async def test_team_and_personal_endpoints_are_separate(emu: Emulator, webhooks: Webhooks) -> None:
    await webhooks.create(url="https://example.com/personal", events=EVENTS)
    async with MsgFlashClient(
        emu.team_key, base_url=emu.base_url, team_id=emu.team_id, rate_limit=None
    ) as team_client:
        assert (await Webhooks(team_client._session).list()).items == []


@pytest.mark.parametrize(
    "body",
    [
        {"url": "http://example.com/h", "events": EVENTS},
        {"url": "https://example.com/h", "events": []},
        {"url": "https://example.com/h", "events": ["nope"]},
        {"events": EVENTS},
    ],
)
async def test_emulator_validates_like_the_api(emu: Emulator, body: dict[str, Any]) -> None:
    # Raw HTTP: the SDK would refuse these before sending.
    async with aiohttp.ClientSession() as session:
        url = f"{emu.base_url}/api/v1/webhooks"
        async with session.post(url, json=body, headers=emu.headers()) as response:
            assert response.status == 400
            assert (await response.json())["error"]["code"] == "VALIDATION_ERROR"
    assert emu.webhooks.endpoints(emu.workspace()) == []


@asynccontextmanager
async def fake_api(list_data: Any, create_data: Any) -> AsyncIterator[Webhooks]:
    """A tiny API answering the reply shapes the emulator does not use."""

    async def answer_list(_: web.Request) -> web.Response:
        return web.json_response({"data": list_data})

    async def answer_create(_: web.Request) -> web.Response:
        return web.json_response({"data": create_data}, status=201)

    app = web.Application()
    app.router.add_get("/api/v1/webhooks", answer_list)
    app.router.add_post("/api/v1/webhooks", answer_create)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        async with MsgFlashClient(FAKE_KEY, base_url=base_url, rate_limit=None) as client:
            yield client.webhooks
    finally:
        await runner.cleanup()


GUIDE_REPLY = {
    "id": "wh_1",
    "url": "https://example.com/h",
    "events": ["message.sent"],
    "secret": "whsec_guide_shape_1234",
    "createdAt": "2026-04-01T10:00:00.000Z",
}
REFERENCE_REPLY = {
    "id": "wh_1",
    "url": "https://example.com/h",
    "secret": "whsec_guide_shape_1234",
    "events": ["message.sent"],
    "active": True,
}


@pytest.mark.parametrize("reply", [GUIDE_REPLY, REFERENCE_REPLY, {"webhook": REFERENCE_REPLY}])
async def test_both_documented_create_replies_structure(reply: dict[str, Any]) -> None:
    async with fake_api([], reply) as webhooks:
        endpoint = await webhooks.create(url="https://example.com/h", events=["message.sent"])
    flat = reply.get("webhook", reply)
    assert endpoint.id == "wh_1"
    assert endpoint.events == (WebhookEventType.MESSAGE_SENT,)
    assert endpoint.secret == Secret("whsec_guide_shape_1234")
    assert "whsec_" not in repr(endpoint)
    expected_created = dt.datetime(2026, 4, 1, 10, tzinfo=dt.timezone.utc)
    assert endpoint.created_at == (expected_created if "createdAt" in flat else None)
    assert endpoint.active is flat.get("active")


ITEMS = [{"id": "a", "url": "https://example.com/a"}, {"id": "b", "events": ["message.new"]}]


@pytest.mark.parametrize("data", [ITEMS, {"webhooks": ITEMS}, {"items": ITEMS}])
async def test_list_reads_every_likely_shape(data: Any) -> None:
    async with fake_api(data, {}) as webhooks:
        endpoints = (await webhooks.list()).items
    assert [e.id for e in endpoints] == ["a", "b"]
    assert endpoints[1].events[0].known is False  # an event name the SDK does not know yet
