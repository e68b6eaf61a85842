"""The README's bot, served as its block serves it, talked to through the emulator.

``tests/test_readme.py`` executes every README block, but the Bots blocks only
define the router and ``serve_bot``; here ``serve_bot`` really runs and a
customer converses with it over loopback.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Any

import anyio
import pytest
from bot_support import eventually

from msgflash_async import MsgFlashClient
from msgflash_async.testing import Emulator

pytestmark = pytest.mark.anyio

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
SECTION = README.split("\n## Bots\n", 1)[1].split("\n## ", 1)[0]
BLOCKS = re.findall(r"```python\n(.*?)```", SECTION, flags=re.S)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_readme_bot_asks_for_the_order_number_and_answers(
    emu: Emulator, client: MsgFlashClient
) -> None:
    assert len(BLOCKS) == 2
    port = free_port()
    url = f"http://127.0.0.1:{port}/webhooks/msgflash"
    endpoint = await client.webhooks.create(url=url, events=["message.received"])
    assert endpoint.secret is not None
    namespace: dict[str, Any] = {"client": client, "secret": endpoint.secret.reveal()}
    for block in BLOCKS:
        exec(compile(block, "README.md", "exec"), namespace)
    customer = "+22990000042"

    async def says(text: str, replies: int) -> str:
        emu.simulate_inbound(customer, text)
        await eventually(lambda: emu.sent_count >= replies)
        return str(emu.sent_messages[-1]["body"])

    async def listening() -> None:
        with anyio.fail_after(5):
            while True:
                try:
                    stream = await anyio.connect_tcp("127.0.0.1", port)
                except OSError:
                    await anyio.sleep(0.01)
                else:
                    return await stream.aclose()

    async with anyio.create_task_group() as tg:
        tg.start_soon(namespace["serve_bot"], port, "127.0.0.1")
        await listening()
        assert await says("hello", 1) == "Send /status to track an order."
        assert await says("/start", 2) == "Hi! Send /status to track an order."
        assert await says("/status", 3) == "Your order number?"
        assert await says("soon", 4) == "Send /status to track an order."  # not a number
        assert await says("1042", 5) == "Order 1042 has shipped."
        tg.cancel_scope.cancel()
    sent = emu.sent_messages
    assert {m["to"] for m in sent} == {customer}
    assert {m["instanceId"] for m in sent} == {emu.instance_id}
