"""``client.number_lookups``: check which numbers are on WhatsApp before sending.

One call for any count: ``await client.number_lookups.create(instance_id,
numbers)`` returns a :class:`LookupResult`. Fewer than 100 numbers are
answered at once; from 100 the server queues a job, which is polled; more
than 10,000 (the most one call takes) are sent as several calls, one after
the other, with one merged result. ``await op.submit()`` gives a
:class:`LookupHandle` (ids, progress with checked and on-WhatsApp counts,
cancel, wait with a timeout); ``handle(lookup_id)`` rebuilds one elsewhere.

A lookup is followed by the same job machinery as bulk contact jobs
(:mod:`msgflash_async._jobs`): each lookup is carried through it as a
:class:`BulkJob`-shaped record holding the :class:`NumberLookup`, so
polling, cancelling, timeouts and "a POST that may have reached the server is
never sent again" behave exactly as they do there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Iterable, Mapping, Sequence
from typing import Any

from .._converter import items_of, structure
from .._exceptions import (
    JobCancelledError,
    JobError,
    JobFailedError,
    JobStalledError,
    ValidationError,
)
from .._jobs import (
    DEFAULT_POLL_INTERVAL,
    DEFAULT_STALL_TIMEOUT,
    BulkOperation,
    JobHandle,
    JobRunner,
    split,
)
from .._pagination import AsyncPaginator, Page
from .._repr import tolerant_repr
from .._validation import MAX_PAGE_SIZE, check_limit, check_positive
from ..models.jobs import BulkJob, BulkJobOperation, BulkJobStatus, BulkProgress
from ..models.lookups import (
    ImportContactsResult,
    LookupAccepted,
    LookupProgress,
    LookupResult,
    LookupStatus,
    NumberLookup,
)
from ._base import Resource, api_path

__all__ = ["MAX_NUMBERS_PER_CALL", "LookupHandle", "LookupOperation", "NumberLookups"]

MAX_NUMBERS_PER_CALL = 10_000
"""Numbers one lookup call accepts; more are split into several calls."""


_CREATE = api_path("number-lookups")
_OPERATION = BulkJobOperation("number_lookup")
_LIST_KEYS = ("lookups", "numberLookups", "items")
_PAGE_PREFIX = "page:"


def _as_job(lookup: NumberLookup) -> BulkJob:
    """A lookup as the shared job machinery follows it (the lookup rides in ``summary``)."""
    return BulkJob(
        id=lookup.id,
        status=BulkJobStatus(lookup.status.value),
        operation=_OPERATION,
        requested_count=lookup.requested_count,
        # Invalid numbers are settled at once; the rest once checked.
        processed_count=lookup.checked_count + lookup.invalid_count,
        progress=lookup.progress,
        summary={"lookup": lookup},
        error=lookup.error,
        created_at=lookup.created_at,
        updated_at=lookup.updated_at,
        completed_at=lookup.completed_at,
    )


def _lookup_of(job: Any) -> NumberLookup | None:
    lookup = (getattr(job, "summary", None) or {}).get("lookup")
    return lookup if isinstance(lookup, NumberLookup) else None


def _finish(job: BulkJob) -> LookupResult:
    lookup = _lookup_of(job)
    if lookup is None:  # not reachable: every job here is built by _as_job
        return LookupResult(lookup_ids=(job.id,), requested=job.requested_count)
    return lookup.to_result()


def _accepted(data: Any, status: int) -> LookupResult | BulkJob:
    answer = structure(data, LookupAccepted)
    if status == 202 or answer.is_job:
        lookup = NumberLookup(
            id=answer.lookup_id, status=answer.status, requested_count=answer.requested
        )
        return _as_job(lookup)
    return answer.to_result()


def _check_numbers(numbers: Any) -> list[str]:
    if isinstance(numbers, (str, bytes)) or not isinstance(numbers, Iterable):
        raise ValidationError("expected a list of phone numbers", field="numbers")
    checked = list(numbers)
    if not checked:
        raise ValidationError("give at least one number", field="numbers")
    for number in checked:
        if not isinstance(number, str) or not number.strip():
            raise ValidationError(f"expected a phone number, got {number!r}", field="numbers")
    return checked


class NumberLookups(Resource):
    """Create, follow, list and read number lookups; import their hits as contacts."""

    def create(
        self,
        instance_id: str,
        numbers: Iterable[str],
        *,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
    ) -> LookupOperation:
        """Check ``numbers`` (international format) through the connected ``instance_id``.

        ``await`` it for the :class:`LookupResult`. Numbers the server cannot
        read come back in ``invalid`` rather than failing the call. Checked
        now (an empty list is refused), before any request. A call that may
        have reached the server is never sent again: a lost answer or a
        ``502 PROVIDER_ERROR`` (:class:`ProviderError`) is raised, and a new
        lookup is the caller's decision.
        """
        checked = _check_numbers(numbers)
        api_path("instances", instance_id)  # refuses an unusable id now

        async def send(chunk: Sequence[str]) -> LookupResult | BulkJob:
            body = {"instanceId": instance_id, "numbers": list(chunk)}
            # A POST: never retried once it may have reached the server.
            response = await self._call("POST", _CREATE, json=body)
            return _accepted(response.data, response.status)

        runner = self._runner(poll_interval)
        chunks = split(checked, MAX_NUMBERS_PER_CALL)
        return LookupOperation(BulkOperation(send, chunks, runner))

    def handle(
        self,
        lookup_id: str,
        *more_lookup_ids: str,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        stall_timeout: float | None = DEFAULT_STALL_TIMEOUT,
    ) -> LookupHandle:
        """A handle on lookups created earlier (e.g. by another process), by id.

        Pass every id of a split lookup (``handle.lookup_ids``) for its merged result.
        """
        ids = (lookup_id, *more_lookup_ids)
        for each in ids:
            api_path("number-lookups", each)  # refuses an unusable id now
        handle = LookupHandle(JobHandle(self._runner(poll_interval), job_ids=ids))
        handle.stall_timeout = stall_timeout
        return handle

    async def get(self, lookup_id: str) -> NumberLookup:
        """A lookup with its result lists once it is done."""
        response = await self._call("GET", api_path("number-lookups", lookup_id))
        return structure(_lookup_data(response.data), NumberLookup)

    async def progress(self, lookup_id: str) -> NumberLookup:
        """A lookup's counts as its progress endpoint reports them (meant for polling)."""
        path = api_path("number-lookups", lookup_id, "progress")
        response = await self._call("GET", path)
        return structure(_lookup_data(response.data), NumberLookup)

    async def cancel(self, lookup_id: str) -> NumberLookup:
        """Cancel a queued or running lookup (an answered-at-once one cannot be)."""
        path = api_path("number-lookups", lookup_id, "cancel")
        # Cancelling twice is harmless, so a lost answer may be retried.
        response = await self._call("POST", path, idempotent=True)
        return structure(_lookup_data(response.data), NumberLookup)

    async def import_contacts(
        self, lookup_id: str, *, tag: str | None = None
    ) -> ImportContactsResult:
        """Add the numbers a lookup found on WhatsApp to the contacts, tagged ``tag``.

        Only numbers on WhatsApp are imported. Not retried once it may have
        reached the server.
        """
        if tag is not None and (not isinstance(tag, str) or not tag.strip()):
            raise ValidationError("expected a non-empty tag", field="tag")
        path = api_path("number-lookups", lookup_id, "import-contacts")
        body = {} if tag is None else {"tag": tag}
        return await self._post(path, ImportContactsResult, json=body)

    def list(
        self, *, limit: int | None = None, max_items: int | None = None
    ) -> AsyncPaginator[NumberLookup]:
        """Recent lookups: ``async for lookup in client.number_lookups.list()``.

        The list's paging is not documented: a ``nextCursor`` is followed if
        the server sends one, else page numbers if it sends ``totalPages``.
        """
        check_limit(limit, MAX_PAGE_SIZE)
        path = api_path("number-lookups")

        async def fetch(cursor: str | None) -> Page[NumberLookup]:
            params: dict[str, Any] = {} if limit is None else {"limit": limit}
            if cursor is not None and cursor.startswith(_PAGE_PREFIX):
                params["page"] = int(cursor[len(_PAGE_PREFIX) :])
            elif cursor is not None:
                params["cursor"] = cursor
            response = await self._call("GET", path, params=params)
            return _lookup_page(response.data, params.get("page", 1))

        return AsyncPaginator(fetch, max_items=max_items)

    def _runner(self, interval: float) -> JobRunner[LookupResult]:
        check_positive(interval, "poll_interval")

        async def poll(lookup_id: str) -> BulkJob:
            lookup = await self.progress(lookup_id)
            if lookup.status is LookupStatus.DONE and lookup.result is None:
                # The progress answer counts; the lists come with the full read.
                full = await self.get(lookup_id)
                if full.result is not None:
                    lookup = full
            return _as_job(lookup)

        async def cancel(lookup_id: str) -> BulkJob:
            return _as_job(await self.cancel(lookup_id))

        return JobRunner(
            poll=poll, cancel=cancel, finish=_finish, merge=LookupResult.merged, interval=interval
        )


