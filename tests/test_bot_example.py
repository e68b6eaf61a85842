"""examples/bot.py against the emulator: the command, the question and its answer, the state."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import anyio
import pytest
from bot_support import eventually, serve_bot

from msgflash_async import MsgFlashClient
from msgflash_async.testing import Emulator

pytestmark = pytest.mark.anyio

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "bot.py"
CUSTOMER = "+22990000077"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bot_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_example_bot_answers_a_status_asked_in_two_steps_and_remembers_it() -> None:
    example = load_example()
    async with Emulator(rate_limit=None, message_step=0.01) as emu:
        lines = await example.demo(emu, CUSTOMER)
        replies = [m for m in emu.sent_messages if m["to"] == CUSTOMER]
        deliveries = [d for d in emu.webhook_deliveries if d.event == "message.received"]
    assert lines == [
        f"{CUSTOMER}: /start",
        "bot: Hi! Send /status to track an order, /last for the last one.",
        f"{CUSTOMER}: /status",
        "bot: Your order number?",
        f"{CUSTOMER}: 1042",
        f"bot: {example.describe('1042')}",
        f"{CUSTOMER}: /last",
        f"bot: {example.describe('1042')}",
        f"{CUSTOMER}: /status 1043",
        f"bot: {example.describe('1043')}",
    ]
    assert example.describe("1042") == "Order 1042: shipped, arriving Thursday."
    assert len(replies) == 5 and all(r["instanceId"] == emu.instance_id for r in replies)
    assert [d.status for d in deliveries] == [200] * 5


async def test_example_bot_times_out_politely(emu: Emulator, client: MsgFlashClient) -> None:
    router = load_example().build_router(ask_timeout=0.05)
    async with serve_bot(emu, client, router) as served:
        assert await served.post(served.inbound(CUSTOMER, "/status")) == 200
        await eventually(lambda: emu.sent_count == 2)
    bodies = [m["body"] for m in emu.sent_messages]
    assert bodies == ["Your order number?", "No order number came; send /status to try again."]


async def test_example_runs_as_a_script_without_a_key() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MSGFLASH_")}
    result = await anyio.run_process([sys.executable, str(EXAMPLE)], env=env, check=False)
    assert result.returncode == 0, result.stderr.decode()
    out = result.stdout.decode().splitlines()
    assert out[3] == "bot: Your order number?"
    assert out[-1] == "bot: Order 1043: being packed."
