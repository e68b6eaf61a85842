"""Awaitable bulk operations and the handles that follow their jobs.

A bulk call answers in one of two ways: ``200`` with the result (fewer than
100 ids) or ``202`` with a background job to poll. The caller sees one API
for both: :class:`BulkOperation` is awaitable for the final result, and
``await op.submit()`` gives a :class:`JobHandle` right after submission, with
job ids, progress snapshots, cancel and a wait with a timeout.

More ids than one call accepts are split into chunks sent one after the
other (the next one once the previous is finished, to spare the server) and
reported as one merged result. Nothing here knows HTTP: the resources hand
in callables, so this module is tested with stubs.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Generic, TypeVar

import anyio
import attrs

from ._delivery import Delivery, delivery_of
from ._exceptions import (
    BadRequestError,
    ConflictError,
    JobCancelledError,
    JobFailedError,
    JobStalledError,
    MsgFlashError,
    ValidationError,
)
from ._repr import tolerant_repr
from ._stall import DEFAULT_STALL_TIMEOUT, StallWatch
from .models.jobs import BulkJob, BulkJobStatus, BulkProgress

__all__ = [
    "DEFAULT_POLL_INTERVAL",
    "DEFAULT_STALL_TIMEOUT",
    "BulkOperation",
    "JobHandle",
    "JobRunner",
    "StallWatch",
    "split",
]

R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)

DEFAULT_POLL_INTERVAL = 2.0
"""Seconds between two polls of a job, as the documentation recommends."""

Send = Callable[[Sequence[str]], Awaitable["R | BulkJob"]]
Poll = Callable[[str], Awaitable[BulkJob]]
Finish = Callable[[BulkJob], R]
Merge = Callable[[Sequence[R]], R]


def _until(deadline: float) -> AbstractContextManager[anyio.CancelScope]:
    """``fail_after`` up to ``deadline``, an :func:`anyio.current_time` value."""
    return anyio.fail_after(deadline - anyio.current_time())


def split(ids: Sequence[str], size: int) -> list[Sequence[str]]:
    """``ids`` in consecutive chunks of at most ``size``."""
    return [ids[start : start + size] for start in range(0, len(ids), size)]


@attrs.frozen
class JobRunner(Generic[R]):
    """How to follow one kind of job: poll it, cancel it, read its result."""

    poll: Poll
    cancel: Poll
    finish: Finish[R]
    merge: Merge[R]
    interval: float = DEFAULT_POLL_INTERVAL
    stall_timeout: float | None = DEFAULT_STALL_TIMEOUT


@attrs.define
class _Part(Generic[R]):
    """One API call of an operation: its size, its job (if any), its result."""

    size: int
    job: BulkJob | None = None
    job_id: str | None = None
    result: R | None = None
    done: bool = False

    def processed(self) -> int:
        if self.job is None:
            return self.size if self.done else 0
        if self.job.status is BulkJobStatus.DONE:
            return self.size
        # Running, failed or cancelled: as far as the server got.
        by_percent = self.job.progress * self.size // 100
        return min(self.size, max(self.job.processed_count, by_percent))


class JobHandle(Generic[R_co]):
    """A submitted bulk operation: follow it, cancel it, or await its result.

    ``await handle`` (or ``await handle.wait(timeout)``) polls every
    ``interval`` seconds until every job is final and returns the merged
    result; a job that ``failed`` raises :class:`JobFailedError`, one that was
    ``cancelled`` raises :class:`JobCancelledError` (``.job`` carries it).
    ``progress()`` yields a :class:`BulkProgress` after each poll. Several
    tasks may share a handle: polls are serialised and never closer together
    than half the interval, so a waiter and a progress loop do not double
    the request rate.

    A job that makes no progress for ``stall_timeout`` seconds (600 unless
    the runner or the attribute says otherwise; None: never) raises
    :class:`JobStalledError` from ``await``, ``wait()`` and ``progress()``,
    so a job the server never finishes cannot keep a plain ``await``
    polling for ever. Progress is a new job, a new status or a count above
    its highest so far; counts going backwards are shown in snapshots but
    are not progress. The job goes on on the server: await again for one
    more window, or cancel.
    """

    def __init__(
        self,
        runner: JobRunner[R_co],
        *,
        send: Send[R_co] | None = None,
        chunks: Sequence[Sequence[str]] = (),
        job_ids: Sequence[str] = (),
    ) -> None:
        self._runner = runner
        self._send = send
        self._chunks: deque[Sequence[str]] = deque(chunks)
        self._parts: list[_Part[R_co]] = [_Part(size=0, job_id=j) for j in job_ids]
        self._requested = sum(len(c) for c in chunks)
        self._lock = anyio.Lock()
        self._last_poll: float | None = None
        self._error: MsgFlashError | None = None  # how the operation ended badly
        self._stall = StallWatch(runner.stall_timeout)

    @tolerant_repr
    def __repr__(self) -> str:
        return f"<JobHandle job_ids={list(self.job_ids)} status={self.status.value}>"

    @property
    def stall_timeout(self) -> float | None:
        """Seconds without progress before :class:`JobStalledError`; None: never."""
        return self._stall.window

    @stall_timeout.setter
    def stall_timeout(self, seconds: float | None) -> None:
        if seconds is not None and not seconds > 0:
            raise ValidationError("must be > 0 seconds, or None", field="stall_timeout")
        self._stall.window = seconds

    @property
    def job_ids(self) -> tuple[str, ...]:
        """Ids of every job submitted so far (empty if the server answered at once)."""
        return tuple(p.job_id for p in self._parts if p.job_id is not None)

    @property
    def job_id(self) -> str | None:
        """The id of the first job, or None when no call became a job."""
        ids = self.job_ids
        return ids[0] if ids else None

    @property
    def done(self) -> bool:
        """True once the operation is finished, whichever way it ended."""
        if self._error is not None:
            return True
        return not self._chunks and all(p.done for p in self._parts)

    @property
    def status(self) -> BulkJobStatus:
        if self._error is not None:
            cancelled = isinstance(self._error, JobCancelledError)
            return BulkJobStatus.CANCELLED if cancelled else BulkJobStatus.FAILED
        if self.done:
            return BulkJobStatus.DONE
        started = any(
            p.done or (p.job and p.job.status is not BulkJobStatus.PENDING) for p in self._parts
        )
        return BulkJobStatus.PROCESSING if started else BulkJobStatus.PENDING

    def snapshot(self) -> BulkProgress:
        """Where the operation stands as of the last poll (no request)."""
        return BulkProgress(
            status=self.status,
            requested=self._requested,
            processed=sum(p.processed() for p in self._parts),
            jobs=tuple(p.job for p in self._parts if p.job is not None),
        )

    def result(self) -> R_co:
        """The merged result of a finished operation; raises its job error."""
        if self._error is not None:
            raise self._error
        if not self.done:
            raise RuntimeError("the operation is not finished; await the handle")
        results = [p.result for p in self._parts if p.result is not None]
        return results[0] if len(results) == 1 else self._runner.merge(results)

    def __await__(self) -> Generator[Any, None, R_co]:
        return self.wait().__await__()

    async def wait(self, timeout: float | None = None) -> R_co:  # noqa: ASYNC109 (API shape)
        """Poll until finished and return the result.

        After ``timeout`` seconds, raise the built-in :class:`TimeoutError`;
        the jobs go on on the server and the handle stays usable (wait again,
        or cancel). The timeout is the caller's patience, not a failure: it
        cuts pauses and polls, but a chunk call already on its way is let
        finish (so this may return up to one request timeout late) and its
        job is kept, while no new chunk is sent once the time is up.
        Cancelling the waiting task instead (``move_on_after`` around it, a
        task group) cuts such a call at once; the operation then gives up.
        """
        # Not one ``fail_after`` around the loop: it would cut a chunk's POST
        # mid-flight, and a call that may have reached the server can only be
        # given up (never resent), which would break the handle for good. So
        # the deadline scopes every wait but the POST, and is checked again
        # before a chunk starts. A shielded POST would do the same for the
        # timeout, but would also hold back a real cancellation of the caller
        # for up to the request timeout.
        deadline = math.inf if timeout is None else anyio.current_time() + timeout
        while not self.done:
            with _until(deadline):
                await anyio.sleep(self._pause())
            await self._step(deadline)
        return self.result()

    async def progress(self) -> AsyncIterator[BulkProgress]:
        """Yield a snapshot now and after every poll, ending with the final one.

        A failed or cancelled job ends the iteration normally (see
        ``status``); the error is raised by ``await handle``.
        """
        snapshot = self.snapshot()
        yield snapshot
        while not snapshot.is_terminal:
            if not self.done:  # else another task (cancel, a waiter) finished it
                await anyio.sleep(self._pause())
                await self._step()
            snapshot = self.snapshot()
            yield snapshot

    async def cancel(self) -> BulkJob | None:
        """Cancel the running job and send no further chunks.

        Returns the job as the server then reports it (``cancelled``, or
        already final if it ended first), or None when no job was running.
        Awaiting the handle afterwards raises :class:`JobCancelledError`,
        unless everything had already finished.
        """
        async with self._lock:
            skipped = bool(self._chunks)
            self._chunks.clear()  # decided now, whatever the cancel call answers
            part = self._running()
            job = None
            try:
                if part is not None and part.job_id is not None:
                    job = await self._cancel_job(part.job_id)
                    self._record(part, job)
            finally:
                if skipped and self._error is None:
                    self._error = JobCancelledError(
                        "bulk operation cancelled before all its chunks were sent",
                        job=job or self._last_job(),
                    )
            return job

    async def _cancel_job(self, job_id: str) -> BulkJob:
        try:
            return await self._runner.cancel(job_id)
        except (BadRequestError, ConflictError):
            # Refused because the job ended meanwhile: report how it ended.
            job = await self._runner.poll(job_id)
            if not job.is_terminal:
                raise
            return job

    def _pause(self) -> float:
        # Nothing to poll yet (the next chunk is due, or a handle rebuilt from
        # a job id has never polled): go at once; otherwise wait an interval.
        part = self._running()
        if part is None or part.job is None:
            return 0.0
        return self._runner.interval

    def _running(self) -> _Part[R_co] | None:
        return next((p for p in self._parts if not p.done), None)

    def _last_job(self) -> BulkJob | None:
        jobs = [p.job for p in self._parts if p.job is not None]
        return jobs[-1] if jobs else None

    async def _step(self, deadline: float = math.inf) -> None:
        """One round: poll the running job, or send the next chunk.

        ``deadline`` (a :func:`anyio.current_time` value) bounds the wait for
        the lock and the poll, and stops a new chunk from starting, but never
        cuts a chunk's call once it has started (see :meth:`wait`).
        """
        with _until(deadline):
            await self._lock.acquire()
        try:
            if self.done:
                return
            part = self._running()
            if part is not None and part.job_id is not None:
                if not self._poll_due():
                    return  # another task polled just now
                with _until(deadline):
                    self._record(part, await self._runner.poll(part.job_id))
                self._check_stall(part)
            if self._running() is None and self._chunks:
                if anyio.current_time() >= deadline:
                    raise TimeoutError  # checked here: nothing is in flight yet
                await self.submit_next()
        finally:
            self._lock.release()

    def _check_stall(self, part: _Part[R_co]) -> None:
        idle = self._stall.stalled()
        if idle is None or part.done:
            return
        self._stall.restart()  # awaiting again waits one more window
        status = part.job.status.value if part.job is not None else "unknown"
        raise JobStalledError(
            f"job {part.job_id} made no progress for {idle:.1f}s (status {status!r}); it goes "
            "on on the server: await the handle again to wait longer, or cancel it",
            job=part.job,
            stalled_for=idle,
        )

    def _poll_due(self) -> bool:
        now = anyio.current_time()
        if self._last_poll is not None and now - self._last_poll < self._runner.interval / 2:
            return False
        self._last_poll = now
        return True

    async def submit_next(self) -> None:
        """Send the next chunk (internal: used by :class:`BulkOperation`)."""
        if self._error is not None:
            raise self._error
        if self._send is None:
            raise RuntimeError("this handle has no chunks to send")
        chunk = self._chunks[0]
        try:
            answer = await self._send(chunk)
        except BaseException as exc:
            # Never sent, or refused unprocessed (a 4xx): the chunk stays
            # queued and a new await resends it. It may have reached the
            # server (a lost answer, a 5xx, a cancellation): never send it
            # again; a new call is the caller's decision.
            if delivery_of(exc) is Delivery.UNKNOWN:
                self._give_up(exc)
            raise
        self._chunks.popleft()
        part: _Part[R_co] = _Part(size=len(chunk))
        self._parts.append(part)
        if isinstance(answer, BulkJob):
            part.job_id = answer.id
            self._record(part, answer)
        else:
            part.result = answer
            part.done = True

    def _give_up(self, exc: BaseException) -> None:
        self._chunks.clear()
        if isinstance(exc, MsgFlashError):
            self._error = exc
        else:
            self._error = MsgFlashError(
                f"a bulk call ended without an answer ({type(exc).__name__}); it may have "
                "reached the server, so it is not sent again"
            )

    def _record(self, part: _Part[R_co], job: BulkJob) -> None:
        part.job = job
        self._stall.observe(job.id, job.status.value, (job.processed_count, job.progress))
        if not part.size:
            part.size = job.requested_count
            self._requested += job.requested_count
        status = job.status
        if status is BulkJobStatus.DONE:
            part.result = self._runner.finish(job)
            part.done = True
        elif status is BulkJobStatus.FAILED:
            part.done = True
            self._error = JobFailedError(f"bulk job {job.id} failed: {job.error!r}", job=job)
        elif status is BulkJobStatus.CANCELLED:
            part.done = True
            self._error = JobCancelledError(f"bulk job {job.id} was cancelled", job=job)
        if self._error is not None:
            self._chunks.clear()


class BulkOperation(Generic[R_co]):
    """A bulk call not sent yet: ``await`` it for the result, or ``submit()`` it.

    Returned by ``contacts.bulk_delete()``, ``groups.add_members()`` and
    ``groups.remove_members()``, whose arguments are checked at once. The
    operation is sent once: awaiting it again, or calling ``submit()`` again,
    returns the same handle and result. A call that failed before leaving
    (connect error, a 4xx refusal) is sent again by the next ``await``; one
    that may have reached the server (lost answer, 5xx, cancellation) is
    never resent, and awaiting again raises that error.
    """

    def __init__(self, send: Send[R_co], chunks: Sequence[Sequence[str]], runner: JobRunner[R_co]):
        self._handle = JobHandle(runner, send=send, chunks=chunks)
        self._lock = anyio.Lock()
        self._submitted = False

    async def submit(self) -> JobHandle[R_co]:
        """Send the first call and return the handle at once (no waiting on jobs)."""
        async with self._lock:
            if not self._submitted:
                await self._handle.submit_next()
                self._submitted = True
        return self._handle

    def __await__(self) -> Generator[Any, None, R_co]:
        return self._run().__await__()

    async def _run(self) -> R_co:
        handle = await self.submit()
        return await handle.wait()