def _lookup_data(data: Any) -> Any:
    # The progress answer names the id ``id``; accept ``lookupId`` as the
    # create answer spells it, for the reads whose shape was not captured.
    if isinstance(data, Mapping) and "id" not in data and "lookupId" in data:
        return {**data, "id": data["lookupId"]}
    return data


def _lookup_page(data: Any, page: int) -> Page[NumberLookup]:
    items = structure([_lookup_data(i) for i in items_of(data, _LIST_KEYS)], list[NumberLookup])
    meta: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
    next_cursor = meta.get("nextCursor")
    total_pages = meta.get("totalPages")
    if isinstance(next_cursor, str) and next_cursor:
        cursor: str | None = next_cursor
    elif isinstance(total_pages, int) and page < total_pages and items:
        cursor = f"{_PAGE_PREFIX}{page + 1}"
    else:
        cursor = None
    total = meta.get("total")
    return Page(
        items=items,
        next_cursor=cursor,
        has_more=cursor is not None,
        total=total if isinstance(total, int) else None,
    )


class LookupOperation:
    """A lookup not sent yet: ``await`` it for the result, or ``submit()`` it for a handle.

    Sent once: awaiting again, or calling ``submit()`` again, gives the same
    handle and result.
    """

    def __init__(self, operation: BulkOperation[LookupResult]) -> None:
        self._operation = operation
        self._handle: LookupHandle | None = None

    async def submit(self) -> LookupHandle:
        """Send the first call and return the handle at once (no waiting on jobs)."""
        handle = await self._operation.submit()
        if self._handle is None:
            self._handle = LookupHandle(handle)
        return self._handle

    def __await__(self) -> Generator[Any, None, LookupResult]:
        return self._run().__await__()

    async def _run(self) -> LookupResult:
        return await (await self.submit()).wait()


