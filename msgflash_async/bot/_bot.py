"""The bot: webhook events in, routed handlers run, each delivery answered with their outcome.

A :class:`Bot` is the ``on_event`` of a :class:`~msgflash_async.webhooks.WebhookReceiver`
(or of any receiver adapter), so signatures are checked and duplicates
dropped by the receiver's dedupe store before anything is routed::

    async with MsgFlashClient() as client, Bot(client, router) as bot:
        handler = aiohttp_webhook_handler(WebhookReceiver(secret, bot))
        app.router.add_post("/webhooks/msgflash", handler)

Ordering: the events of one sender (one number on one instance) run one at
a time in arrival order; different senders run concurrently, at most
``max_concurrency`` at once. Each handler runs in a task of the bot's own
task group, and the delivery waits for it to end or to wait for an answer;
a handler that raises is logged with the event and the delivery answered
500, so MsgFlash delivers it again. At most ``max_pending`` deliveries wait
for their turn and ``max_waiting`` conversations for an answer; past that
the delivery is refused (500) and retried later. Nothing is kept for a
sender who is not being served or asked something.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, TypeAlias

import anyio
from anyio.abc import TaskGroup

from .._exceptions import BotBusyError, ConversationCancelledError
from .._repr import tolerant_repr
from ..models.webhooks import WebhookEvent, WebhookEventType
from ..webhooks import StatusTracker, WebhookReceiver
from ._context import BotEvent
from ._conversation import Conversation, Hub
from ._lanes import Segment
from ._router import Handler, Router
from ._state import MemoryStateStorage, StateStorage

if TYPE_CHECKING:
    from .._client import MsgFlashClient
    from ..webhooks import SecretsLike

__all__ = ["Bot"]

logger: Final = logging.getLogger("msgflash_async.bot")

_RECEIVED: Final = WebhookEventType.MESSAGE_RECEIVED.value


_Job: TypeAlias = tuple[Handler, BotEvent, Conversation]


class _Worker:
    """A task of the bot's group that runs handlers one after another."""

    __slots__ = ("job", "ready")

    def __init__(self) -> None:
        self.job: _Job | None = None
        self.ready = anyio.Event()


class Bot:
    """Routes webhook events to the handlers of ``router``; replies go through ``client``.

    ``storage`` keeps each sender's state (default: in memory; pass a
    :class:`RedisStateStorage` to survive restarts and share it between
    replicas). ``tracker`` follows the statuses of sent messages from the
    webhook stream (default: a fresh :class:`StatusTracker`). Use it as an
    async context manager: its handlers run in its task group, cancelled on exit.
    """

    def __init__(
        self,
        client: MsgFlashClient,
        router: Router,
        *,
        storage: StateStorage | None = None,
        tracker: StatusTracker | None = None,
        max_concurrency: int = 64,
        max_pending: int = 10_000,
        max_waiting: int = 10_000,
    ) -> None:
        if min(max_concurrency, max_pending, max_waiting) < 1:
            raise ValueError("max_concurrency, max_pending and max_waiting must be positive")
        self.client = client
        self.router = router
        self.storage: StateStorage = MemoryStateStorage() if storage is None else storage
        self.tracker = StatusTracker() if tracker is None else tracker
        self._hub = Hub(
            max_concurrency=max_concurrency, max_waiting=max_waiting, tracker=self.tracker
        )
        self._max_pending = max_pending
        self._pending = 0
        self._task_group: TaskGroup | None = None
        self._idle: list[_Worker] = []
        self._max_idle = max_concurrency

    @tolerant_repr
    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(router={self.router!r}, storage={self.storage!r}, "
            f"pending={self._pending}, waiting={self._hub.waiting})"
        )

    @property
    def pending(self) -> int:
        """Deliveries being handled or waiting for their turn right now."""
        return self._pending

    @property
    def waiting(self) -> int:
        """Conversations waiting for an answer right now."""
        return self._hub.waiting

    @property
    def active_senders(self) -> int:
        """Senders with an event being handled or queued, or a question waiting."""
        return len(self._hub.lanes) + self._hub.senders_waiting

    async def __aenter__(self) -> Bot:
        if self._task_group is not None:
            raise RuntimeError("this bot is already running")
        task_group = anyio.create_task_group()
        await task_group.__aenter__()
        self._task_group = task_group
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        task_group, self._task_group = self._task_group, None
        assert task_group is not None
        task_group.cancel_scope.cancel()  # waiting conversations end; their state stays
        self._idle.clear()
        return await task_group.__aexit__(exc_type, exc, tb)

    def receiver(self, secrets: SecretsLike, **options: Any) -> WebhookReceiver:
        """A :class:`WebhookReceiver` feeding this bot (``options`` as the receiver's)."""
        return WebhookReceiver(secrets, self, **options)

    async def __call__(self, event: WebhookEvent) -> None:
        """The receiver's ``on_event``: see :meth:`handle`."""
        await self.handle(event)

    async def handle(self, event: WebhookEvent) -> None:
        """Route one event and wait until its handler ends or waits; re-raise its failure."""
        if self._task_group is None:
            raise RuntimeError("the bot is not running: use `async with bot:` around serving")
        self.tracker.apply(event)  # before the lane: a waiting handler may hold it
        if self._pending >= self._max_pending:
            raise BotBusyError(f"{self._pending} deliveries are already waiting (max_pending)")
        bot_event = BotEvent(event, client=self.client, storage=self.storage, hub=self._hub)
        key = bot_event.sender_key
        self._pending += 1
        try:
            await self._hub.enter(key)
            try:
                await self._route(bot_event)
            finally:
                self._hub.leave(key)
        finally:
            self._pending -= 1

    async def _route(self, event: BotEvent) -> None:
        offered = None
        if event.kind == _RECEIVED and event.sender_key is not None:
            offered = await self._hub.offer(event.sender_key, event)
        if offered is None:
            route = await self.router.resolve(event)
            if route is None:
                logger.debug("bot: no handler for %s", event.kind)
                return
            event.data.update(route.data)
            segment = Segment()
            conversation = Conversation(self._hub, event, segment)
            event.conversation = conversation
            self._dispatch((route.call(), event, conversation))
        else:
            segment, conversation = offered
        try:
            await segment.ended.wait()
        except BaseException:  # the delivery gave up (handler_timeout): so does the handler
            conversation.cancel()
            raise
        if segment.error is not None:
            raise segment.error

    def _dispatch(self, job: _Job) -> None:
        # An idle worker takes the job; a new one starts only when none is idle.
        if self._idle:
            worker = self._idle.pop()
            worker.job = job
            worker.ready.set()
        else:
            assert self._task_group is not None
            self._task_group.start_soon(self._work, job)

    async def _work(self, job: _Job) -> None:
        # A worker waiting in a conversation is busy: handlers never wait on
        # one another for a worker. At most max_concurrency stay idle.
        worker = _Worker()
        while True:
            await self._run(*job)
            if len(self._idle) >= self._max_idle:
                return
            self._idle.append(worker)
            await worker.ready.wait()
            assert worker.job is not None
            job, worker.job, worker.ready = worker.job, None, anyio.Event()

    async def _run(self, call: Handler, event: BotEvent, conversation: Conversation) -> None:
        error: BaseException | None = ConversationCancelledError("the handler was cancelled")
        try:
            with conversation.scope:
                await call(event)
                error = None
        except Exception as exc:
            logger.exception("bot handler failed on %r", event.event)
            error = exc
        finally:
            conversation.end(error)
