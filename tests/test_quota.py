"""The quota preflight: refuse work that cannot fit the monthly outbound quota."""

from __future__ import annotations

import logging

import pytest

from msgflash_async import InsufficientQuotaError, MsgFlashClient, OutgoingMessage, ValidationError
from msgflash_async.testing import Emulator

pytestmark = pytest.mark.anyio

USAGE = "/api/v1/billing/usage"


def batch(emu: Emulator, n: int) -> list[OutgoingMessage]:
    return [
        OutgoingMessage.text_message(instance_id=emu.instance_id, to=f"+3362000{i:04d}", text="hi")
        for i in range(n)
    ]


async def test_send_many_refuses_a_batch_that_cannot_fit(
    emu: Emulator, client: MsgFlashClient
) -> None:
    emu.settings.monthly_outbound_quota = 10
    await client.messages.send_text(instance_id=emu.instance_id, to="+33620009999", text="first")
    with pytest.raises(InsufficientQuotaError) as info:
        await client.messages.send_many(batch(emu, 12), check_quota=True)
    assert (info.value.requested, info.value.fits) == (12, 9)
    assert "9 of 10" in str(info.value) and info.value.period_end is not None
    assert emu.sent_count == 1  # nothing of the batch went out
    assert [r.path for r in emu.requests].count(USAGE) == 1


async def test_send_many_sends_a_batch_that_fits(emu: Emulator, client: MsgFlashClient) -> None:
    emu.settings.monthly_outbound_quota = 10
    report = await client.messages.send_many(batch(emu, 10), check_quota=True)
    assert report.accepted == 10 and emu.sent_count == 10
    with pytest.raises(InsufficientQuotaError) as info:
        await client.messages.send_many(batch(emu, 1), check_quota=True)
    assert info.value.fits == 0


async def test_without_the_option_no_preflight(emu: Emulator, client: MsgFlashClient) -> None:
    emu.settings.monthly_outbound_quota = 1
    report = await client.messages.send_many(batch(emu, 2))
    assert report.accepted == 1  # the second met the server's own 429
    assert report.error_codes == {"MONTHLY_OUTBOUND_QUOTA_EXCEEDED": 1}
    assert USAGE not in [r.path for r in emu.requests]


async def test_the_preflight_needs_a_sized_batch(emu: Emulator, client: MsgFlashClient) -> None:
    with pytest.raises(ValidationError):
        client.messages.send_many(iter(batch(emu, 2)), check_quota=True)


async def test_with_a_team_key_it_warns_once_and_is_skipped(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    emu.settings.monthly_outbound_quota = 1  # would refuse: the check must not guess it
    async with MsgFlashClient(
        emu.team_key, team_id=emu.team_id, base_url=emu.base_url, rate_limit=None
    ) as team:
        messages = [
            OutgoingMessage.text_message(
                instance_id=emu.team_instance_id, to="+33620000001", text="hi"
            ),
        ]
        with caplog.at_level(logging.WARNING, logger="msgflash_async"):
            first = await team.messages.send_many(messages, check_quota=True)
            assert await team.billing.check_outbound_quota(5) is None
    skipped = [r for r in caplog.records if "quota preflight skipped" in r.getMessage()]
    assert len(skipped) == 1 and skipped[0].levelno == logging.WARNING
    assert first.accepted == 1
    assert USAGE not in [r.path for r in emu.requests]  # skipped, not refused by the server


async def test_the_check_as_a_function_for_other_work(
    emu: Emulator, client: MsgFlashClient
) -> None:
    emu.settings.monthly_outbound_quota = 100
    quota = await client.billing.check_outbound_quota(100)
    assert quota is not None and quota.outbound_remaining == 100
    with pytest.raises(InsufficientQuotaError):
        await client.billing.check_outbound_quota(101)
    with pytest.raises(ValidationError):
        await client.billing.check_outbound_quota(-1)