class LookupHandle:
    """A submitted lookup: follow it, cancel it, or await its :class:`LookupResult`.

    ``await handle`` (or ``await handle.wait(timeout)``) polls until every
    lookup is final; a lookup that ``failed`` raises :class:`JobFailedError`,
    one ``cancelled`` raises :class:`JobCancelledError`, their ``.job`` the
    last :class:`NumberLookup`. After ``timeout`` seconds the built-in
    ``TimeoutError`` is raised and the handle stays usable. A lookup without
    progress for ``stall_timeout`` seconds (600; None: never) raises
    :class:`JobStalledError` instead of polling for ever (see :class:`JobHandle`).
    """

    def __init__(self, handle: JobHandle[LookupResult]) -> None:
        self._handle = handle

    @property
    def stall_timeout(self) -> float | None:
        """Seconds without progress before :class:`JobStalledError`; None: never."""
        return self._handle.stall_timeout

    @stall_timeout.setter
    def stall_timeout(self, seconds: float | None) -> None:
        self._handle.stall_timeout = seconds

    @tolerant_repr
    def __repr__(self) -> str:
        return f"<LookupHandle lookup_ids={list(self.lookup_ids)} status={self.status.value}>"

    @property
    def lookup_ids(self) -> tuple[str, ...]:
        """Ids of every lookup the server queued so far (empty if it answered at once)."""
        return self._handle.job_ids

    @property
    def lookup_id(self) -> str | None:
        return self._handle.job_id

    @property
    def done(self) -> bool:
        return self._handle.done

    @property
    def status(self) -> LookupStatus:
        return LookupStatus(self._handle.status.value)

    def snapshot(self) -> LookupProgress:
        """Where the lookup stands as of the last poll (no request)."""
        return self._progress(self._handle.snapshot())

    async def progress(self) -> AsyncIterator[LookupProgress]:
        """Yield a snapshot now and after every poll, ending with the final one."""
        async for snapshot in self._handle.progress():
            yield self._progress(snapshot)

    def result(self) -> LookupResult:
        """The result of a finished lookup; raises how it ended badly."""
        try:
            return self._handle.result()
        except JobError as exc:
            raise _lookup_error(exc) from None

    def __await__(self) -> Generator[Any, None, LookupResult]:
        return self.wait().__await__()

    async def wait(self, timeout: float | None = None) -> LookupResult:
        """Poll until finished and return the result (see the class docstring)."""
        try:
            return await self._handle.wait(timeout)
        except JobError as exc:
            raise _lookup_error(exc) from None

    async def cancel(self) -> NumberLookup | None:
        """Cancel the running lookup and send no further calls; its last state, if any."""
        job = await self._handle.cancel()
        return None if job is None else _lookup_of(job)

    def _progress(self, snapshot: BulkProgress) -> LookupProgress:
        lookups = tuple(filter(None, (_lookup_of(job) for job in snapshot.jobs)))
        status = LookupStatus(snapshot.status.value)
        if status is LookupStatus.DONE:
            result = self._handle.result()
            return LookupProgress(
                status=status,
                requested=result.requested or snapshot.requested,
                checked=result.checked,
                on_whatsapp=result.on_whatsapp_count,
                not_on_whatsapp=result.not_on_whatsapp_count,
                invalid=result.invalid_count,
                lookups=lookups,
            )
        return LookupProgress(
            status=status,
            requested=snapshot.requested,
            checked=sum(lookup.checked_count for lookup in lookups),
            on_whatsapp=sum(lookup.on_whatsapp_count for lookup in lookups),
            not_on_whatsapp=sum(lookup.not_on_whatsapp_count for lookup in lookups),
            invalid=sum(lookup.invalid_count for lookup in lookups),
            lookups=lookups,
        )


def _lookup_error(exc: JobError) -> JobError:
    lookup = _lookup_of(exc.job)
    if lookup is None:
        return exc
    if isinstance(exc, JobCancelledError):
        return JobCancelledError(f"number lookup {lookup.id} was cancelled", job=lookup)
    if isinstance(exc, JobFailedError):
        return JobFailedError(f"number lookup {lookup.id} failed: {lookup.error!r}", job=lookup)
    if isinstance(exc, JobStalledError):
        message = f"number lookup {lookup.id} made no progress for {exc.stalled_for:g} s"
        return JobStalledError(message, job=lookup, stalled_for=exc.stalled_for)
    return exc
