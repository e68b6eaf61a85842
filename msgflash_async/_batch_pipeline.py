"""The batch pipeline: one producer, ``concurrency`` workers, a stop that reaches them all.

One producer pulls inputs lazily from any iterable or async iterable into a
bounded stream (one input per worker), and ``concurrency`` workers pull from
it: a fixed set of tasks, not one per message (a task costs ~20 us). Only
what is in flight is held in memory.

Each worker sends its input through a :class:`~._send_window.SendWindow`: the
journal's attempt record is made durable when the request leaves (the
session's ``depart`` hook, after the rate limiter and the pool let it go), so
a crash leaves only requests really in flight unknown. A stop (quota, the
caller left, a failure of the batch itself) withdraws every window still
queued: those inputs are ``not_attempted``, unless an earlier request of the
same ``send`` may have been taken (``unknown``). Cancellation stops at once;
whatever was read and did not end is accounted ``not_attempted`` at close.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterable, Awaitable, Callable, Hashable, Sized
from typing import TYPE_CHECKING, Generic, TypeVar, Union

import anyio
import attrs
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._batch_outcomes import (
    OutcomeStatus,
    SendOutcome,
    Tally,
    classify_error,
    from_journal,
    record_outcome,
    stop_reason_for,
)
from ._exceptions import MsgFlashError, ValidationError
from ._journal import BatchJournal, JournalEntry, fingerprint
from ._send_window import Guarded, SendWindow, Withdrawn

if TYPE_CHECKING:
    from ._batch import BatchInput, BatchSender, BatchSource

__all__ = ["Pipeline", "Reconcile", "Stop"]

M = TypeVar("M")
R = TypeVar("R")
T = TypeVar("T")

NOT_ATTEMPTED = OutcomeStatus.NOT_ATTEMPTED

# What the producer hands a worker: index, key, message, fingerprint (with a journal).
_Item = tuple[int, Union[Hashable, None], M, Union[str, None]]  # noqa: UP007
_Out = MemoryObjectSendStream[SendOutcome[R]]

#: Settles an input in doubt: ``(message, attempted_at)`` to ``(verdict,
#: message_id, reason)``, the verdict ``"accepted"``, ``"not_sent"`` or
#: ``"unknown"`` (see ``_reconcile``).
Reconcile = Callable[[M, Union[float, None]], Awaitable[tuple[str, Union[str, None], str]]]  # noqa: UP007


@attrs.define
class Stop:
    reason: str
    error: BaseException | None
    drain: bool


class Pipeline(Generic[M, R]):
    """The machinery of one batch run; :class:`~._batch.BatchStream` is its face."""

    def __init__(
        self,
        sender: BatchSender[M, R],
        source: BatchSource[M],
        journal: BatchJournal | None,
        notify: Callable[[], None],
    ) -> None:
        self.sender = sender
        self.source = source
        self.journal = journal
        self.notify = notify  # hands the progress to the caller's callback
        self.tally = Tally()
        self.stop: Stop | None = None
        self.fatal: Exception | None = None
        #: Inputs taken from the source; ``len(source)`` when it is sized.
        self.read = 0
        self.total = len(source) if isinstance(source, Sized) else None
        # Read and queued for a worker, not taken yet: not attempted if cut here.
        self._handed: set[int] = set()
        # One per send under way: a stop withdraws those not yet on the wire.
        self._windows: set[SendWindow] = set()
        self._last_progress = time.monotonic()

    # -- stopping -------------------------------------------------------------

    def halt(self, reason: str, error: BaseException | None, *, drain: bool) -> None:
        """Stop starting requests; the first reason wins."""
        if self.stop is None:
            self.stop = Stop(reason, error, drain)
        for window in self._windows:
            window.withdraw()

    def fail(self, reason: str, error: Exception) -> None:
        """A fault of the batch itself: stop without draining, raise at the end."""
        if self.fatal is None:
            self.fatal = error
        self.halt(reason, error, drain=False)

    def account_unfinished(self) -> None:
        """After the run: every input read or never read gets its outcome."""
        for index in sorted(self._handed):
            self.tally.add(SendOutcome(index, None, NOT_ATTEMPTED))
        self._handed.clear()
        if self.total is not None:
            self.tally.add_unread(self.total - self.read, self.read)

    # -- the run --------------------------------------------------------------

    async def run(self, out_tx: _Out[R]) -> None:
        async with anyio.create_task_group() as tg:
            if self.journal is not None:
                tg.start_soon(self._keep_alive, self.journal)
            try:
                await self._run_workers(out_tx)
            finally:
                tg.cancel_scope.cancel()

    async def _keep_alive(self, journal: BatchJournal) -> None:
        try:
            await journal.keep_alive()
        except Exception as error:
            self.fail("journal_failed", error)

    async def _run_workers(self, out_tx: _Out[R]) -> None:
        # One input in hand per worker: no worker waits on the producer.
        buffer = self.sender.concurrency
        items_tx, items_rx = anyio.create_memory_object_stream[_Item[M]](buffer)
        async with anyio.create_task_group() as tg, out_tx, items_rx:
            tg.start_soon(self._produce, items_tx, out_tx.clone())
            for _ in range(self.sender.concurrency):
                tg.start_soon(self._work, items_rx.clone(), out_tx.clone())

    async def emit(self, out: _Out[R], outcome: SendOutcome[R]) -> None:
        self.tally.add(outcome)
        if self.sender.on_progress is not None:
            now = time.monotonic()
            if now - self._last_progress >= self.sender.progress_interval:
                self._last_progress = now
                self.notify()
        # Once the caller has left the block, outcomes are only counted.
        with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
            await _put(out, outcome)

    # -- producer -------------------------------------------------------------

    async def _produce(self, items: MemoryObjectSendStream[_Item[M]], out: _Out[R]) -> None:
        async with items, out:
            try:
                await self._read_source(items, out)
            except Exception as error:
                # The caller's iterable failed: stop, let the requests in
                # flight finish, and raise it (unwrapped) when the stream ends.
                self.fail("source_failed", error)

    async def _read_source(self, items: MemoryObjectSendStream[_Item[M]], out: _Out[R]) -> None:
        # The stop is checked before each input is taken, so an iterator
        # keeps every input the batch did not read (``report.read`` says where).
        source = self.source
        if isinstance(source, AsyncIterable):
            inputs = aiter(source)
            while not self._stopping():
                try:
                    raw = await anext(inputs)
                except StopAsyncIteration:
                    return
                await self._feed(raw, items, out)
        else:
            sync_inputs = iter(source)
            while not self._stopping():
                try:
                    raw = next(sync_inputs)
                except StopIteration:
                    return
                await self._feed(raw, items, out)

    def _stopping(self) -> bool:
        """A stop that reads no further (a draining stop reports the rest instead)."""
        return self.stop is not None and not self.stop.drain

    async def _feed(
        self, raw: BatchInput[M], items: MemoryObjectSendStream[_Item[M]], out: _Out[R]
    ) -> None:
        """Hand one input to the workers, or report it."""
        index, self.read = self.read, self.read + 1
        key, message = self._split(raw)
        fp: str | None = None
        journal = self.journal
        if journal is not None:
            fp = fingerprint(message)
            earlier = journal.lookup(index)
            if earlier is not None:
                if earlier.fingerprint != fp:
                    self.tally.add(SendOutcome(index, key, NOT_ATTEMPTED))
                    self.fail("inputs_changed", self._changed(index, key, journal))
                    return
                known = from_journal(index, key, earlier)
                if known is not None and known.status is OutcomeStatus.UNKNOWN:
                    known = await self._reconcile(index, key, message, earlier, journal)
                if known is not None:
                    await self.emit(out, known)
                    return
        if self.stop is not None:
            await self.emit(out, SendOutcome(index, key, NOT_ATTEMPTED))
        else:
            self._handed.add(index)
            await _put(items, (index, key, message, fp))

    async def _reconcile(
        self,
        index: int,
        key: Hashable | None,
        message: M,
        earlier: JournalEntry,
        journal: BatchJournal,
    ) -> SendOutcome[R] | None:
        """Settle an input an earlier run left in doubt; None: it was not sent, send it."""
        reconcile = self.sender.reconcile
        if reconcile is None:
            return SendOutcome(index, key, OutcomeStatus.UNKNOWN, from_journal=True)
        verdict, message_id, reason = await reconcile(message, earlier.attempted_at)
        if verdict == "accepted":
            journal.outcome(index, OutcomeStatus.ACCEPTED.value, message_id=message_id)
            return SendOutcome(
                index, key, OutcomeStatus.SKIPPED, message_id=message_id, from_journal=True
            )
        if verdict == "not_sent":
            return None
        error = MsgFlashError(f"not settled by reconciliation: {reason}")
        return SendOutcome(index, key, OutcomeStatus.UNKNOWN, error=error, from_journal=True)

    def _split(self, raw: BatchInput[M]) -> tuple[Hashable | None, M]:
        if type(raw) is tuple and len(raw) == 2:
            return raw[0], raw[1]
        message: M = raw  # type: ignore[assignment]
        return (self.sender.key(message) if self.sender.key else None), message

    def _changed(self, index: int, key: Hashable | None, journal: BatchJournal) -> ValidationError:
        return ValidationError(
            f"input {index} (key {key!r}) is not the one the journal "
            f"{journal.name} recorded: resume with the same inputs in the "
            "same order, or start a new journal",
            field="messages",
        )

    # -- workers --------------------------------------------------------------

    async def _work(self, items: MemoryObjectReceiveStream[_Item[M]], out: _Out[R]) -> None:
        async with items, out:
            while True:
                try:
                    index, key, message, fp = await _take(items)
                except anyio.EndOfStream:
                    return
                self._handed.discard(index)
                await self.emit(out, await self._process(index, key, message, fp))

    async def _process(
        self, index: int, key: Hashable | None, message: M, fp: str | None
    ) -> SendOutcome[R]:
        if self.stop is not None:
            return SendOutcome(index, key, NOT_ATTEMPTED)
        journal = self.journal
        window = SendWindow(None if fp is None else self._recorder(index, key, fp))
        self._windows.add(window)
        try:
            outcome = await self._outcome_of(index, key, message, window)
        except anyio.get_cancelled_exc_class():
            self._cancelled(index, key, window)
            raise
        finally:
            self._windows.discard(window)
        if journal is not None and fp is not None:
            await self._record(journal, outcome, window, fp)
        return outcome

    async def _outcome_of(
        self, index: int, key: Hashable | None, message: M, window: SendWindow
    ) -> SendOutcome[R]:
        try:
            reply = await self._send(message, window)
        except Withdrawn:
            return self._withdrawn(index, key, window)
        except Exception as error:
            return self._failed(index, key, error)
        message_id = getattr(reply, "id", None)
        return SendOutcome(
            index,
            key,
            OutcomeStatus.ACCEPTED,
            message=reply,
            message_id=None if message_id is None else str(message_id),
        )

    async def _send(self, message: M, window: SendWindow) -> R:
        send = self.sender.send
        if isinstance(send, Guarded):
            return await send.send(message, window)
        # A plain send cannot tell when its request leaves: journal it now.
        window.queued = True
        await window.depart()
        return await send(message)

    def _recorder(self, index: int, key: Hashable | None, fp: str) -> Callable[[], Awaitable[None]]:
        journal = self.journal
        assert journal is not None

        async def record() -> None:
            try:
                await journal.attempt(index, fp, key)
            except Exception as error:
                # Not sent, for it could not be recorded: nothing more is.
                self.fail("journal_failed", error)
                raise Withdrawn from None

        return record

    async def _record(
        self, journal: BatchJournal, outcome: SendOutcome[R], window: SendWindow, fp: str
    ) -> None:
        if not window.journaled:
            if outcome.status in _SEND_AGAIN:
                return  # no attempt on record: a resume sends it, as it should
            # A guarded send that made its call without the window: record
            # the attempt now, late but before the outcome.
            try:
                await journal.attempt(outcome.index, fp, outcome.key)
            except Exception as error:
                self.fail("journal_failed", error)
                return
        record_outcome(journal, outcome)

    def _withdrawn(self, index: int, key: Hashable | None, window: SendWindow) -> SendOutcome[R]:
        """A stop withdrew a queued request: not attempted, unless an earlier one
        of this input's (a ``send`` that makes several calls) may have been taken."""
        if not window.may_be_processed:
            return SendOutcome(index, key, NOT_ATTEMPTED)
        error = MsgFlashError("withdrawn by a stop after an earlier request of this send")
        return SendOutcome(index, key, OutcomeStatus.UNKNOWN, error=error)

    def _cancelled(self, index: int, key: Hashable | None, window: SendWindow) -> None:
        """Account for an input whose send was cancelled (synchronously: we are unwinding)."""
        if window.queued and not window.may_be_processed:
            # Still queued: nothing left. If its attempt record may be on
            # disk, say it was not attempted, or a resume would call it unknown.
            outcome: SendOutcome[R] = SendOutcome(index, key, NOT_ATTEMPTED)
            self.tally.add(outcome)
            if self.journal is not None and window.journaled:
                record_outcome(self.journal, outcome)
        else:
            # Cut off mid-request (or by a send that is not the session's): it
            # may have arrived. The journal keeps the attempt without an
            # outcome, which a resume reads as unknown.
            self.tally.add_cancelled(index, key)

    def _failed(self, index: int, key: Hashable | None, error: Exception) -> SendOutcome[R]:
        status = classify_error(error)
        reason = stop_reason_for(error)
        if reason is not None:
            self.halt(reason, error, drain=True)
        elif not isinstance(error, MsgFlashError):
            # Most likely a bug in ``send``: it would fail the same way for
            # every input, so stop, and leave its traceback in the report.
            self.halt("unexpected_error", error, drain=True)
        return SendOutcome(index, key, status, error=error)


# Outcomes that a resume sends again: no attempt record needed for them.
_SEND_AGAIN = frozenset(
    {OutcomeStatus.NOT_ATTEMPTED, OutcomeStatus.FAILED_NOT_SENT, OutcomeStatus.REJECTED}
)


# anyio's stream send() and receive() always yield to the event loop first (a
# checkpoint); at several trips per message that was ~55 us of a ~230 us send.
# Try the non-blocking call first and await only when the stream is full or
# empty. Every worker still awaits its HTTP request, so none can hog the loop.
async def _put(stream: MemoryObjectSendStream[T], item: T) -> None:
    try:
        stream.send_nowait(item)
    except anyio.WouldBlock:
        await stream.send(item)


async def _take(stream: MemoryObjectReceiveStream[T]) -> T:
    try:
        return stream.receive_nowait()
    except anyio.WouldBlock:
        return await stream.receive()
