"""client.messages over loopback: send, schedule, get, list, wait_for_status."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Callable, Sequence

import aiohttp
import pytest
from aiohttp import web

from msgflash_async._batch_outcomes import OutcomeStatus
from msgflash_async._client import MsgFlashClient
from msgflash_async._converter import format_datetime
from msgflash_async._exceptions import (
    BadRequestError,
    MessageCancelledError,
    MessageFailedError,
    NotFoundError,
    PlanLimitError,
    ServerError,
    TemplateError,
    TransportError,
    UnprocessableError,
    ValidationError,
)
from msgflash_async.models.messages import (
    Button,
    MessageStatus,
    MessageType,
    OutgoingMessage,
    status_reached,
)
from msgflash_async.models.templates import Template
from msgflash_async.testing import Emulator, EmulatorState, Fault
from msgflash_async.testing._http import ok

pytestmark = pytest.mark.anyio

Pair = tuple[Emulator, MsgFlashClient]

TO = "+33612345678"


def _scripted(statuses: Sequence[str]) -> Callable[[web.Application, EmulatorState], None]:
    """GET /messages/m1 answers each status in turn, then the last one forever."""
    left = list(statuses)

    async def handler(request: web.Request) -> web.Response:
        status = left.pop(0) if len(left) > 1 else left[0]
        return ok(
            {
                "id": request.match_info["id"],
                "status": status,
                "error": ({"reason": "blocked"} if status == "failed" else None),
            }
        )

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
        await client.messages.wait_for_status("m1", timeout=1.0, poll_interval=0.02)
    # The interval grows: far fewer polls than 1.0 / 0.02 = 50.
    assert 2 <= _gets(emu) < 25


async def test_invalid_messages_cost_no_request() -> None:
    async with Emulator(rate_limit=None) as emu:
        async with MsgFlashClient(emu.api_key, base_url=emu.base_url, rate_limit=None) as client:
            bad = OutgoingMessage("inst", TO, "image")
            with pytest.raises(ValidationError, match="media_url"):
                await client.messages.send(bad)
            with pytest.raises(ValidationError, match="to"):
                await client.messages.send_text(instance_id="inst", to="0612345678", text="hi")
            text = OutgoingMessage.text_message(instance_id="inst", to=TO, text="hi")
            with pytest.raises(ValidationError, match="scheduled_at"):
                await client.messages.schedule(text, dt.datetime(2030, 1, 1))
            with pytest.raises(ValidationError, match="scheduled_at"):
                await client.messages.send(
                    OutgoingMessage(
                        "inst", TO, "text", text="x", scheduled_at=dt.datetime.now(dt.timezone.utc)
                    )
                )
            template = Template("t1", body="{{custom.code}} {{contact.name}}")
            with pytest.raises(ValidationError, match=r"custom\.code"):
                await client.messages.send(
                    OutgoingMessage.template_message(
                        instance_id="inst", to=TO, template_id="t1", contact_id="c"
                    ),
                    template=template,
                )
            with pytest.raises(ValidationError, match="contact_id"):
                await client.messages.send(
                    OutgoingMessage.template_message(
                        instance_id="inst", to=TO, template_id="t1", variables={"code": 1}
                    ),
                    template=template,
                )
            with pytest.raises(ValidationError, match="template"):
                await client.messages.send(
                    OutgoingMessage.template_message(
                        instance_id="inst", to=TO, template_id="other"
                    ),
                    template=template,
                )
            for kwargs in ({"limit": 0}, {"status": 3}):
                with pytest.raises((ValidationError, ValueError)):
                    client.messages.list(**kwargs)  # type: ignore[arg-type]
            with pytest.raises(ValidationError):
                await client.messages.wait_for_status("m1", timeout=0)
        assert emu.requests == []


async def test_non_http_urls_cost_no_request(emu: Emulator, client: MsgFlashClient) -> None:
    inst = emu.instance_id
    bad = [
        OutgoingMessage(inst, TO, "image", media_url="ftp://x/a.png"),
        OutgoingMessage(inst, TO, "document", media_url="hello"),
        OutgoingMessage(inst, TO, "voice_note", media_url="https:///a.ogg"),
        OutgoingMessage(
            inst,
            TO,
            "buttons",
            title="T",
            description="D",
            buttons=(Button.link("Go", "ftp://x.example"),),
        ),
    ]
    for message in bad:
        with pytest.raises(ValidationError, match="URL"):
            await client.messages.send(message)
    report = await client.messages.send_many(bad)
    assert report.counts[OutcomeStatus.REJECTED] == 4
    assert report.error_codes == {"ValidationError": 4}
    assert emu.requests == []
    # What the check spares: the emulator answers such a send with a 400, after a request.
    body = {"instanceId": inst, "to": TO, "type": "image", "mediaUrl": "ftp://x/a.png"}
    async with (
        aiohttp.ClientSession() as raw,
        raw.post(
            emu.base_url + "/api/v1/messages/send", json=body, headers=emu.headers()
        ) as response,
    ):
        assert response.status == 400
        assert (await response.json())["error"]["code"] == "VALIDATION_ERROR"


# -- against the emulator's message routes ------------------------------------


@pytest.fixture
async def live() -> AsyncIterator[Pair]:
    async with (
        Emulator(rate_limit=None, message_step=0.02) as emu,
        MsgFlashClient(emu.api_key, base_url=emu.base_url, rate_limit=None) as client,
    ):
        yield emu, client


def _instance(emu: Emulator) -> str:
    return emu.workspace().default_instance.id


def _posts(emu: Emulator, path: str) -> list[dict[str, object]]:
    return [json.loads(r.body) for r in emu.requests if r.method == "POST" and r.path == path]


async def test_send_text_then_wait_until_read(live: Pair) -> None:
    emu, client = live
    sent = await client.messages.send_text(instance_id=_instance(emu), to=TO, text="Hello")
    assert sent.status is MessageStatus.QUEUED and sent.body == "Hello"
    assert _posts(emu, "/api/v1/messages/send") == [
        {"instanceId": _instance(emu), "to": TO, "type": "text", "text": "Hello"}
    ]
    delivered = await client.messages.wait_for_status(sent.id, timeout=5, poll_interval=0.01)
    assert status_reached(delivered.status, "delivered")
    read = await client.messages.wait_for_status(sent.id, "read", timeout=5, poll_interval=0.01)
    assert read.status is MessageStatus.READ
    assert read.worker_safety is not None and read.worker_safety.decision == "allow"


async def test_every_builder_is_accepted_by_the_emulator(live: Pair) -> None:
    emu, client = live
    inst = _instance(emu)
    contact_id = emu.seed_contacts(1)[0]
    url = "https://cdn.example/file.ogg"
    messages = [
        OutgoingMessage.image_message(instance_id=inst, to=TO, media_url=url, caption="c"),
        OutgoingMessage.video_message(instance_id=inst, to=TO, media_url=url),
        OutgoingMessage.audio_message(instance_id=inst, to=TO, media_url=url),
        OutgoingMessage.voice_note_message(instance_id=inst, to=TO, media_url=url),
        OutgoingMessage.document_message(instance_id=inst, to=TO, media_url=url),
        OutgoingMessage.location_message(
            instance_id=inst, to=TO, latitude=5.3, longitude=-4.0, name="Here"
        ),
        OutgoingMessage.contact_message(instance_id=inst, to=TO, contact_id=contact_id),
        OutgoingMessage.buttons_message(
            instance_id=inst,
            to=TO,
            title="T",
            description="D",
            footer="F",
            buttons=[
                Button.copy("Copy", "dGV4dA=="),
                Button.pix("Pay", key="k", key_type="email", name="Shop"),
            ],
        ),
        OutgoingMessage.buttons_message(
            instance_id=inst,
            to=TO,
            title="T",
            description="D",
            buttons=[Button.link("Go", "https://x.example"), Button.call("Call", TO)],
        ),
    ]
    for message in messages:
        sent = await client.messages.send(message)
        assert sent.type == message.type and sent.status is MessageStatus.QUEUED


async def test_template_send_renders_on_the_server(live: Pair) -> None:
    emu, client = live
    contact_id = emu.seed_contacts(1, name_prefix="Awa")[0]
    template = await client.templates.create(
        name="otp", type="text", body="Hi {{contact.firstName}}, code {{custom.code}}"
    )
    message = OutgoingMessage.template_message(
        instance_id=_instance(emu),
        to=TO,
        template_id=template.id,
        contact_id=contact_id,
        variables={"code": "1234"},
    )
    sent = await client.messages.send(message, template=template)
    assert sent.type is MessageType.TEXT and sent.body is not None
    assert sent.body.startswith("Hi Awa") and sent.body.endswith("code 1234")
    # Without the client-side check, the server's refusal is a TemplateError.
    with pytest.raises(TemplateError) as info:
        await client.messages.send(
            OutgoingMessage.template_message(
                instance_id=_instance(emu), to=TO, template_id=template.id, contact_id=contact_id
            )
        )
    assert info.value.code == "TEMPLATE_VARIABLES_MISSING"
    with pytest.raises(TemplateError) as context:
        await client.messages.send(
            OutgoingMessage.template_message(
                instance_id=_instance(emu),
                to=TO,
                template_id=template.id,
                variables={"custom.code": "1"},
            )
        )
    assert context.value.code == "TEMPLATE_CONTEXT_UNAVAILABLE"


async def test_server_refusals_are_typed(live: Pair) -> None:
    emu, client = live
    emu.settings.invalid_numbers.add("+33700000000")
    with pytest.raises(UnprocessableError):
        await client.messages.send_text(instance_id=_instance(emu), to="+33700000000", text="x")
    offline = emu.workspace().add_instance("Offline", status="disconnected").id
    with pytest.raises(BadRequestError):
        await client.messages.send_text(instance_id=offline, to=TO, text="x")
    with pytest.raises(NotFoundError):
        await client.messages.send_text(instance_id="no-such-instance", to=TO, text="x")
    with pytest.raises(NotFoundError):
        await client.messages.get("no-such-message")
    emu.settings.subscription_active = False
    with pytest.raises(PlanLimitError):
        await client.messages.send_text(instance_id=_instance(emu), to=TO, text="x")


async def test_failing_number_raises_message_failed(live: Pair) -> None:
    emu, client = live
    emu.settings.failing_numbers.add(TO)
    sent = await client.messages.send_text(instance_id=_instance(emu), to=TO, text="x")
    with pytest.raises(MessageFailedError) as info:
        await client.messages.wait_for_status(sent.id, timeout=5, poll_interval=0.01)
    assert info.value.msg.status is MessageStatus.FAILED and info.value.error is not None


async def test_send_is_never_retried_once_it_may_have_arrived(live: Pair) -> None:
    emu, client = live
    path = "/api/v1/messages/send"
    emu.faults.add(Fault.error(500), method="POST", path=path)
    with pytest.raises(ServerError):
        await client.messages.send_text(instance_id=_instance(emu), to=TO, text="x")
    emu.faults.add(Fault.drop(after_handler=True), method="POST", path=path)
    with pytest.raises(TransportError) as info:
        await client.messages.send_text(instance_id=_instance(emu), to=TO, text="x")
    assert info.value.request_sent
    assert len(_posts(emu, path)) == 2
    # The dropped send did happen: look it up before sending again.
    assert len(emu.workspace().messages) == 1


async def test_schedule(live: Pair) -> None:
    emu, client = live
    at = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    message = OutgoingMessage.text_message(instance_id=_instance(emu), to=TO, text="later")
    scheduled = await client.messages.schedule(message, at)
    assert scheduled.status is MessageStatus.SCHEDULED
    assert scheduled.scheduled_at is not None
    assert abs((scheduled.scheduled_at - at).total_seconds()) < 0.002
    body = _posts(emu, "/api/v1/messages/schedule")[0]
    assert body["scheduledAt"] == format_datetime(at) and body["text"] == "later"
    assert [r.status for r in emu.requests if r.path.endswith("/schedule")] == [201]


async def test_list_filters_and_pages(live: Pair) -> None:
    emu, client = live
    inst = _instance(emu)
    other = emu.workspace().add_instance("Second").id
    for index in range(5):
        await client.messages.send_text(instance_id=inst, to=TO, text=f"m{index}")
    await client.messages.send_text(instance_id=other, to=TO, text="other")
    bodies = [m.body async for m in client.messages.list(instance_id=inst, limit=2)]
    assert bodies == ["m4", "m3", "m2", "m1", "m0"]
    assert sum(1 for r in emu.requests if r.path == "/api/v1/messages") == 3
    first = await client.messages.list(limit=2)
    assert len(first.items) == 2 and first.has_more and first.next_cursor
    emu.settings.message_step = None
    paginator = client.messages.list(instance_id=inst, limit=2, max_items=2)
    assert len([m async for m in paginator]) == 2
    token = paginator.resume_token
    assert token is not None
    rest = [m.body async for m in client.messages.list(resume=token)]
    assert rest == ["m2", "m1", "m0"]
    with pytest.raises(ValidationError):
        client.messages.list(resume=token, instance_id=other)
    # A third instance with known statuses: two held in queued, one read, one failed.
    third = emu.workspace().add_instance("Third").id
    emu.settings.message_step = 3600.0
    held = {
        (await client.messages.send_text(instance_id=third, to=TO, text=f"q{n}")).id
        for n in range(2)
    }
    emu.settings.message_step = None  # instant: straight to read (or failed)
    done = (await client.messages.send_text(instance_id=third, to=TO, text="done")).id
    emu.settings.failing_numbers.add("+33699999999")
    failed = (await client.messages.send_text(instance_id=third, to="+33699999999", text="x")).id
    every = {m.id: m.status async for m in client.messages.list(instance_id=third)}
    assert every == {
        **dict.fromkeys(held, MessageStatus.QUEUED),
        done: MessageStatus.READ,
        failed: MessageStatus.FAILED,
    }
    queued = [m async for m in client.messages.list(instance_id=third, status="queued")]
    assert {m.id for m in queued} == held
    assert all(m.status is MessageStatus.QUEUED for m in queued)
    everywhere = [m async for m in client.messages.list(status=MessageStatus.QUEUED)]
    assert held <= {m.id for m in everywhere}
    assert all(m.status is MessageStatus.QUEUED for m in everywhere)
    assert not {done, failed} & {m.id for m in everywhere}
