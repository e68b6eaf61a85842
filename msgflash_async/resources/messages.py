"""``client.messages``: send now, send later, read back, wait for delivery.

A send is accepted as ``queued`` and delivered later; the outcome comes by
webhook or by polling ``get()`` (``wait_for_status()`` does the polling).
``send()`` and ``schedule()`` are POSTs without an idempotency key: they are
never retried once the request may have reached the server, because a retry
could deliver the message twice. A ``TransportError`` with
``request_sent=True`` therefore means "unknown": look the message up with
``list()`` before sending again.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import AsyncIterable, AsyncIterator, Callable, Hashable, Iterable, Sized
from typing import Any

import anyio
import attrs
from attrs import frozen

from .._batch import BatchSender, BatchSource, BatchStream, JournalTarget
from .._batch_outcomes import BatchProgress, BatchReport
from .._batch_pipeline import Reconcile
from .._converter import unstructure
from .._exceptions import MessageCancelledError, MessageFailedError, ValidationError
from .._pagination import AsyncPaginator, resolve_resume
from .._reconcile import Reconciler, Settlement
from .._send_window import Guarded, SendWindow
from .._session import SendGuard, Session
from .._validation import check_limit
from ..models.messages import Message, MessageStatus, OutgoingMessage, status_reached
from ..models.templates import Template
from ..templating import require_variables
from ._base import Resource, api_path
from .billing import check_outbound_quota

__all__ = ["DEFAULT_WAIT_TIMEOUT", "Messages"]

DEFAULT_WAIT_TIMEOUT = 120.0
"""Seconds ``wait_for_status()`` waits by default."""

_MAX_POLL_INTERVAL = 15.0

# Built once: quoting the same segments for every send is measurable in bulk.
_SEND = api_path("messages", "send")
_SCHEDULE = api_path("messages", "schedule")


@frozen
class _ListQuery:
    # The query of GET /messages, so that its wire names come from the converter.
    instance_id: str | None = None
    status: str | None = None
    limit: int | None = None


class Messages(Resource):
    """Send, schedule, read and list messages."""

    async def send(
        self,
        message: OutgoingMessage,
        *,
        template: Template | None = None,
        guard: SendGuard | None = None,
    ) -> Message:
        """Send ``message`` now; the answer is usually just ``id`` and ``status: queued``.

        The message is validated first (``ValidationError``, no request). Pass
        the ``template`` a template message uses to also check its variables
        here: missing ``custom.*`` values, or ``contact.*`` without
        ``contact_id``, are refused before they cost a request and quota.
        ``guard`` is for a custom batch send (see ``Guarded``): pass on the
        window it is given.
        """
        if message.scheduled_at is not None:
            raise ValidationError(
                "use schedule() for a message with a send time", field="scheduled_at"
            )
        body = _checked(self._with_instance(message), template)
        return await self._post(_SEND, Message, key="message", json=body, guard=guard)

    def send_many(
        self,
        messages: BatchSource[OutgoingMessage],
        *,
        concurrency: int = 32,
        journal: JournalTarget | None = None,
        on_progress: Callable[[BatchProgress], object] | None = None,
        key: Callable[[OutgoingMessage], Hashable] | None = None,
        template: Template | None = None,
        check_quota: bool = False,
        reconcile: bool = True,
        settle_after: float = 2.0,
    ) -> BatchStream[OutgoingMessage, Message]:
        """Send a large batch: one outcome per input, a report, an optional journal.

        ``messages`` is any iterable or async iterable of messages (or
        ``(key, message)`` pairs), read lazily. Use it as ``async with
        client.messages.send_many(msgs) as outcomes: async for o in outcomes``
        to see each outcome as it completes, or ``report = await
        client.messages.send_many(msgs)`` for the report only. Sends run under
        the client's rate limiter; nothing that may have reached the server
        is sent again (it is reported ``unknown``). With ``journal`` (a file
        path, or a :class:`BatchJournal`), running the same inputs again sends
        only what was not accepted.
        ``template`` is checked against every input as in ``send(template=...)``:
        an input missing a ``custom.*`` value (or using another template) is
        ``rejected`` with a ``ValidationError`` and costs no request.
        ``check_quota=True`` (for a list or anything with ``len()``) reads the
        remaining monthly outbound quota first and, if the batch cannot fit,
        raises :class:`InsufficientQuotaError` (``.fits``: how many would)
        before anything is sent; with a team key it is skipped with a warning.
        On a resume, inputs an earlier run left in doubt (a crash, a lost
        answer) are settled against the instance's message list first
        (``reconcile=False`` turns it off; see :meth:`reconcile` for the rule
        and ``settle_after``): found, they are ``skipped`` with the server's
        message id; provably not sent, they are sent now; otherwise they stay
        ``unknown`` with the reason.
        """
        if check_quota:
            messages = _quota_checked(self._session, messages)

        async def send(message: OutgoingMessage, window: SendWindow) -> Message:
            return await self.send(message, template=template, guard=window)

        sender = BatchSender(
            Guarded(send),
            concurrency=concurrency,
            journal=journal,
            on_progress=on_progress,
            key=key,
            on_report=_batch_observer(self._session, "messages.send_many"),
            reconcile=self._settler(settle_after) if reconcile and journal is not None else None,
        )
        return sender.stream(messages)

    def _settler(self, settle_after: float) -> Reconcile[OutgoingMessage]:
        reconciler = Reconciler(self._by_instance, settle_after=settle_after)

        async def settle(
            message: OutgoingMessage, attempted_at: float | None
        ) -> tuple[str, str | None, str]:
            found = await reconciler.settle(self._with_instance(message), attempted_at)
            return found.verdict.value, found.message_id, found.reason

        return settle

    def _with_instance(self, message: OutgoingMessage) -> OutgoingMessage:
        """``message`` with the client's default instance if it names none."""
        if message.instance_id is not None:
            return message
        default = self._session.default_instance_id
        if default is None:
            raise ValidationError(
                "the message names no instance: pass instance_id=..., or give the client "
                "one (MsgFlashClient(instance_id=...) or MSGFLASH_INSTANCE_ID)",
                field="instance_id",
            )
        return attrs.evolve(message, instance_id=default)

    def _by_instance(self, instance_id: str) -> AsyncPaginator[Message]:
        return self.list(instance_id=instance_id, limit=100)

    async def reconcile(
        self,
        sends: Iterable[tuple[OutgoingMessage, float | dt.datetime | None]],
        *,
        skew: float = 60.0,
        settle_after: float = 2.0,
    ) -> list[Settlement]:
        """Settle sends whose outcome is unknown against the server, one result each.

        Each item is a message and when it was attempted (a Unix time or an
        aware datetime; a batch's ``JournalEntry.attempted_at``). The rule:
        the instance's messages created since the attempt (minus ``skew``
        seconds for clock drift) are listed; none to that recipient means
        :attr:`~SettlementVerdict.NOT_SENT` (send it again); exactly one with
        the same content (type and text, body or media URL; the recipient
        alone for a template send) is :attr:`~SettlementVerdict.ACCEPTED`
        with its id; anything else stays :attr:`~SettlementVerdict.UNKNOWN`
        with the reason. An attempt younger than ``settle_after`` seconds is
        waited out first, as a request cut off mid-flight may still land.
        """
        reconciler = Reconciler(self._by_instance, skew=skew, settle_after=settle_after)
        results = []
        for message, when in sends:
            at = when.timestamp() if isinstance(when, dt.datetime) else when
            results.append(await reconciler.settle(self._with_instance(message), at))
        return results

    async def send_text(self, *, instance_id: str | None = None, to: str, text: str) -> Message:
        """Shorthand for ``send(OutgoingMessage.text_message(to=..., text=...))``."""
        return await self.send(
            OutgoingMessage.text_message(instance_id=instance_id, to=to, text=text)
        )

    async def schedule(
        self,
        message: OutgoingMessage,
        scheduled_at: dt.datetime,
        *,
        template: Template | None = None,
    ) -> Message:
        """Have the server send ``message`` at ``scheduled_at`` (timezone-aware).

        The outbound quota is checked again at send time, so a scheduled
        message can still fail then.
        """
        if not isinstance(scheduled_at, dt.datetime) or scheduled_at.utcoffset() is None:
            raise ValidationError(
                "expected a timezone-aware datetime, e.g. datetime.now(timezone.utc)",
                field="scheduled_at",
            )
        message = attrs.evolve(self._with_instance(message), scheduled_at=scheduled_at)
        body = _checked(message, template)
        return await self._post(_SCHEDULE, Message, key="message", json=body)

    async def get(self, message_id: str, *, guard: SendGuard | None = None) -> Message:
        """One message with its current status (``NotFoundError`` if unknown)."""
        return await self._get(
            api_path("messages", message_id), Message, key="message", guard=guard
        )

    def list(
        self,
        *,
        instance_id: str | None = None,
        status: MessageStatus | str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        resume: str | None = None,
        max_items: int | None = None,
        prefetch: bool = False,
    ) -> AsyncPaginator[Message]:
        """Messages, newest first as the server orders them, streamed.

        ``async for m in client.messages.list(status="failed")``; ``await`` it
        for the first page only. The page size default and maximum are not
        documented, so ``limit`` is sent only when given. ``resume`` takes a
        ``paginator.resume_token`` and restores that scan's filters.
        """
        check_limit(limit, maximum=None)  # the page size maximum is not documented
        status_value = None if status is None else MessageStatus(status).value
        given = unstructure(_ListQuery(instance_id, status_value, limit))
        start, query = resolve_resume(resume, cursor, given)
        return self._cursor_list(
            api_path("messages"),
            Message,
            ("messages", "items"),
            params=query,
            cursor=start,
            max_items=max_items,
            prefetch=prefetch,
        )

    async def wait_for_status(
        self,
        message_id: str,
        status: MessageStatus | str = MessageStatus.DELIVERED,
        *,
        timeout: float | None = DEFAULT_WAIT_TIMEOUT,  # noqa: ASYNC109 (API shape)
        poll_interval: float = 1.0,
    ) -> Message:
        """Poll ``get()`` until the message reaches ``status`` or a later one.

        Later means along ``queued -> sent -> delivered -> read``: waiting
        for ``delivered`` returns a message already ``read``. A status the
        SDK does not know (``message.status.known`` is False, e.g. ``played``
        after ``read``) ends the wait too and is returned: the message moved
        on to where the SDK cannot place it, and waiting for a known status
        that may never come would only time out; check the status you get.
        The interval grows from ``poll_interval`` by half each time, up to
        15 s. Raises :class:`MessageFailedError` /
        :class:`MessageCancelledError` when the message ends there instead,
        and the built-in ``TimeoutError`` after ``timeout`` seconds (``None``:
        no limit). A webhook receiver is cheaper for many messages.
        """
        target = MessageStatus(status)
        if (timeout is not None and timeout <= 0) or poll_interval <= 0:
            raise ValidationError("timeout and poll_interval must be positive", field="timeout")
        last: Message | None = None
        try:
            with anyio.fail_after(timeout):
                interval = poll_interval
                while True:
                    last = await self.get(message_id)
                    if _settled(last, target):
                        return last
                    await anyio.sleep(interval)
                    interval = min(interval * 1.5, max(_MAX_POLL_INTERVAL, poll_interval))
        except TimeoutError:
            seen = "no answer" if last is None else f"last status {last.status}"
            raise TimeoutError(
                f"message {message_id} did not reach {target.value!r} within {timeout}s ({seen})"
            ) from None


