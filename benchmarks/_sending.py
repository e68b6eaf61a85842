"""What the send benchmarks share: the inputs, and the SDK's batch entry point."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from msgflash_async import MsgFlashClient
from msgflash_async._batch import BatchSender
from msgflash_async.models.messages import OutgoingMessage


def recipients(n: int) -> Iterator[str]:
    """``n`` distinct E.164 numbers, generated lazily."""
    return (f"+1555{i:07d}" for i in range(n))


def outgoing(instance_id: str, n: int) -> Iterator[OutgoingMessage]:
    """``n`` text messages, built one at a time as the sender pulls them."""
    return (
        OutgoingMessage.text_message(instance_id=instance_id, to=to, text=f"benchmark message {i}")
        for i, to in enumerate(recipients(n))
    )


def raw_body(instance_id: str, to: str, i: int) -> dict[str, Any]:
    """The wire body the SDK sends for the same text message."""
    return {"instanceId": instance_id, "to": to, "type": "text", "text": f"benchmark message {i}"}


def batch_api(client: MsgFlashClient) -> str:
    """Which SDK entry point the send benchmarks drive: ``send_many``, else its BatchSender."""
    return "send_many" if hasattr(client.messages, "send_many") else "BatchSender"


async def send_batch(
    client: MsgFlashClient, instance_id: str, n: int, concurrency: int
) -> dict[str, int]:
    """Send ``n`` messages through the SDK's batch sender; the report's counts."""
    messages = outgoing(instance_id, n)
    if batch_api(client) == "send_many":
        report = await client.messages.send_many(messages, concurrency=concurrency)
    else:
        report = await BatchSender(client.messages.send, concurrency=concurrency).run(messages)
    return {str(getattr(k, "value", k)): v for k, v in report.counts.items()}
