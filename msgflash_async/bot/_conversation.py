"""Conversations: a handler asks its sender a question and waits for the answer.

While a handler waits (:meth:`Conversation.ask`, :meth:`Conversation.wait_for_status`)
it holds nothing: the delivery that started it is answered, the sender's lane
and the concurrency slot are free, so other senders, and other messages of
the same sender, keep being served. The answer's own delivery then carries
the rest of the handler: it waits for the handler to finish (or wait again)
and answers 500 if it fails, so MsgFlash delivers the answer again. A
handler that goes on after a status or a timeout takes the sender's lane and
a slot again first, so a sender's events still run one at a time.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING

import anyio

from .._exceptions import BotBusyError, ConversationCancelledError, ConversationTimeoutError
from .._repr import tolerant_repr
from ..models.messages import Message, MessageStatus
from ..webhooks import StatusTracker
from ._filters import Filter
from ._lanes import Lanes, Segment, Slots

if TYPE_CHECKING:
    from ._context import BotEvent

__all__ = ["Conversation", "Hub"]

DEFAULT_ASK_TIMEOUT = 60.0


class _Waiter:
    __slots__ = ("answer", "answered", "conversation", "filter", "segment")

    def __init__(self, conversation: Conversation, filter: Filter | None) -> None:
        self.conversation = conversation
        self.filter = filter
        self.answered = anyio.Event()
        self.answer: BotEvent | None = None
        self.segment: Segment | None = None


class Hub:
    """What the conversations of one bot share: lanes, the bound, the waiting questions."""

    def __init__(self, *, max_concurrency: int, max_waiting: int, tracker: StatusTracker) -> None:
        self.lanes = Lanes()
        self.slots = Slots(max_concurrency)
        self.tracker = tracker
        self.max_waiting = max_waiting
        self._waiters: dict[Hashable, list[_Waiter]] = {}
        self.waiting = 0

    @tolerant_repr
    def __repr__(self) -> str:
        return f"{type(self).__name__}(lanes={len(self.lanes)}, waiting={self.waiting})"

    @property
    def senders_waiting(self) -> int:
        """Senders with at least one question waiting for their answer."""
        return len(self._waiters)

    async def offer(self, key: Hashable, event: BotEvent) -> tuple[Segment, Conversation] | None:
        """Hand an inbound message to the first waiting question of its sender that takes it."""
        for waiter in tuple(self._waiters.get(key, ())):
            found = {} if waiter.filter is None else await waiter.filter.check(event)
            if found is None or waiter.answer is not None:
                continue
            event.data.update(found)
            waiter.answer, waiter.segment = event, Segment()
            waiter.answered.set()
            return waiter.segment, waiter.conversation
        return None

    def add(self, key: Hashable, waiter: _Waiter) -> None:
        if self.waiting >= self.max_waiting:
            raise BotBusyError(f"{self.waiting} conversations are already waiting (max_waiting)")
        self._waiters.setdefault(key, []).append(waiter)
        self.waiting += 1

    def remove(self, key: Hashable, waiter: _Waiter) -> None:
        waiters = self._waiters.get(key)
        if waiters is None or waiter not in waiters:
            return
        waiters.remove(waiter)
        self.waiting -= 1
        if not waiters:
            del self._waiters[key]

    async def detached(self, key: Hashable) -> Segment:
        """Take the sender's lane and a slot from this task, until the segment ends."""
        await self.enter(key)
        return Segment(lambda: self.leave(key))

    async def enter(self, key: Hashable) -> None:
        """Wait for the sender's turn (``None``: no lane), then for a slot."""
        if key is not None:
            await self.lanes.acquire(key)
        try:
            await self.slots.acquire()
        except BaseException:
            if key is not None:
                self.lanes.release(key)
            raise

    def leave(self, key: Hashable) -> None:
        self.slots.release()
        if key is not None:
            self.lanes.release(key)


class Conversation:
    """A handler's line to its sender (``event.conversation``)."""

    def __init__(self, hub: Hub, event: BotEvent, segment: Segment) -> None:
        self._hub = hub
        self._event = event
        self._segment = segment
        self.scope = anyio.CancelScope()

    @tolerant_repr
    def __repr__(self) -> str:
        return f"{type(self).__name__}(sender={self._event.sender!r})"

    async def ask(
        self,
        question: str,
        *,
        timeout: float | None = DEFAULT_ASK_TIMEOUT,  # noqa: ASYNC109 (the API's shape)
        filter: Filter | None = None,
    ) -> BotEvent:
        """Send ``question`` to the sender and return their next message ``filter`` takes.

        Messages the filter does not take are routed as usual meanwhile.
        Raises :class:`ConversationTimeoutError` after ``timeout`` seconds
        (None: no limit).
        """
        await self._event.reply(question)
        return await self.wait_for_message(timeout=timeout, filter=filter)

    async def wait_for_message(
        self,
        *,
        timeout: float | None = DEFAULT_ASK_TIMEOUT,  # noqa: ASYNC109 (the API's shape)
        filter: Filter | None = None,
    ) -> BotEvent:
        """Like :meth:`ask` without sending anything first."""
        key = self._event.sender_key
        waiter = _Waiter(self, filter)
        self._hub.add(key, waiter)
        self._segment.end()  # free the delivery, the lane and the slot while waiting
        try:
            with anyio.fail_after(timeout):
                await waiter.answered.wait()
        except TimeoutError:
            if waiter.answer is None:  # else the answer came just as time ran out: take it
                self._hub.remove(key, waiter)
                self._segment = await self._hub.detached(key)
                raise ConversationTimeoutError(
                    f"no answer from the sender within {timeout} s"
                ) from None
        except BaseException:
            if waiter.segment is not None:  # refuse the answer: MsgFlash delivers it again
                waiter.segment.end(ConversationCancelledError("the conversation was cancelled"))
            raise
        finally:
            self._hub.remove(key, waiter)
        assert waiter.answer is not None and waiter.segment is not None
        self._segment = waiter.segment
        waiter.answer.conversation = self
        self._event.state.refresh()  # other handlers of this sender may have changed it
        return waiter.answer

    async def wait_for_status(
        self,
        message: Message | str,
        status: MessageStatus | str = MessageStatus.DELIVERED,
        *,
        timeout: float | None = DEFAULT_ASK_TIMEOUT,  # noqa: ASYNC109 (the API's shape)
    ) -> MessageStatus:
        """Wait, from the webhook stream, until a sent message reaches ``status`` or later.

        A final status ends the wait even if it is not the one asked for
        (``failed`` while waiting for ``read``), so check the result. The bot
        must receive the status events (subscribe its endpoint to them).
        """
        message_id = message if isinstance(message, str) else message.id
        self._segment.end()
        try:
            reached = await self._hub.tracker.wait_for(message_id, status, timeout=timeout)
        except TimeoutError:
            self._segment = await self._hub.detached(self._event.sender_key)
            raise ConversationTimeoutError(
                f"message {message_id} did not reach {MessageStatus(status).value!r} "
                f"within {timeout} s"
            ) from None
        self._segment = await self._hub.detached(self._event.sender_key)
        self._event.state.refresh()
        return reached

    def end(self, error: BaseException | None) -> None:
        """The handler returned (None) or failed: answer the delivery waiting on it."""
        self._segment.end(error)

    def cancel(self) -> None:
        """Stop the handler, wherever it is."""
        self.scope.cancel()
