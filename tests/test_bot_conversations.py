"""Replies, questions that wait for their answer, and statuses from the webhook stream,
end to end: the emulator delivers inbound messages and statuses to a bot over loopback."""

from __future__ import annotations

import anyio
import pytest
from bot_support import eventually, serve_bot

from msgflash_async import MsgFlashClient
from msgflash_async.bot import (
    BotEvent,
    ConversationTimeoutError,
    Router,
    command,
    regex,
)
from msgflash_async.models.messages import MessageStatus
from msgflash_async.testing import Emulator

pytestmark = pytest.mark.anyio

A, B = "+22990000001", "+22990000002"


async def sent_to(emu: Emulator, number: str, count: int) -> list[dict[str, object]]:
    """The first ``count`` messages the emulator accepted for ``number``, waiting for them."""
    await eventually(lambda: len([m for m in emu.sent_messages if m["to"] == number]) >= count)
    return [m for m in emu.sent_messages if m["to"] == number]


async def test_reply_is_sent_to_the_sender_through_the_same_instance_and_read(
    emu: Emulator, client: MsgFlashClient
) -> None:
    other = emu.add_instance("second", wa_number="+33100000002")
    statuses: list[MessageStatus] = []
    router = Router()

    @router.message(command("ping"))
    async def ping(event: BotEvent) -> None:
        sent = await event.reply(f"pong {event.args}")
        statuses.append(await event.conversation.wait_for_status(sent, MessageStatus.READ))
        await event.reply_image("https://cdn.test/pong.png", caption="and a picture")

    emu.settings.message_step = 0.01
    async with serve_bot(emu, client, router):
        emu.simulate_inbound("+22990000001", "/ping one", instance_id=other)
        replies = await sent_to(emu, "+22990000001", 2)
        await emu.webhooks.wait_idle()
    assert statuses == [MessageStatus.READ]
    first, second = replies
    assert (first["body"], first["instanceId"], first["type"]) == ("pong one", other, "text")
    assert (second["instanceId"], second["type"]) == (other, "image")
    assert emu.message(str(first["id"]))["status"] == "read"


def order_router(log: list[str]) -> Router:
    router = Router()

    @router.message(command("order"))
    async def ask_order(event: BotEvent) -> None:
        try:
            answer = await event.conversation.ask(
                "Your order number?", timeout=2, filter=regex(r"^\d+$")
            )
        except ConversationTimeoutError:
            await event.reply("Too slow, start again with /order")
            log.append(f"{event.sender} timed out")
            return
        log.append(f"{event.sender} answered {answer.text}")
        await answer.reply(f"Order {answer.text} is on its way")

    @router.message()
    async def other(event: BotEvent) -> None:
        log.append(f"{event.sender} said {event.text}")

    return router


async def test_ask_waits_for_that_senders_answer_while_others_are_served(
    emu: Emulator, client: MsgFlashClient
) -> None:
    log: list[str] = []
    async with serve_bot(emu, client, order_router(log)) as served:
        assert await served.post(served.inbound(A, "/order")) == 200  # answered while it waits
        await sent_to(emu, A, 1)
        assert served.bot.waiting == 1
        assert await served.post(served.inbound(B, "12")) == 200  # another sender: routed
        assert await served.post(served.inbound(A, "not a number")) == 200  # filter refuses
        assert await served.post(served.inbound(A, "42")) == 200  # the answer
        replies = await sent_to(emu, A, 2)
        assert served.bot.waiting == 0 and served.bot.active_senders == 0
    assert log == [f"{B} said 12", f"{A} said not a number", f"{A} answered 42"]
    assert [r["body"] for r in replies] == ["Your order number?", "Order 42 is on its way"]


async def test_ask_times_out_with_a_typed_error_and_the_handler_goes_on(
    emu: Emulator, client: MsgFlashClient
) -> None:
    log: list[str] = []
    router = Router()

    @router.message()
    async def ask(event: BotEvent) -> None:
        try:
            await event.conversation.ask("Still there?", timeout=0.05)
        except ConversationTimeoutError as exc:
            assert isinstance(exc, TimeoutError)
            log.append("timed out")
            await event.reply("Bye")

    async with serve_bot(emu, client, router) as served:
        assert await served.post(served.inbound(A, "hi")) == 200
        replies = await sent_to(emu, A, 2)
        await eventually(lambda: not served.bot.active_senders)
        assert served.bot.waiting == 0
    assert log == ["timed out"]
    assert [r["body"] for r in replies] == ["Still there?", "Bye"]


async def test_cancelled_wait_cleans_up_and_the_next_message_is_routed(
    emu: Emulator, client: MsgFlashClient
) -> None:
    log: list[str] = []
    router = Router()

    @router.message(command("ask"))
    async def ask(event: BotEvent) -> None:
        with anyio.move_on_after(0.05) as scope:
            await event.conversation.ask("Your name?", timeout=None)
        log.append(f"gave up={scope.cancelled_caught}")

    @router.message()
    async def other(event: BotEvent) -> None:
        log.append(f"routed {event.text}")

    async with serve_bot(emu, client, router) as served:
        assert await served.post(served.inbound(A, "/ask")) == 200
        await eventually(lambda: log)
        assert served.bot.waiting == 0 and served.bot.active_senders == 0
        assert await served.post(served.inbound(A, "Awa")) == 200
    assert log == ["gave up=True", "routed Awa"]


async def test_stopping_the_bot_cancels_waiting_conversations(
    emu: Emulator, client: MsgFlashClient
) -> None:
    log: list[str] = []
    async with serve_bot(emu, client, order_router(log)) as served:
        for who in (A, B):
            assert await served.post(served.inbound(who, "/order")) == 200
        await sent_to(emu, B, 1)
        assert served.bot.waiting == 2
        bot = served.bot
    assert bot.waiting == 0 and bot.active_senders == 0
    assert log == []


async def test_an_answer_that_fails_its_handler_is_delivered_again(
    emu: Emulator, client: MsgFlashClient
) -> None:
    answers: list[str] = []
    router = Router()

    @router.message(command("pick"))
    async def pick(event: BotEvent) -> None:
        answer = await event.conversation.ask("Pick a number", timeout=5)
        answers.append(answer.text or "")
        raise RuntimeError("could not store the answer")

    @router.message()
    async def other(event: BotEvent) -> None:
        answers.append(f"routed {event.text}")

    async with serve_bot(emu, client, router) as served:
        assert await served.post(served.inbound(A, "/pick")) == 200
        await sent_to(emu, A, 1)
        answer = served.inbound(A, "7")
        assert await served.post(answer) == 500  # the answer's delivery carries the failure
        assert await served.post(answer) == 200  # delivered again: routed as usual
    assert answers == ["7", "routed 7"]
