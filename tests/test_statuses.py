"""client.statuses against the emulator: text and image statuses, plan gate, quota."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from msgflash_async import (
    FeatureNotAvailableError,
    MsgFlashClient,
    NotFoundError,
    OutgoingMessage,
    OutgoingStatus,
    PublishedStatus,
    QuotaExceededError,
    ServerValidationError,
    ValidationError,
)
from msgflash_async.testing import Emulator

pytestmark = pytest.mark.anyio

Pair = tuple[Emulator, MsgFlashClient]


@pytest.fixture
async def live() -> AsyncIterator[Pair]:
    async with (
        Emulator(rate_limit=None, message_step=None) as emu,
        MsgFlashClient(emu.api_key, base_url=emu.base_url, rate_limit=None) as client,
    ):
        yield emu, client


async def test_text_and_image_statuses_are_published(live: Pair) -> None:
    emu, client = live
    text = await client.statuses.create(
        OutgoingStatus.text_status(emu.instance_id, "Open today", background_color="#25D366")
    )
    image = await client.statuses.create_image(
        emu.instance_id, "https://example.com/shop.jpg", caption="New in"
    )
    assert isinstance(text, PublishedStatus) and text.instance_id == emu.instance_id
    assert text.provider_message_id and image.provider_message_id != text.provider_message_id
    bodies = [r.json for r in emu.requests if r.path == "/api/v1/statuses"]
    assert bodies == [
        {
            "instanceId": emu.instance_id,
            "type": "text",
            "content": "Open today",
            "backgroundColor": "#25D366",
        },
        {
            "instanceId": emu.instance_id,
            "type": "image",
            "content": "https://example.com/shop.jpg",
            "caption": "New in",
        },
    ]
    assert [r.status for r in emu.requests if r.path == "/api/v1/statuses"] == [201, 201]
    published = emu.published_statuses()
    assert [(s["type"], s["content"]) for s in published] == [
        ("text", "Open today"),
        ("image", "https://example.com/shop.jpg"),
    ]


async def test_statuses_share_the_monthly_outbound_quota_with_messages(live: Pair) -> None:
    emu, client = live
    emu.settings.monthly_outbound_quota = 2
    await client.statuses.create_text(emu.instance_id, "one")
    await client.messages.send_text(instance_id=emu.instance_id, to="+33612345678", text="two")
    assert (emu.outbound_count, emu.statuses_count) == (2, 1)
    with pytest.raises(QuotaExceededError) as status_refused:
        await client.statuses.create_text(emu.instance_id, "three")
    assert status_refused.value.code == "MONTHLY_OUTBOUND_QUOTA_EXCEEDED"
    assert status_refused.value.status == 429
    with pytest.raises(QuotaExceededError):
        await client.messages.send(
            OutgoingMessage.text_message(
                instance_id=emu.instance_id, to="+33612345678", text="four"
            )
        )
    assert (emu.outbound_count, emu.statuses_count) == (2, 1)


async def test_plan_without_statuses_is_a_typed_403(live: Pair) -> None:
    emu, client = live
    emu.settings.features.discard("statuses")
    with pytest.raises(FeatureNotAvailableError) as info:
        await client.statuses.create_text(emu.instance_id, "hello")
    error = info.value
    assert (error.status, error.code, error.feature) == (
        403,
        "STATUSES_NOT_AVAILABLE_ON_PLAN",
        "statuses",
    )
    assert emu.statuses_count == 0 and emu.outbound_count == 0


async def test_unknown_instance_is_not_found(live: Pair) -> None:
    emu, client = live
    with pytest.raises(NotFoundError):
        await client.statuses.create_text("missing-instance", "hello")
    assert emu.statuses_count == 0


async def test_server_validation_error_is_typed(live: Pair) -> None:
    emu, client = live
    # A type the SDK does not know passes the client and meets the server's schema.
    with pytest.raises(ServerValidationError) as info:
        await client.statuses._call(
            "POST", "/api/v1/statuses", json={"instanceId": emu.instance_id, "type": "video"}
        )
    fields = {d["field"] for d in info.value.details}
    assert fields == {"type", "content"}


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: OutgoingStatus.text_status("i", "  "), "content"),
        (
            lambda: OutgoingStatus.text_status("i", "hi", background_color="green"),
            "background_color",
        ),
        (lambda: OutgoingStatus.image_status("i", "ftp://example.com/a.jpg"), "content"),
        (lambda: OutgoingStatus.image_status("i", "https://e.com/a.jpg", caption=""), "caption"),
        (lambda: OutgoingStatus.text_status("", "hi"), "instance_id"),
        (lambda: OutgoingStatus("i", "text", "hi", caption="x").validate(), "caption"),
        (
            lambda: OutgoingStatus(
                "i", "image", "https://e.com/a", background_color="#fff"
            ).validate(),
            "background_color",
        ),
        (lambda: OutgoingStatus("i", "video", "https://e.com/a").validate(), "type"),
    ],
)
def test_bad_statuses_are_refused_before_any_request(build: object, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        build()  # type: ignore[operator]
    assert info.value.field == field


async def test_a_bad_status_costs_no_request(live: Pair) -> None:
    emu, client = live
    with pytest.raises(ValidationError):
        await client.statuses.create(OutgoingStatus("i", "text", ""))
    with pytest.raises(ValidationError):
        await client.statuses.create({"type": "text"})  # type: ignore[arg-type]
    assert not [r for r in emu.requests if r.path == "/api/v1/statuses"]


async def test_plan_switches_given_to_the_emulator() -> None:
    async with (
        Emulator(rate_limit=None, features={"webhooks"}) as emu,
        MsgFlashClient(emu.api_key, base_url=emu.base_url, rate_limit=None) as client,
    ):
        with pytest.raises(FeatureNotAvailableError) as statuses:
            await client.statuses.create_text(emu.instance_id, "hello")
        with pytest.raises(FeatureNotAvailableError) as campaigns:
            await client.campaigns.get("any")
    assert (statuses.value.feature, campaigns.value.feature) == ("statuses", "campaigns")