def _settled(message: Message, target: MessageStatus) -> bool:
    """True when ``message`` reached ``target`` or an unknown status; raises when it never will."""
    if status_reached(message.status, target):
        return True
    if message.status is not None and not message.status.known:
        return True  # progress the SDK cannot place: returned, never waited on
    if message.status is MessageStatus.FAILED:
        raise MessageFailedError(f"message {message.id} failed: {message.error!r}", msg=message)
    if message.status is MessageStatus.CANCELLED:
        raise MessageCancelledError(f"message {message.id} was cancelled", msg=message)
    return False


def _quota_checked(
    session: Session, messages: BatchSource[OutgoingMessage]
) -> BatchSource[OutgoingMessage]:
    """``messages``, read only once the quota preflight has passed.

    The batch reads its source inside its own task group, so a refusal
    surfaces exactly like a failing source: raised before any send.
    """
    if not isinstance(messages, Sized):
        raise ValidationError(
            "check_quota needs the messages as a list (anything with len())",
            field="check_quota",
        )
    count = len(messages)

    async def checked() -> AsyncIterator[Any]:
        await check_outbound_quota(session, count)
        if isinstance(messages, AsyncIterable):
            async for item in messages:
                yield item
        else:
            for item in messages:
                yield item

    return checked()


def _checked(message: OutgoingMessage, template: Template | None) -> Any:
    """The wire body of ``message`` once it passes every client-side check."""
    message.validate()
    if template is not None:
        if message.template_id != template.id:
            raise ValidationError(
                f"the message uses template {message.template_id!r}, not {template.id!r}",
                field="template",
            )
        require_variables(
            template.body, message.variables, has_contact=message.contact_id is not None
        )
    return unstructure(message)


def _batch_observer(session: Session, operation: str) -> Callable[[BatchReport], object] | None:
    """The telemetry observer's batch hook, when the client has an observer."""
    observer = session.observer
    if observer is None:
        return None
    return functools.partial(observer.batch_finished, operation)
