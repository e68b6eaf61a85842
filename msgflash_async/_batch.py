"""Send many messages concurrently: one outcome per input, a report, a resumable journal.

The batch knows nothing of HTTP: it is handed ``send(message) -> reply`` (in
the client, ``Messages.send``; in tests, a stub). One producer pulls inputs
lazily from any iterable or async iterable into a bounded stream (one input
per worker), and ``concurrency`` workers pull from it: a fixed set of tasks,
not one per message (a task costs ~20 us). Only what is in flight is held in
memory; the report keeps counts and the list of unknown inputs.

Every input gets exactly one :class:`SendOutcome`, streamed in completion
order::

    accepted         the API took it; ``message`` is the reply
    rejected         the API (or client-side validation) refused it; not sent
    unknown          the request may have been processed (connection lost,
                     timeout, a 5xx answer): never retried, listed in the
                     report to reconcile
    failed_not_sent  the request provably never left (ConnectError after the
                     session's own retries); sent again on resume
    not_attempted    the batch stopped before sending it
    skipped          accepted by an earlier run, per the journal

The session already retries 429 API_RATE_LIMIT_EXCEEDED and connect failures;
the batch retries only a :class:`RateLimitError` that still surfaces (the
server did not process it), a few times with backoff (longer if its
``Retry-After`` asks; not at all if that is beyond the backoff budget). A
monthly quota, an inactive subscription, a bad key or a closed client stop
the batch: nothing new is sent, in-flight requests finish, and every
remaining input is reported ``not_attempted`` (the source is read to its end,
no request is made). Sends still waiting for a connection, a rate-limit slot
or a retry's backoff are withdrawn at once (``_withdraw``) and count as
``not_attempted`` too, unless an earlier request of the same ``send`` may
have been taken (``unknown``): a stop does not wait for the limiter.
Cancellation stops at once and does not drain; it is always re-raised.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncIterable, Awaitable, Callable, Generator, Hashable, Iterable
from types import TracebackType
from typing import Any, Generic, TypeVar, Union

import anyio
import attrs
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._batch_outcomes import (
    BatchProgress,
    BatchReport,
    OutcomeStatus,
    SendOutcome,
    UnknownInput,
    _Tally,
    classify_error,
    error_code,
    stop_reason_for,
)
from ._exceptions import (
    MsgFlashError,
    RateLimitError,
    ValidationError,
)
from ._journal import ATTEMPTED, Commit, Journal, JournalEntry, fingerprint
from ._protocol import parse_retry_after
from ._withdraw import SendWindow, Withdrawn, current_window

__all__ = [
    "BatchProgress",
    "BatchReport",
    "BatchSender",
    "BatchStream",
    "OutcomeStatus",
    "SendOutcome",
    "UnknownInput",
    "classify_error",
    "stop_reason_for",
]

M = TypeVar("M")
R = TypeVar("R")

# Generic aliases keep Union: a subscripted ``X | Y`` alias fails on Python 3.10.
#: One input: a message, or a ``(key, message)`` pair.
BatchInput = Union[M, tuple[Hashable, M]]  # noqa: UP007
#: What a batch reads from: any iterable or async iterable of inputs, read lazily.
BatchSource = Union[Iterable[BatchInput[M]], AsyncIterable[BatchInput[M]]]  # noqa: UP007
# What the producer hands a worker: index, key, message, and (with a journal)
# the commit that makes its attempt record durable.
_Item = tuple[int, Union[Hashable, None], M, Union[Commit, None]]  # noqa: UP007


class BatchSender(Generic[M, R]):
    """Sends messages through ``send`` with bounded concurrency.

    ``journal`` is a file path that makes the batch resumable (see
    ``_journal``); ``on_progress`` gets a :class:`BatchProgress` at most every
    ``progress_interval`` seconds and once at the end (keep it quick, it runs
    on the event loop; it must not raise). ``key`` derives a caller key from
    each message when inputs are not ``(key, message)`` pairs.
    """

    def __init__(
        self,
        send: Callable[[M], Awaitable[R]],
        *,
        concurrency: int = 32,
        journal: str | os.PathLike[str] | None = None,
        on_progress: Callable[[BatchProgress], object] | None = None,
        progress_interval: float = 0.1,
        key: Callable[[M], Hashable] | None = None,
        rate_limit_retries: int = 3,
        rate_limit_backoff: float = 1.0,
    ) -> None:
        if concurrency < 1:
            raise ValidationError("must be at least 1", field="concurrency")
        if rate_limit_retries < 0 or rate_limit_backoff < 0:
            raise ValidationError("must not be negative", field="rate_limit_retries")
        self.send = send
        self.concurrency = concurrency
        self.journal = journal
        self.on_progress = on_progress
        self.progress_interval = progress_interval
        self.key = key
        self.rate_limit_retries = rate_limit_retries
        self.rate_limit_backoff = rate_limit_backoff

    def __repr__(self) -> str:
        return f"BatchSender(concurrency={self.concurrency}, journal={self.journal!r})"

    def stream(self, messages: BatchSource[M]) -> BatchStream[M, R]:
        """The batch over ``messages``; use ``async with`` (or ``await`` it for the report)."""
        return BatchStream(self, messages)

    async def run(self, messages: BatchSource[M]) -> BatchReport:
        """Send everything, discard the outcomes, return the report."""
        return await self.stream(messages)


@attrs.define
class _Stop:
    reason: str
    error: BaseException | None
    drain: bool


class BatchStream(Generic[M, R]):
    """One running batch: an async context manager that yields its outcomes.

    ``async with sender.stream(msgs) as outcomes: async for o in outcomes``.
    The context manager owns the task group, so no task outlives the block.
    Leaving the block early (``break``, or an exception in the body) stops
    new sends, withdraws those still queued (``not_attempted``) and waits
    for the requests on the wire, so each ends known; cancellation cancels
    those too (they become ``unknown``).
    ``await stream`` runs everything and returns the :class:`BatchReport`.
    """

    def __init__(self, sender: BatchSender[M, R], messages: BatchSource[M]) -> None:
        self._sender = sender
        self._source = messages
        self._tally = _Tally()
        self._stop: _Stop | None = None
        self._fatal: Exception | None = None
        self._journal: Journal | None = None
        # Inputs whose attempt record is queued but whose send has not started.
        self._unsent: dict[int, Hashable | None] = {}
        # One per send under way: a stop withdraws those not yet on the wire.
        self._windows: set[SendWindow] = set()
        self._tg: TaskGroup | None = None
        self._outcomes: MemoryObjectReceiveStream[SendOutcome[R]] | None = None
        self._entered = self._ended = self._fatal_raised = False
        self._started = self._finished = self._last_progress = 0.0

    def __repr__(self) -> str:
        return f"<BatchStream done={sum(self._tally.counts.values())} stop={self._stop}>"

    # -- the caller's side -------------------------------------------------

    async def __aenter__(self) -> BatchStream[M, R]:
        if self._entered:
            raise RuntimeError("a batch stream runs once; call stream() again")
        self._entered = True
        self._started = self._last_progress = time.monotonic()
        if self._sender.journal is not None:
            with anyio.CancelScope(shield=True):  # a cancelled open would leak the file
                self._journal = await Journal.open(self._sender.journal)
        out_tx, self._outcomes = anyio.create_memory_object_stream[SendOutcome[R]](
            self._sender.concurrency
        )
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        self._tg.start_soon(self._pipeline, out_tx)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._tg is not None and self._outcomes is not None
        if exc_type is not None and issubclass(exc_type, anyio.get_cancelled_exc_class()):
            self._halt("cancelled", None, drain=False)
            self._tg.cancel_scope.cancel()
        elif not self._ended:
            self._halt("closed", exc, drain=False)
        self._outcomes.close()  # outcomes nobody will read are still counted
        try:
            # The body's own exception is not handed to the task group, which
            # would wrap it in an ExceptionGroup; returning None re-raises it.
            await self._tg.__aexit__(None, None, None)
        finally:
            with anyio.CancelScope(shield=True):
                await self._close_journal()
            self._finished = time.monotonic()
            self._notify()
        if exc_type is None and self._fatal is not None and not self._fatal_raised:
            raise self._fatal

    def __aiter__(self) -> BatchStream[M, R]:
        if self._outcomes is None:
            raise RuntimeError("iterate inside `async with ... as outcomes:`, or await it")
        return self

    async def __anext__(self) -> SendOutcome[R]:
        assert self._outcomes is not None
        try:
            return await _take(self._outcomes)
        except anyio.EndOfStream:
            self._ended = True
            if self._fatal is not None:
                self._fatal_raised = True
                raise self._fatal from None
            raise StopAsyncIteration from None

    def __await__(self) -> Generator[Any, None, BatchReport]:
        return self._consume().__await__()

    async def _consume(self) -> BatchReport:
        async with self as outcomes:
            async for _ in outcomes:
                pass
        return self.report

    def progress(self) -> BatchProgress:
        """The counts so far; cheap enough to call for every outcome."""
        counts = self._tally.counts
        end = self._finished or time.monotonic()
        elapsed = end - self._started if self._started else 0.0
        sent = sum(counts[s] for s in _REQUESTED)
        return BatchProgress(
            done=sum(counts.values()),
            accepted=counts[OutcomeStatus.ACCEPTED],
            rejected=counts[OutcomeStatus.REJECTED],
            unknown=counts[OutcomeStatus.UNKNOWN],
            failed_not_sent=counts[OutcomeStatus.FAILED_NOT_SENT],
            not_attempted=counts[OutcomeStatus.NOT_ATTEMPTED],
            skipped=counts[OutcomeStatus.SKIPPED],
            elapsed=elapsed,
            rate=sent / elapsed if elapsed > 0 else 0.0,
        )

    @property
    def report(self) -> BatchReport:
        """The report so far; final once the ``async with`` block has exited."""
        stop = self._stop
        return BatchReport(
            counts=dict(self._tally.counts),
            error_codes=dict(self._tally.codes),
            unknown=tuple(self._tally.unknown),
            stop_reason=stop.reason if stop else None,
            stop_error=stop.error if stop else None,
            elapsed=self.progress().elapsed,
        )

    # -- the machinery -----------------------------------------------------

    async def _pipeline(self, out_tx: MemoryObjectSendStream[SendOutcome[R]]) -> None:
        journal = self._journal
        async with anyio.create_task_group() as tg:
            if journal is not None:
                tg.start_soon(journal.writer)
            try:
                await self._run_workers(out_tx)
            finally:
                if journal is not None:
                    journal.stop()  # the writer returns once all records are on disk

    async def _run_workers(self, out_tx: MemoryObjectSendStream[SendOutcome[R]]) -> None:
        # One input in hand per worker: no worker waits on the producer, and an
        # attempt record is announced a whole request ahead of its send, so
        # its commit (fsync) is normally done by the time a worker takes it.
        buffer = self._sender.concurrency
        items_tx, items_rx = anyio.create_memory_object_stream[_Item[M]](buffer)
        async with anyio.create_task_group() as tg, out_tx, items_rx:
            tg.start_soon(self._produce, items_tx, out_tx.clone())
            for _ in range(self._sender.concurrency):
                tg.start_soon(self._work, items_rx.clone(), out_tx.clone())

    async def _close_journal(self) -> None:
        journal = self._journal
        # After a cancellation: announced or queued, never sent. Say so, or a
        # resume would take them for unknown.
        for index, key in self._unsent.items():
            if journal is not None:
                journal.outcome(index, OutcomeStatus.NOT_ATTEMPTED.value)
            self._tally.add(SendOutcome(index, key, OutcomeStatus.NOT_ATTEMPTED))
        self._unsent.clear()
        if journal is not None:
            await journal.aclose()

    def _notify(self) -> None:
        """Hand the progress to the caller's callback; its failure stops the batch."""
        callback = self._sender.on_progress
        if callback is None:
            return
        try:
            callback(self.progress())
        except Exception as error:
            # Raised unwrapped at the end, like a failing source: an error in
            # a worker task would tear the batch down mid-request instead.
            self._fail("progress_failed", error)

    def _halt(self, reason: str, error: BaseException | None, *, drain: bool) -> None:
        """Stop starting requests; the first reason wins."""
        if self._stop is None:
            self._stop = _Stop(reason, error, drain)
        for window in self._windows:
            window.withdraw()

    def _fail(self, reason: str, error: Exception) -> None:
        """A fault of the batch itself: stop without draining, raise at the end."""
        if self._fatal is None:
            self._fatal = error
        self._halt(reason, error, drain=False)

    async def _emit(
        self, out: MemoryObjectSendStream[SendOutcome[R]], outcome: SendOutcome[R]
    ) -> None:
        self._tally.add(outcome)
        if self._sender.on_progress is not None:
            now = time.monotonic()
            if now - self._last_progress >= self._sender.progress_interval:
                self._last_progress = now
                self._notify()
        # Once the caller has left the block, outcomes are only counted.
        with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
            await _put(out, outcome)

    # -- producer ----------------------------------------------------------

    async def _produce(
        self,
        items: MemoryObjectSendStream[_Item[M]],
        out: MemoryObjectSendStream[SendOutcome[R]],
    ) -> None:
        async with items, out:
            try:
                await self._read_source(items, out)
            except Exception as error:
                # The caller's iterable failed: stop, let the requests in
                # flight finish, and raise it (unwrapped) when the stream ends.
                self._fail("source_failed", error)

    async def _read_source(
        self,
        items: MemoryObjectSendStream[_Item[M]],
        out: MemoryObjectSendStream[SendOutcome[R]],
    ) -> None:
        source, index = self._source, 0
        if isinstance(source, AsyncIterable):
            async for raw in source:
                if not await self._feed(index, raw, items, out):
                    return
                index += 1
        else:
            for raw in source:
                if not await self._feed(index, raw, items, out):
                    return
                index += 1

    async def _feed(
        self,
        index: int,
        raw: BatchInput[M],
        items: MemoryObjectSendStream[_Item[M]],
        out: MemoryObjectSendStream[SendOutcome[R]],
    ) -> bool:
        """Hand one input to the workers (or report it); False to stop reading."""
        stop = self._stop
        if stop is not None and not stop.drain:
            return False
        key, message = self._split(raw)
        journal = self._journal
        commit: Commit | None = None
        if journal is not None:
            fp = fingerprint(message)
            earlier = journal.lookup(index)
            if earlier is not None:
                if earlier[0] != fp:
                    self._fail("inputs_changed", self._changed(index, key))
                    return False
                known = _from_journal(index, key, earlier)
                if known is not None:
                    await self._emit(out, known)
                    return True
            if self._stop is None:
                commit = self._announce(journal, index, key, fp)
        if self._stop is not None:
            await self._emit(out, SendOutcome(index, key, OutcomeStatus.NOT_ATTEMPTED))
        else:
            await _put(items, (index, key, message, commit))
        return True

    def _announce(
        self, journal: Journal, index: int, key: Hashable | None, fp: str
    ) -> Commit | None:
        try:
            commit = journal.announce(index, fp, key)
        except OSError as error:
            self._fail("journal_failed", error)
            return None
        self._unsent[index] = key
        return commit

    def _split(self, raw: BatchInput[M]) -> tuple[Hashable | None, M]:
        if type(raw) is tuple and len(raw) == 2:
            return raw[0], raw[1]
        message: M = raw  # type: ignore[assignment]
        return (self._sender.key(message) if self._sender.key else None), message

    def _changed(self, index: int, key: Hashable | None) -> ValidationError:
        return ValidationError(
            f"input {index} (key {key!r}) is not the one the journal "
            f"{self._sender.journal} recorded: resume with the same inputs in the "
            "same order, or start a new journal",
            field="messages",
        )

    # -- workers -----------------------------------------------------------

    async def _work(
        self,
        items: MemoryObjectReceiveStream[_Item[M]],
        out: MemoryObjectSendStream[SendOutcome[R]],
    ) -> None:
        async with items, out:
            while True:
                try:
                    index, key, message, commit = await _take(items)
                except anyio.EndOfStream:
                    return
                await self._emit(out, await self._process(index, key, message, commit))

    async def _process(
        self, index: int, key: Hashable | None, message: M, commit: Commit | None
    ) -> SendOutcome[R]:
        journal = self._journal
        if commit is not None and self._stop is None:
            try:
                await Journal.durable(commit)
            except OSError as error:
                self._fail("journal_failed", error)
        if self._stop is not None:
            self._unsent.pop(index, None)
            outcome: SendOutcome[R] = SendOutcome(index, key, OutcomeStatus.NOT_ATTEMPTED)
            return outcome if journal is None or commit is None else _recorded(journal, outcome)
        self._unsent.pop(index, None)
        window = SendWindow()
        self._windows.add(window)
        published = current_window.set(window)  # the session finds it here
        try:
            reply = await self._send(message, window)
        except Withdrawn:
            outcome = self._withdrawn(index, key, window)
        except anyio.get_cancelled_exc_class():
            self._cancelled(index, key, window)
            raise
        except Exception as error:
            outcome = self._failed(index, key, error)
        else:
            message_id = getattr(reply, "id", None)
            outcome = SendOutcome(
                index,
                key,
                OutcomeStatus.ACCEPTED,
                message=reply,
                message_id=None if message_id is None else str(message_id),
            )
        finally:
            current_window.reset(published)
            self._windows.discard(window)
        return outcome if journal is None else _recorded(journal, outcome)

    async def _send(self, message: M, window: SendWindow) -> R:
        """``send``, again after a rate-limit refusal (the server did not process it)."""
        sender = self._sender
        attempt = 0
        while True:
            try:
                return await sender.send(message)
            except RateLimitError as error:
                if attempt >= sender.rate_limit_retries:
                    raise
                wait = sender.rate_limit_backoff * 2**attempt
                asked = parse_retry_after(error.headers)
                if asked is not None:
                    if asked > sender.rate_limit_backoff * 2**sender.rate_limit_retries:
                        raise  # longer than this batch would wait in all: not now
                    wait = max(wait, asked)
            with window.queue():  # a stop during the backoff withdraws the input
                await anyio.sleep(wait)
            attempt += 1

    def _withdrawn(self, index: int, key: Hashable | None, window: SendWindow) -> SendOutcome[R]:
        """A stop withdrew a queued request: not attempted, unless an earlier one
        of this input's (a ``send`` that makes several calls) may have been taken."""
        if not window.may_be_processed:
            return SendOutcome(index, key, OutcomeStatus.NOT_ATTEMPTED)
        error = MsgFlashError("withdrawn by a stop after an earlier request of this send")
        return SendOutcome(index, key, OutcomeStatus.UNKNOWN, error=error)

    def _cancelled(self, index: int, key: Hashable | None, window: SendWindow) -> None:
        """Account for an input whose send was cancelled."""
        if window.never_sent:
            # Still queued in the session: nothing left. The journal closes it
            # as not attempted, like the announced inputs no worker took.
            self._unsent[index] = key
        else:
            # Cut off mid-request (or by a send that is not the session's): it
            # may have arrived. The journal keeps the attempt without an
            # outcome, which a resume reads as unknown.
            self._tally.add_cancelled(index, key)

    def _failed(self, index: int, key: Hashable | None, error: Exception) -> SendOutcome[R]:
        status = classify_error(error)
        reason = stop_reason_for(error)
        if reason is not None:
            self._halt(reason, error, drain=True)
        elif not isinstance(error, MsgFlashError):
            # Most likely a bug in ``send``: it would fail the same way for
            # every input, so stop, and leave its traceback in the report.
            self._halt("unexpected_error", error, drain=True)
        return SendOutcome(index, key, status, error=error)


