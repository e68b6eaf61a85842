"""Webhook receivers as replicas sharing a real redis-server: each delivery once, one status."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from msgflash_async.redis import RedisDedupeStore, RedisStatusTracker
from msgflash_async.webhooks import MessageStatus, WebhookEvent, WebhookReceiver, sign

pytestmark = pytest.mark.anyio

SECRET = "whsec_replica_test_secret_value"


def delivery(event: str, message_id: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"event": event, "messageId": message_id, "instanceId": "i1"}).encode()
    return body, {"X-MsgFlash-Signature": sign(body, SECRET)}


@pytest.fixture
async def second_client(redis_url: str) -> AsyncIterator[Any]:
    """Another replica's own connection pool to the same Redis."""
    import redis.asyncio

    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


async def test_each_delivery_is_handled_once_across_replicas(
    redis_client: Any, second_client: Any
) -> None:
    handled: list[str] = []

    async def on_event(event: WebhookEvent) -> None:
        await anyio.sleep(0.01)  # overlapping deliveries race for the claim
        handled.append(event.event.value)

    replicas = [
        WebhookReceiver(SECRET, on_event, dedupe=RedisDedupeStore(client))
        for client in (redis_client, second_client)
    ]
    body, headers = delivery("message.delivered", "m-once")
    answers: list[int] = []

    async def deliver(receiver: WebhookReceiver) -> None:
        answers.append((await receiver.handle(body, headers)).status)

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            for receiver in replicas:
                tg.start_soon(deliver, receiver)
    assert handled == ["message.delivered"]
    assert answers == [200] * 6


async def test_a_failed_handler_lets_the_retry_in_on_another_replica(
    redis_client: Any, second_client: Any
) -> None:
    calls: list[str] = []

    async def failing(event: WebhookEvent) -> None:
        calls.append("first")
        raise RuntimeError("database down")

    async def working(event: WebhookEvent) -> None:
        calls.append("second")

    first = WebhookReceiver(SECRET, failing, dedupe=RedisDedupeStore(redis_client))
    second = WebhookReceiver(SECRET, working, dedupe=RedisDedupeStore(second_client))
    body, headers = delivery("message.read", "m-retry")
    assert (await first.handle(body, headers)).status == 500
    assert (await second.handle(body, headers)).status == 200
    assert (await second.handle(body, headers)).duplicate
    assert calls == ["first", "second"]


async def test_replicas_agree_on_the_latest_status_whatever_the_order(
    redis_client: Any, second_client: Any
) -> None:
    async with RedisStatusTracker(redis_client) as one, RedisStatusTracker(second_client) as two:
        order = ["message.read", "message.sent", "message.delivered", "message.sent"]
        for n, name in enumerate(order):
            receiver = WebhookReceiver(SECRET, None, dedupe=None, tracker=(one, two)[n % 2])
            body, headers = delivery(name, "m-order")
            assert (await receiver.handle(body, headers)).status == 200
        assert await one.status_of("m-order") is MessageStatus.READ
        assert await two.status_of("m-order") is MessageStatus.READ
        assert not await two.record("m-order", "failed")  # read is terminal
        assert await one.record("m-new", "queued")
        await two.forget("m-new")
        assert await one.status_of("m-new") is None


async def test_wait_for_is_woken_by_an_event_on_another_replica(
    redis_client: Any, second_client: Any
) -> None:
    # poll=60: only the published change can end this wait in time.
    waiting = RedisStatusTracker(redis_client, poll=60)
    other = RedisStatusTracker(second_client)
    reached: list[MessageStatus] = []

    async def wait() -> None:
        reached.append(await waiting.wait_for("m-wait", "delivered", timeout=30))

    async with waiting, other, anyio.create_task_group() as tg:
        tg.start_soon(wait)
        await anyio.sleep(0.05)
        await other.record("m-wait", "sent")  # not yet: the wait goes on
        await anyio.sleep(0.05)
        assert reached == []
        await other.record("m-wait", "read")
    assert reached == [MessageStatus.READ]


async def test_wait_for_times_out(redis_client: Any) -> None:
    async with RedisStatusTracker(redis_client, poll=0.05) as tracker:
        with pytest.raises(TimeoutError):
            await tracker.wait_for("m-never", "read", timeout=0.2)
        assert tracker._waiters == {}


async def test_a_tracker_that_fails_answers_500_and_lets_the_retry_in(redis_client: Any) -> None:
    class Broken:
        async def apply(self, event: WebhookEvent) -> bool:
            raise ConnectionError("redis went away")

    store = RedisDedupeStore(redis_client)
    body, headers = delivery("message.sent", "m-broken")
    broken = WebhookReceiver(SECRET, None, dedupe=store, tracker=Broken())
    assert (await broken.handle(body, headers)).status == 500
    working = WebhookReceiver(SECRET, None, dedupe=store)
    assert not (await working.handle(body, headers)).duplicate


async def test_dedupe_keys_expire(redis_client: Any) -> None:
    store = RedisDedupeStore(redis_client, ttl=0.05, namespace="short")
    assert await store.claim("k")
    assert not await store.claim("k")
    await anyio.sleep(0.15)
    assert await store.claim("k")
