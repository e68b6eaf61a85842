"""Billing, usage, account, instance health and plan gates against the emulator."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from msgflash_async import (
    FeatureNotAvailableError,
    MsgFlashClient,
    NotFoundError,
    PaymentStatus,
    TeamKeyNotAllowedError,
    ValidationError,
)
from msgflash_async.testing import Emulator

pytestmark = pytest.mark.anyio


@pytest.fixture
async def team_client(emu: Emulator) -> AsyncIterator[MsgFlashClient]:
    async with MsgFlashClient(
        emu.team_key, team_id=emu.team_id, base_url=emu.base_url, rate_limit=None
    ) as c:
        yield c


async def test_plans_carry_prices_limits_and_features(
    emu: Emulator, client: MsgFlashClient
) -> None:
    plans = {plan.code: plan async for plan in client.billing.plans()}
    assert set(plans) == {"free", "pro", "max"}
    pro = plans["pro"]
    assert pro.price is not None and (pro.price.amount, pro.price.currency) == (19, "EUR")
    assert [p.currency for p in pro.prices] == ["EUR", "XOF"]
    assert plans["max"].limits.max_instances == 20
    assert plans["free"].features.campaigns is True


async def test_usage_reflects_the_emulator_knobs(emu: Emulator, client: MsgFlashClient) -> None:
    emu.settings.monthly_outbound_quota = 40
    emu.settings.monthly_api_quota = 1000
    emu.settings.features.discard("statuses")
    for n in range(3):
        await client.messages.send_text(
            instance_id=emu.instance_id, to=f"+3361000{n:04d}", text="hi"
        )
    usage = await client.billing.usage()
    assert usage.plan.code == "pro"
    assert usage.limits.monthly_outbound_quota == 40
    assert usage.limits.monthly_api_request_quota == 1000
    assert usage.features.statuses is False and usage.features.webhooks is True
    assert usage.usage.messages_count == 3 and usage.usage.outbound == 3
    assert usage.usage.api_requests_count == 4  # three sends and this read
    assert usage.period.start is not None and usage.period.end is not None
    assert usage.period.start <= dt.datetime.now(dt.timezone.utc) <= usage.period.end

    quota = await client.billing.quota()
    assert (quota.outbound_remaining, quota.outbound_limit) == (37, 40)
    assert quota.api_remaining == 1000 - 5
    assert quota.fits(37) and not quota.fits(38)

    legacy = await client.account.usage()
    assert legacy.limits == usage.limits and legacy.usage.messages_count == 3


async def test_no_quota_is_unknown_not_zero(client: MsgFlashClient) -> None:
    quota = await client.billing.quota()
    assert quota.outbound_limit is None and quota.outbound_remaining is None
    assert quota.fits(10**9)


async def test_subscription_limits_come_from_the_subscribed_plan(
    emu: Emulator, client: MsgFlashClient
) -> None:
    emu.settings.monthly_outbound_quota = 500
    info = await client.billing.subscription()
    assert info.subscription.plan.code == "pro" and info.subscription.status == "active"
    assert info.limits.monthly_outbound_quota == 500
    assert info.subscription.scheduled_plan is None
    assert info.period.end is not None


async def test_payments_page_by_page_in_minor_units(emu: Emulator, client: MsgFlashClient) -> None:
    emu.billing.add_payment(amount=12_500, currency="XOF", months_ago=5)
    payments = [p async for p in client.billing.payments(limit=2)]
    assert len(payments) == 4
    assert payments[0].amount == 1900 and payments[0].major_amount == Decimal("19.00")
    assert payments[0].status is PaymentStatus.SUCCEEDED
    assert payments[-1].currency == "XOF" and payments[-1].major_amount == Decimal(12_500)
    pages = [r.params for r in emu.requests if r.path == "/api/v1/billing/payments"]
    assert pages == [{"page": "1", "limit": "2"}, {"page": "2", "limit": "2"}]
    first = await client.billing.payments(limit=3)
    assert first.total == 4 and first.has_more


async def test_me_keeps_every_field(client: MsgFlashClient) -> None:
    me = await client.account.me()
    assert me.id and me.email == "user@example.com"
    assert me.get("plan") == {"code": "pro", "name": "Pro"}


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.billing.subscription(),
        lambda c: c.billing.usage(),
        lambda c: c.billing.payments(),
        lambda c: c.account.usage(),
        lambda c: c.account.me(),
    ],
    ids=["subscription", "usage", "payments", "legacy-usage", "me"],
)
async def test_team_key_gets_team_key_not_allowed(
    team_client: MsgFlashClient, call: object
) -> None:
    with pytest.raises(TeamKeyNotAllowedError) as info:
        await call(team_client)  # type: ignore[operator]
    assert (info.value.status, info.value.code) == (403, "TEAM_KEY_NOT_ALLOWED")


async def test_team_key_may_read_plans(team_client: MsgFlashClient) -> None:
    page = await team_client.billing.plans()
    assert len(page.items) == 3


async def test_instance_health_is_an_open_model(emu: Emulator, client: MsgFlashClient) -> None:
    health = await client.instances.health(emu.instance_id)
    assert health.instance_id == emu.instance_id and health.healthy is True
    assert "warmup" in health and health["warmup"]["dailyLimit"] > 0  # kept though unmodelled
    assert health.get("checkedAt") is not None
    with pytest.raises(NotFoundError):
        await client.instances.health("no-such-instance")


async def test_webhooks_off_the_plan_are_refused(emu: Emulator, client: MsgFlashClient) -> None:
    emu.settings.features.discard("webhooks")
    with pytest.raises(FeatureNotAvailableError) as info:
        await client.webhooks.create(url="https://example.com/hook", events=["message.sent"])
    assert info.value.code == "WEBHOOKS_NOT_AVAILABLE_ON_PLAN"
    assert info.value.feature == "webhooks" and info.value.status == 403
    with pytest.raises(FeatureNotAvailableError):
        await client.webhooks.list()
    assert (await client.billing.usage()).features.webhooks is False
    emu.settings.features.add("webhooks")
    assert (await client.webhooks.list()).items == []


async def test_bad_payment_arguments_are_refused(client: MsgFlashClient) -> None:
    with pytest.raises(ValidationError):
        client.billing.payments(limit=101)
    with pytest.raises(ValidationError):
        client.billing.payments(page=0)


async def test_the_plan_knob_picks_the_subscribed_plan(
    emu: Emulator, client: MsgFlashClient
) -> None:
    emu.settings.plan_code = "max"
    usage = await client.billing.usage()
    assert usage.plan.code == "max" and usage.limits.max_instances == 20
    assert usage.limits.monthly_outbound_quota is None  # the emulator's own knob: off
    emu.settings.plan_code = "no-such-plan"  # an unknown code falls back, never a 500
    assert (await client.billing.subscription()).subscription.plan.code == "pro"
