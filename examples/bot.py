"""An order-status bot: a command, a question that waits for its answer, and state.

``/status`` asks for the order number (or takes it inline: ``/status 1042``),
waits for the customer's answer and replies with the order's status; the
number is kept in the customer's conversation state, so ``/last`` repeats it
later. ``/start`` explains; anything else gets a hint.

Serving for real (MsgFlash posts to ``https://your.host/webhooks/msgflash``;
``REDIS_URL`` keeps the state across restarts and replicas)::

    export MSGFLASH_API_KEY=msgf_live_... MSGFLASH_WEBHOOK_SECRET=whsec_...
    python examples/bot.py serve 8080

With no key set, ``python examples/bot.py`` plays a customer against an
in-process emulator and prints the conversation.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys

from aiohttp import web

from msgflash_async import MsgFlashClient
from msgflash_async.bot import (
    Bot,
    BotEvent,
    ConversationTimeoutError,
    MemoryStateStorage,
    RedisStateStorage,
    Router,
    StateStorage,
    command,
    log_events,
    regex,
)
from msgflash_async.testing import Emulator
from msgflash_async.webhooks import WebhookReceiver, aiohttp_webhook_handler

ORDERS = {"1042": "shipped, arriving Thursday", "1043": "being packed"}
ORDER_NUMBER = regex(r"^\s*(\d{3,10})\s*$")


def describe(number: str) -> str:
    status = ORDERS.get(number)
    return f"Order {number}: {status}." if status else f"No order {number} found."


def build_router(ask_timeout: float = 60.0) -> Router:
    router = Router("orders")
    router.middleware(log_events())

    @router.message(command("start", "help"))
    async def start(event: BotEvent) -> None:
        await event.reply("Hi! Send /status to track an order, /last for the last one.")

    @router.message(command("status"))
    async def status(event: BotEvent) -> None:
        number = event.args
        if not number:
            try:  # other customers are served while this one thinks
                answer = await event.conversation.ask(
                    "Your order number?", timeout=ask_timeout, filter=ORDER_NUMBER
                )
            except ConversationTimeoutError:
                await event.reply("No order number came; send /status to try again.")
                return
            assert answer.match is not None
            number = answer.match.group(1)
        await event.state.update(last_order=number)
        await event.reply(describe(number))

    @router.message(command("last"))
    async def last(event: BotEvent) -> None:
        number = (await event.state.get()).data.get("last_order")
        await event.reply(describe(number) if number else "No order asked about yet.")

    @router.message()
    async def hint(event: BotEvent) -> None:
        await event.reply("Send /status to track an order.")

    return router


def storage_from_env() -> StateStorage:
    url = os.environ.get("REDIS_URL")
    return RedisStateStorage.from_url(url, ttl=7 * 24 * 3600) if url else MemoryStateStorage()


async def serve(port: int) -> None:
    """Serve the bot's webhook until interrupted."""
    secret = os.environ["MSGFLASH_WEBHOOK_SECRET"]
    async with (
        MsgFlashClient() as client,
        Bot(client, build_router(), storage=storage_from_env()) as bot,
    ):
        app = web.Application()
        app.router.add_post(
            "/webhooks/msgflash", aiohttp_webhook_handler(WebhookReceiver(secret, bot))
        )
        runner = web.AppRunner(app)
        await runner.setup()
        try:
            await web.TCPSite(runner, "0.0.0.0", port).start()
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()


async def demo(emu: Emulator, customer: str = "+22990000001") -> list[str]:
    """Play ``customer`` against the bot on ``emu``; the conversation, one line per message."""
    # The socket is bound first: its URL is registered, and the secret the
    # registration returns is what the webhook route checks.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/webhooks/msgflash"
        async with MsgFlashClient(emu.api_key, base_url=emu.base_url) as client:
            endpoint = await client.webhooks.create(url=url, events=["message.received"])
            assert endpoint.secret is not None
            async with Bot(client, build_router()) as bot:
                app = web.Application()
                handler = aiohttp_webhook_handler(WebhookReceiver(endpoint.secret.reveal(), bot))
                app.router.add_post("/webhooks/msgflash", handler)
                runner = web.AppRunner(app, access_log=None)
                await runner.setup()
                try:
                    await web.SockSite(runner, sock).start()
                    return await _converse(emu, customer)
                finally:
                    await runner.cleanup()


async def _converse(emu: Emulator, customer: str) -> list[str]:
    lines: list[str] = []
    for text in ("/start", "/status", "1042", "/last", "/status 1043"):
        lines.append(f"{customer}: {text}")
        emu.simulate_inbound(customer, text)
        # A delivery is answered once its handler is done or waits for an answer,
        # so the reply has gone out by then.
        await emu.webhooks.wait_idle()
        lines.append(f"bot: {emu.sent_messages[-1]['body']}")
    return lines


async def main(argv: list[str]) -> int:
    if argv[:1] == ["serve"]:
        await serve(int(argv[1]) if len(argv) > 1 else 8080)
        return 0
    async with Emulator(rate_limit=None, message_step=0.05) as emu:
        for line in await demo(emu):
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
