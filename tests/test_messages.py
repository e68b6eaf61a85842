"""client.messages over loopback: send, schedule, get, list, wait_for_status."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Sequence

import pytest
from aiohttp import web

from msgflash_async._client import MsgFlashClient
from msgflash_async._exceptions import ValidationError
from msgflash_async.models.messages import MessageStatus, OutgoingMessage
from msgflash_async.models.templates import Template
from msgflash_async.resources.messages import MessageCancelledError, MessageFailedError
from msgflash_async.testing import Emulator, EmulatorState
from msgflash_async.testing._http import ok

pytestmark = pytest.mark.anyio

Pair = tuple[Emulator, MsgFlashClient]

TO = "+33612345678"


def _scripted(statuses: Sequence[str]) -> Callable[[web.Application, EmulatorState], None]:
    """GET /messages/m1 answers each status in turn, then the last one forever."""
    left = list(statuses)

    async def handler(request: web.Request) -> web.Response:
        status = left.pop(0) if len(left) > 1 else left[0]
        return ok({"id": request.match_info["id"], "status": status, "error": (
            {"reason": "blocked"} if status == "failed" else None)})

    def install(app: web.Application, state: EmulatorState) -> None:
        app.router.add_get("/api/v1/messages/{id}", handler)

    return install


@pytest.fixture
async def scripted(request: pytest.FixtureRequest) -> AsyncIterator[Pair]:
    async with (
        Emulator(rate_limit=None, extra_routes=[_scripted(request.param)]) as emu,
        MsgFlashClient(emu.api_key, base_url=emu.base_url, rate_limit=None) as client,
    ):
        yield emu, client


def _gets(emu: Emulator) -> int:
    return sum(1 for r in emu.requests if r.method == "GET")


@pytest.mark.parametrize("scripted", [["queued", "queued", "sent", "delivered"]], indirect=True)
async def test_wait_polls_until_delivered(scripted: Pair) -> None:
    emu, client = scripted
    message = await client.messages.wait_for_status("m1", timeout=5, poll_interval=0.01)
    assert message.status is MessageStatus.DELIVERED
    assert _gets(emu) == 4


@pytest.mark.parametrize("scripted", [["queued", "read"]], indirect=True)
async def test_wait_accepts_a_later_status(scripted: Pair) -> None:
    _, client = scripted
    message = await client.messages.wait_for_status("m1", "delivered", poll_interval=0.01)
    assert message.status is MessageStatus.READ


@pytest.mark.parametrize("scripted", [["queued", "failed"]], indirect=True)
async def test_wait_raises_when_the_message_fails(
    scripted: Pair,
) -> None:
    _, client = scripted
    with pytest.raises(MessageFailedError) as info:
        await client.messages.wait_for_status("m1", poll_interval=0.01)
    assert info.value.msg.id == "m1" and info.value.error == {"reason": "blocked"}
    # Waiting for the failure itself is not an error.
    failed = await client.messages.wait_for_status("m1", "failed", poll_interval=0.01)
    assert failed.status is MessageStatus.FAILED


@pytest.mark.parametrize("scripted", [["scheduled", "cancelled"]], indirect=True)
async def test_wait_raises_when_the_message_is_cancelled(
    scripted: Pair,
) -> None:
    _, client = scripted
    with pytest.raises(MessageCancelledError):
        await client.messages.wait_for_status("m1", "sent", poll_interval=0.01)


@pytest.mark.parametrize("scripted", [["queued"]], indirect=True)
async def test_wait_times_out_with_builtin_timeout_error(
    scripted: Pair,
) -> None:
    emu, client = scripted
    with pytest.raises(TimeoutError, match="queued"):
        await client.messages.wait_for_status("m1", timeout=0.3, poll_interval=0.02)
    # The interval grows: far fewer polls than 0.3 / 0.02 = 15.
    assert 2 <= _gets(emu) < 12


async def test_invalid_messages_cost_no_request() -> None:
    async with Emulator(rate_limit=None) as emu:
        async with MsgFlashClient(emu.api_key, base_url=emu.base_url, rate_limit=None) as client:
            bad = OutgoingMessage("inst", TO, "image")
            with pytest.raises(ValidationError, match="media_url"):
                await client.messages.send(bad)
            with pytest.raises(ValidationError, match="to"):
                await client.messages.send_text("inst", "0612345678", "hi")
            text = OutgoingMessage.text_message("inst", TO, "hi")
            with pytest.raises(ValidationError, match="scheduled_at"):
                await client.messages.schedule(text, dt.datetime(2030, 1, 1))
            with pytest.raises(ValidationError, match="scheduled_at"):
                await client.messages.send(
                    OutgoingMessage("inst", TO, "text", text="x",
                                    scheduled_at=dt.datetime.now(dt.timezone.utc)))
            template = Template("t1", body="{{custom.code}} {{contact.name}}")
            with pytest.raises(ValidationError, match=r"custom\.code"):
                await client.messages.send(
                    OutgoingMessage.template_message("inst", TO, "t1", contact_id="c"),
                    template=template,
                )
            with pytest.raises(ValidationError, match="contact_id"):
                await client.messages.send(
                    OutgoingMessage.template_message("inst", TO, "t1", variables={"code": 1}),
                    template=template,
                )
            with pytest.raises(ValidationError, match="template"):
                await client.messages.send(
                    OutgoingMessage.template_message("inst", TO, "other"), template=template
                )
            for kwargs in ({"limit": 0}, {"status": 3}):
                with pytest.raises((ValidationError, ValueError)):
                    client.messages.list(**kwargs)  # type: ignore[arg-type]
            with pytest.raises(ValidationError):
                await client.messages.wait_for_status("m1", timeout=0)
        assert emu.requests == []

