"""Message statuses the SDK does not know: progress, never a reason to wait forever.

The status list is open (the provider adds ``played`` after ``read``,
``server_ack`` before ``sent``). The rule, the same for polling and for the
webhook status tracker: an unknown status ranks after every known status
seen before it, and ends a wait, which returns it (``status.known`` False).
A known status after an unknown one counts only if it is later than the
last known status before it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import anyio
import pytest

from msgflash_async import MsgFlashClient
from msgflash_async.models.messages import MessageStatus
from msgflash_async.testing import Emulator
from msgflash_async.webhooks import (
    StatusTracker,
    WebhookReceiver,
    event_from_dict,
    sign,
    status_advances,
)
from msgflash_async.webhooks._tracker import event_status

TO = "+33612345678"
PLAYED = MessageStatus("played")
SERVER_ACK = MessageStatus("server_ack")


def event(name: str, status: str | None = None, message_id: str = "m1") -> dict[str, str]:
    payload = {"event": name, "messageId": message_id, "instanceId": "inst_1", "to": TO}
    return payload | ({"status": status} if status is not None else {})


# -- polling: messages.wait_for_status ----------------------------------------


@pytest.fixture
async def client(msgflash_emulator: Emulator) -> AsyncIterator[MsgFlashClient]:
    async with MsgFlashClient(
        msgflash_emulator.api_key, base_url=msgflash_emulator.base_url, rate_limit=None
    ) as client:
        yield client


@pytest.mark.anyio
@pytest.mark.parametrize("target", ["read", "delivered", "sent"])
async def test_a_wait_returns_a_message_that_moved_on_to_an_unknown_status(
    msgflash_emulator: Emulator, client: MsgFlashClient, target: str
) -> None:
    emu = msgflash_emulator
    emu.settings.message_step = None  # every step at once: it is at "played" when polled
    emu.settings.delivery_path = ("sent", "delivered", "read", "played")
    instance = emu.workspace().default_instance.id
    sent = await client.messages.send_text(instance_id=instance, to=TO, text="hello")
    found = await client.messages.wait_for_status(sent.id, target, timeout=5, poll_interval=0.01)
    assert found.id == sent.id
    assert found.status == "played" and found.status is not None and not found.status.known


@pytest.mark.anyio
async def test_an_unknown_status_before_a_known_one_ends_the_wait_and_is_returned(
    msgflash_emulator: Emulator, client: MsgFlashClient
) -> None:
    emu = msgflash_emulator
    emu.settings.message_step = 0.2
    emu.settings.delivery_path = ("server_ack", "sent", "delivered")
    instance = emu.workspace().default_instance.id
    sent = await client.messages.send_text(instance_id=instance, to=TO, text="hello")
    assert sent.status is MessageStatus.QUEUED
    first = await client.messages.wait_for_status(
        sent.id, "delivered", timeout=5, poll_interval=0.01
    )
    # The SDK cannot tell server_ack comes before delivered: it says where the
    # message is, and the caller decides whether to wait again.
    assert first.status == "server_ack"
    with anyio.fail_after(5):
        while (await client.messages.get(sent.id)).status == "server_ack":  # noqa: ASYNC110
            await anyio.sleep(0.02)
    final = await client.messages.wait_for_status(
        sent.id, "delivered", timeout=5, poll_interval=0.01
    )
    assert final.status is MessageStatus.DELIVERED


# -- the webhook status tracker -------------------------------------------------


def test_an_unknown_status_after_a_known_one_is_progress() -> None:
    tracker = StatusTracker()
    assert tracker.record("m1", "delivered")
    assert tracker.record("m1", "played")
    assert tracker.status_of("m1") == PLAYED
    assert not tracker.record("m1", "played")  # a repeat is not progress


def test_a_known_status_after_an_unknown_one_must_pass_the_last_known_one() -> None:
    tracker = StatusTracker()
    assert tracker.record("m1", "queued")
    assert tracker.record("m1", "server_ack")
    assert tracker.record("m1", "sent")  # later than queued: the message moved on
    assert tracker.record("m1", "delivered")
    assert tracker.record("m1", "played")
    assert not tracker.record("m1", "sent")  # a late delivery: not after delivered
    assert not tracker.record("m1", "delivered")
    assert tracker.status_of("m1") == PLAYED
    assert tracker.record("m1", "read")
    assert tracker.status_of("m1") is MessageStatus.READ


def test_nothing_follows_a_terminal_status_not_even_an_unknown_one() -> None:
    tracker = StatusTracker()
    assert tracker.record("m1", "read")
    assert not tracker.record("m1", "played")
    assert tracker.record("m2", "failed")
    assert not tracker.record("m2", "bounced")
    assert tracker.status_of("m1") is MessageStatus.READ
    assert tracker.status_of("m2") is MessageStatus.FAILED


def test_the_rule_without_a_tracker() -> None:
    assert status_advances(None, PLAYED)
    assert status_advances(MessageStatus.SENT, SERVER_ACK)
    assert status_advances(SERVER_ACK, PLAYED)
    assert status_advances(SERVER_ACK, MessageStatus.SENT)  # nothing known before it
    assert not status_advances(SERVER_ACK, MessageStatus.SENT, last_known=MessageStatus.DELIVERED)
    assert status_advances(SERVER_ACK, MessageStatus.FAILED, last_known=MessageStatus.DELIVERED)
    assert not status_advances(MessageStatus.READ, PLAYED)


def test_an_unknown_message_event_reports_its_status() -> None:
    played = event_from_dict(event("message.played", "played"))
    assert event_status(played) == ("m1", PLAYED)
    # Not a status: no message, no status, a known one, or not a message event.
    assert event_status(event_from_dict({"event": "message.played", "status": "played"})) is None
    assert event_status(event_from_dict(event("message.reaction"))) is None
    assert event_status(event_from_dict(event("message.reaction", "read"))) is None
    assert event_status(event_from_dict(event("instance.paused", "played"))) is None


@pytest.mark.anyio
async def test_a_tracker_wait_ends_when_the_message_moves_to_an_unknown_status() -> None:
    secret = "whsec_" + "t" * 32
    tracker = StatusTracker()
    receiver = WebhookReceiver(secret, None, tracker=tracker)
    tracker.record("m1", "queued")  # as the send reply says
    results: list[MessageStatus] = []

    async def deliver(payload: dict[str, str]) -> None:
        body = json.dumps(payload).encode()
        answer = await receiver.handle(body, {"X-MsgFlash-Signature": sign(body, secret)})
        assert answer.status == 200

    async def wait() -> None:
        results.append(await tracker.wait_for("m1", "read", timeout=5))

    async with anyio.create_task_group() as tg:
        tg.start_soon(wait)
        await anyio.wait_all_tasks_blocked()
        await deliver(event("message.delivered", "delivered"))
        await anyio.wait_all_tasks_blocked()
        assert results == []
        await deliver(event("message.played", "played"))  # "read" was lost on the way
    assert results == [PLAYED]
    # Already past what the SDK knows: no wait at all.
    assert await tracker.wait_for("m1", "delivered") == PLAYED