T = TypeVar("T")


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


def _recorded(journal: Journal, outcome: SendOutcome[R]) -> SendOutcome[R]:
    """Append the outcome record for an input whose attempt record was written."""
    error = outcome.error
    journal.outcome(
        outcome.index,
        outcome.status.value,
        message_id=outcome.message_id,
        code=None if error is None else error_code(error),
    )
    return outcome


# Statuses that count as a request having been made (for the rate).
_REQUESTED = (
    OutcomeStatus.ACCEPTED,
    OutcomeStatus.REJECTED,
    OutcomeStatus.UNKNOWN,
    OutcomeStatus.FAILED_NOT_SENT,
)
# Earlier states that a resume reports instead of sending again.
_KNOWN_AFTER_RESUME = frozenset(
    {OutcomeStatus.ACCEPTED.value, OutcomeStatus.UNKNOWN.value, ATTEMPTED}
)


def _from_journal(
    index: int, key: Hashable | None, earlier: JournalEntry
) -> SendOutcome[Any] | None:
    """An earlier run's verdict, or None to send again: accepted is skipped, unknown stays."""
    _, state, message_id = earlier
    if state == OutcomeStatus.ACCEPTED.value:
        return SendOutcome(
            index, key, OutcomeStatus.SKIPPED, message_id=message_id, from_journal=True
        )
    if state in _KNOWN_AFTER_RESUME:
        return SendOutcome(index, key, OutcomeStatus.UNKNOWN, from_journal=True)
    return None
