"""A bot served over loopback, registered with the emulator as its webhook endpoint."""

from __future__ import annotations

import itertools
import json
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import anyio
import attrs
from aiohttp import web

from msgflash_async import MsgFlashClient
from msgflash_async.bot import Bot, Router
from msgflash_async.testing import Emulator
from msgflash_async.webhooks import WebhookReceiver, aiohttp_webhook_handler, sign

BOT_EVENTS = [
    "message.received",
    "message.sent",
    "message.delivered",
    "message.read",
    "message.failed",
    "instance.connected",
    "instance.disconnected",
]

_ids = itertools.count(1)


async def eventually(check: Callable[[], object], limit: float = 5.0) -> None:
    """Wait until ``check()`` is true: what the emulator and bot do runs in their own tasks."""
    with anyio.fail_after(limit):
        while not check():  # noqa: ASYNC110 (state spread over tasks, no single event)
            await anyio.sleep(0.005)


def inbound(sender: str, text: str, *, instance: str = "inst_1", **extra: Any) -> dict[str, Any]:
    """A ``message.received`` payload as MsgFlash posts it (flat, camelCase)."""
    payload = {
        "event": "message.received",
        "instanceId": instance,
        "messageId": f"in_{next(_ids)}",
        "from": sender,
        "body": text,
        "type": "text",
        "status": "received",
    }
    payload.update(extra)
    return payload


@attrs.define
class Served:
    bot: Bot
    receiver: WebhookReceiver
    url: str
    secret: str
    http: aiohttp.ClientSession
    instance_id: str

    def inbound(self, sender: str, text: str, **extra: Any) -> dict[str, Any]:
        """An inbound payload on the emulator's instance, so replies can go out."""
        return inbound(sender, text, instance=self.instance_id, **extra)

    async def post(self, payload: dict[str, Any]) -> int:
        """Post ``payload`` signed as MsgFlash would; the HTTP status answered."""
        body = json.dumps(payload).encode()
        headers = {"X-MsgFlash-Signature": sign(body, self.secret)}
        async with self.http.post(self.url, data=body, headers=headers) as response:
            await response.read()
            return response.status


@asynccontextmanager
async def serve_bot(
    emu: Emulator,
    client: MsgFlashClient,
    router: Router,
    *,
    events: list[str] = BOT_EVENTS,
    handler_timeout: float | None = 5.0,
    **options: Any,
) -> AsyncIterator[Served]:
    """``router`` in a bot behind an aiohttp receiver the emulator delivers to."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/hooks"
        endpoint = await client.webhooks.create(url=url, events=events)
        assert endpoint.secret is not None
        secret = endpoint.secret.reveal()
        async with Bot(client, router, **options) as bot:
            receiver = bot.receiver(secret, handler_timeout=handler_timeout)
            app = web.Application()
            app.router.add_post("/hooks", aiohttp_webhook_handler(receiver))
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            try:
                await web.SockSite(runner, sock).start()
                async with aiohttp.ClientSession() as http:
                    yield Served(bot, receiver, url, secret, http, emu.instance_id)
            finally:
                await runner.cleanup()
