"""Send many messages concurrently: one outcome per input, a report, a resumable journal.

The batch knows nothing of HTTP: it is handed ``send(message) -> reply`` (in
the client, ``Messages.send`` wrapped in :class:`~._send_window.Guarded` so that
it gets each input's send window; in tests, a stub). The pipeline (producer,
workers, stop) is in ``_batch_pipeline``, the outcome accounting in
``_batch_outcomes``, the journal interface in ``_journal``; this module is
the caller's face: :class:`BatchSender` and the running :class:`BatchStream`.

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

Retries (a 429 ``API_RATE_LIMIT_EXCEEDED`` included) are the session's, per
its :class:`~msgflash_async.RetryPolicy`; the batch retries nothing itself. A
monthly quota, an inactive subscription, a bad key or a closed client stop
the batch: nothing new is sent, in-flight requests finish, and every
remaining input is reported ``not_attempted`` (the source is read to its end,
no request is made). Sends still waiting for a connection, a rate-limit slot
or a retry's backoff are withdrawn at once and count as ``not_attempted``
too. Leaving early, cancelling, or a failing journal do not read on: a sized
source's unread inputs are counted ``not_attempted``, and the report says how
many inputs were read (``read``) and where a resume starts (``resume_from``).
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
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream

from ._batch_outcomes import (
    BatchProgress,
    BatchReport,
    OutcomeStatus,
    SendOutcome,
    UnknownInput,
    classify_error,
    stop_reason_for,
)
from ._batch_pipeline import Pipeline, Reconcile, _take
from ._exceptions import ValidationError
from ._journal import BatchJournal
from ._journal_file import FileJournal
from ._repr import tolerant_repr
from ._send_window import Guarded

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
#: Where a batch keeps its journal: a file path, or a journal object.
JournalTarget = Union[str, "os.PathLike[str]", BatchJournal]


class BatchSender(Generic[M, R]):
    """Sends messages through ``send`` with bounded concurrency.

    ``send`` is ``send(message) -> reply``, or a :class:`~._send_window.Guarded`
    send that also takes the input's send window. ``journal`` is a file path
    or a :class:`~._journal.BatchJournal` that makes the batch resumable;
    ``on_progress`` gets a :class:`BatchProgress` at most every
    ``progress_interval`` seconds and once at the end (keep it quick, it runs
    on the event loop; it must not raise). ``key`` derives a caller key from
    each message when inputs are not ``(key, message)`` pairs. ``on_report``
    gets the final :class:`BatchReport` once the batch has ended (telemetry
    uses it; an error it raises is ignored, so it can never break a batch).
    ``reconcile`` settles the inputs an earlier run left in doubt (see
    ``_reconcile``); without it they stay ``unknown``.
    """

    def __init__(
        self,
        send: Callable[[M], Awaitable[R]] | Guarded[M, R],
        *,
        concurrency: int = 32,
        journal: JournalTarget | None = None,
        on_progress: Callable[[BatchProgress], object] | None = None,
        progress_interval: float = 0.1,
        key: Callable[[M], Hashable] | None = None,
        on_report: Callable[[BatchReport], object] | None = None,
        reconcile: Reconcile[M] | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValidationError("must be at least 1", field="concurrency")
        self.send = send
        self.concurrency = concurrency
        self.journal = journal
        self.on_progress = on_progress
        self.progress_interval = progress_interval
        self.key = key
        self.on_report = on_report
        self.reconcile = reconcile

    @tolerant_repr
    def __repr__(self) -> str:
        return f"BatchSender(concurrency={self.concurrency}, journal={self.journal!r})"

    def stream(self, messages: BatchSource[M]) -> BatchStream[M, R]:
        """The batch over ``messages``; use ``async with`` (or ``await`` it for the report)."""
        return BatchStream(self, messages)

    async def run(self, messages: BatchSource[M]) -> BatchReport:
        """Send everything, discard the outcomes, return the report."""
        return await self.stream(messages)

    def open_journal(self) -> BatchJournal | None:
        """A fresh journal object for one run (a path opens a :class:`FileJournal`)."""
        journal = self.journal
        if journal is None or isinstance(journal, BatchJournal):
            return journal
        return FileJournal(journal)


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
        self._run = Pipeline(sender, messages, sender.open_journal(), self._notify)
        self._tg: TaskGroup | None = None
        self._outcomes: MemoryObjectReceiveStream[SendOutcome[R]] | None = None
        self._entered = self._ended = self._fatal_raised = False
        self._started = self._finished = 0.0

    @tolerant_repr
    def __repr__(self) -> str:
        return f"<BatchStream done={self._run.tally.done} stop={self._run.stop}>"

    async def __aenter__(self) -> BatchStream[M, R]:
        if self._entered:
            raise RuntimeError("a batch stream runs once; call stream() again")
        self._entered = True
        self._started = time.monotonic()
        journal = self._run.journal
        if journal is not None:
            with anyio.CancelScope(shield=True):  # a cancelled open would leak the file
                await journal.open()
        out_tx, self._outcomes = anyio.create_memory_object_stream[SendOutcome[R]](
            self._sender.concurrency
        )
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        self._tg.start_soon(self._run.run, out_tx)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._tg is not None and self._outcomes is not None
        run = self._run
        if exc_type is not None and issubclass(exc_type, anyio.get_cancelled_exc_class()):
            run.halt("cancelled", None, drain=False)
            self._tg.cancel_scope.cancel()
        elif not self._ended:
            run.halt("closed", exc, drain=False)
        self._outcomes.close()  # outcomes nobody will read are still counted
        try:
            # The body's own exception is not handed to the task group, which
            # would wrap it in an ExceptionGroup; returning None re-raises it.
            await self._tg.__aexit__(None, None, None)
        finally:
            run.account_unfinished()
            if run.journal is not None:
                await self._close_journal(run.journal)
            self._finished = time.monotonic()
            self._notify()
            self._report()
        if exc_type is None and run.fatal is not None and not self._fatal_raised:
            raise run.fatal

    async def _close_journal(self, journal: BatchJournal) -> None:
        try:
            with anyio.CancelScope(shield=True):
                await journal.aclose()
        except Exception as error:
            # The last outcomes are lost (a resume reconciles them): say so.
            self._run.fail("journal_failed", error)

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
            if self._run.fatal is not None:
                self._fatal_raised = True
                raise self._run.fatal from None
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
        counts = self._run.tally.counts
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
        run = self._run
        stop, tally = run.stop, run.tally
        first = tally.first_unsent
        return BatchReport(
            counts=dict(tally.counts),
            error_codes=dict(tally.codes),
            unknown=tuple(tally.unknown),
            stop_reason=stop.reason if stop else None,
            stop_error=stop.error if stop else None,
            elapsed=self.progress().elapsed,
            read=run.read,
            total=run.total,
            resume_from=run.read if first is None else min(first, run.read),
        )

    def _report(self) -> None:
        callback = self._sender.on_report
        if callback is not None:
            with contextlib.suppress(Exception):
                callback(self.report)

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
            self._run.fail("progress_failed", error)


# Statuses that count as a request having been made (for the rate).
_REQUESTED = (
    OutcomeStatus.ACCEPTED,
    OutcomeStatus.REJECTED,
    OutcomeStatus.UNKNOWN,
    OutcomeStatus.FAILED_NOT_SENT,
)
