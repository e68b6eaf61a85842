"""The README's Redis examples (```python redis blocks) run against the suite's redis-server."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

from msgflash_async.redis import RedisStatusTracker
from msgflash_async.webhooks import MessageStatus, WebhookEvent

pytestmark = pytest.mark.anyio

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python redis\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_redis_examples() -> None:
    assert len(BLOCKS) >= 1


async def test_redis_examples_run(redis_client: Any, redis_url: str) -> None:
    events: list[WebhookEvent] = []

    async def on_event(event: WebhookEvent) -> None:
        events.append(event)

    # Another replica already saw the message delivered.
    other = RedisStatusTracker(redis_client)
    await other.record("msg_readme", "delivered")
    namespace: dict[str, Any] = {
        "__name__": "readme",
        "redis_url": redis_url,
        "secret": "whsec_readme_redis_example",
        "on_event": on_event,
        "message_id": "msg_readme",
    }
    for source in BLOCKS:
        code = compile(source, "README.md", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        result = eval(code, namespace)
        if result is not None:
            await result
    assert namespace["status"] is MessageStatus.DELIVERED
