"""The README's Redis examples (```python redis blocks) run against the suite's redis-server.

They run in order in one namespace, against an emulator (``MSGFLASH_BASE_URL``
points the clients at it), seeded with the names the prose leaves to the reader.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

from msgflash_async import OutgoingMessage
from msgflash_async.redis import RedisStatusTracker
from msgflash_async.testing import Emulator
from msgflash_async.webhooks import MessageStatus, WebhookEvent

pytestmark = pytest.mark.anyio

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python redis\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_redis_examples() -> None:
    assert len(BLOCKS) >= 3


async def test_redis_examples_run(
    redis_client: Any, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[WebhookEvent] = []

    async def on_event(event: WebhookEvent) -> None:
        events.append(event)

    # Another replica already saw the message delivered.
    await RedisStatusTracker(redis_client).record("msg_readme", "delivered")
    async with Emulator(rate_limit=10, message_step=None) as emu:
        monkeypatch.setenv("MSGFLASH_BASE_URL", emu.base_url)
        tos = [f"+3361100{n:04d}" for n in range(3)]
        namespace: dict[str, Any] = {
            "__name__": "readme",
            "redis_url": redis_url,
            "api_key": emu.api_key,
            "inputs": [
                (to, OutgoingMessage.text_message(instance_id=emu.instance_id, to=to, text="hi"))
                for to in tos
            ],
            "secret": "whsec_readme_redis_example",
            "on_event": on_event,
            "message_id": "msg_readme",
        }
        for source in BLOCKS:
            code = compile(source, "README.md", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
            result = eval(code, namespace)
            if result is not None:
                await result
        assert emu.sent_count == 3
        assert emu.rate_limited_count == 0
    assert namespace["report"].accepted == 3
    assert namespace["status"] is MessageStatus.DELIVERED
