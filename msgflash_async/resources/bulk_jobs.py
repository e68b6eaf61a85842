"""Background bulk jobs: list, read, poll, cancel, and rebuild a handle.

Also the shared plumbing of the three bulk calls (bulk delete, add and remove
group members): reading a ``200``-or-``202`` answer and turning a finished
job's ``summary`` into the same typed result the synchronous answer gives.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeAlias, TypeVar

import attrs

from .._converter import structure
from .._exceptions import ValidationError
from .._jobs import (
    DEFAULT_POLL_INTERVAL,
    DEFAULT_STALL_TIMEOUT,
    BulkOperation,
    JobHandle,
    JobRunner,
    split,
)
from .._pagination import AsyncPaginator, resolve_resume
from .._session import Response
from .._validation import MAX_IDS_PER_CALL, MAX_PAGE_SIZE, check_ids, check_limit
from ..models.contacts import AddMembersResult, BulkDeleteResult, RemoveMembersResult
from ..models.jobs import BulkJob, BulkJobAccepted, BulkJobOperation
from ._base import Resource, api_path

__all__ = ["BulkJobs", "BulkResult"]

R = TypeVar("R")

BulkResult: TypeAlias = BulkDeleteResult | AddMembersResult | RemoveMembersResult
"""The result of any bulk operation, for handles rebuilt from a job id."""


@attrs.frozen
class _DeleteAnswer:
    # ``notFound`` is a list of ids in the synchronous answer and a count in a
    # job summary; both are read here.
    requested: int | None = None
    deleted: int = 0
    not_found: Any = 0


def delete_result(data: Any, requested: int | None = None) -> BulkDeleteResult:
    """A :class:`BulkDeleteResult` from a sync answer or a job summary."""
    answer = structure(data if data is not None else {}, _DeleteAnswer)
    ids: tuple[str, ...] = ()
    count = answer.not_found
    if isinstance(count, list):
        ids = tuple(str(i) for i in count)
        count = len(ids)
    elif isinstance(count, bool) or not isinstance(count, int):
        count = 0
    return BulkDeleteResult(
        requested=answer.requested if answer.requested is not None else (requested or 0),
        deleted=answer.deleted,
        not_found=count,
        not_found_ids=ids,
    )


def _finish(job: BulkJob) -> BulkResult:
    """The typed result of a finished job, chosen by its operation."""
    summary = job.summary or {}
    if job.operation is BulkJobOperation.BULK_DELETE_CONTACTS:
        return delete_result(summary, job.requested_count)
    if job.operation is BulkJobOperation.REMOVE_FROM_GROUP:
        return structure(summary, RemoveMembersResult)
    return add_result(job)


def add_result(job: BulkJob) -> AddMembersResult:
    """The result of a finished add-members job (its summary has no ``total``)."""
    result = structure(job.summary or {}, AddMembersResult)
    if result.total is None:
        result = attrs.evolve(result, total=job.requested_count)
    return result


def _merge(results: Sequence[BulkResult]) -> BulkResult:
    first = results[0]
    if isinstance(first, BulkDeleteResult):
        return BulkDeleteResult.merged(r for r in results if isinstance(r, BulkDeleteResult))
    if isinstance(first, RemoveMembersResult):
        return RemoveMembersResult.merged(r for r in results if isinstance(r, RemoveMembersResult))
    return AddMembersResult.merged(r for r in results if isinstance(r, AddMembersResult))


def job_or_result(response: Response, read: Callable[[Any], R]) -> R | BulkJob:
    """A ``202`` (or ``mode: "async"``) answer as its job, a ``200`` through ``read``."""
    data = response.data
    queued = isinstance(data, Mapping) and data.get("mode") == "async"
    if response.status == 202 or queued:
        return structure(data, BulkJobAccepted).to_job()
    return read(data)


def _job_data(data: Any) -> Any:
    # The job object names its id ``id``; accept ``jobId`` too, as the 202
    # answer spells it, in case the progress endpoint does the same.
    if isinstance(data, Mapping) and "id" not in data and "jobId" in data:
        return {**data, "id": data["jobId"]}
    return data


class BulkJobs(Resource):
    """``client.bulk_jobs``: background jobs of bulk contact operations."""

    def list(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        resume: str | None = None,
        max_items: int | None = None,
        prefetch: bool = False,
    ) -> AsyncPaginator[BulkJob]:
        """Recent jobs, newest first: ``async for job in client.bulk_jobs.list()``.

        ``limit`` is the page size, 1 to 100 (default 100: at 10 requests a
        second the number of pages is what costs time).
        """
        check_limit(limit, MAX_PAGE_SIZE)
        start, query = resolve_resume(resume, cursor, {"limit": limit})
        query.setdefault("limit", MAX_PAGE_SIZE)
        return self._cursor_list(
            api_path("contacts", "bulk-jobs"),
            BulkJob,
            ("jobs", "items"),
            params=query,
            cursor=start,
            max_items=max_items,
            prefetch=prefetch,
        )

    async def get(self, job_id: str) -> BulkJob:
        """The full job."""
        response = await self._call("GET", api_path("contacts", "bulk-jobs", job_id))
        return structure(_job_data(response.data), BulkJob)

    async def progress(self, job_id: str) -> BulkJob:
        """The job as its progress endpoint reports it (the one meant for polling)."""
        path = api_path("contacts", "bulk-jobs", job_id, "progress")
        response = await self._call("GET", path)
        return structure(_job_data(response.data), BulkJob)

    async def cancel(self, job_id: str) -> BulkJob:
        """Cancel a ``pending`` or ``processing`` job; returns it, now ``cancelled``."""
        path = api_path("contacts", "bulk-jobs", job_id, "cancel")
        # Cancelling twice is harmless, so a lost answer may be retried.
        response = await self._call("POST", path, idempotent=True)
        return structure(_job_data(response.data), BulkJob)

    def handle(
        self,
        job_id: str,
        *more_job_ids: str,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        stall_timeout: float | None = DEFAULT_STALL_TIMEOUT,
    ) -> JobHandle[BulkResult]:
        """A handle on jobs submitted earlier, e.g. by another process.

        ``await client.bulk_jobs.handle(job_id)`` waits for the job and
        returns the typed result for its operation. Pass every id of a split
        operation (``handle.job_ids``, stored once all were submitted) to get
        its merged result back. A job without progress for ``stall_timeout``
        seconds raises :class:`JobStalledError` (see :class:`JobHandle`).
        """
        ids = (job_id, *more_job_ids)
        for each in ids:
            api_path("contacts", "bulk-jobs", each)  # refuses an unusable id now
        handle = JobHandle(self._runner(_finish, _merge, poll_interval), job_ids=ids)
        handle.stall_timeout = stall_timeout
        return handle

    def _runner(
        self, finish: Callable[[BulkJob], R], merge: Callable[[Sequence[R]], R], interval: float
    ) -> JobRunner[R]:
        if not interval > 0:
            raise ValidationError("must be > 0", field="poll_interval")
        return JobRunner(
            poll=self.progress, cancel=self.cancel, finish=finish, merge=merge, interval=interval
        )

    def operation(
        self,
        ids: Any,
        send: Callable[[Sequence[str]], Awaitable[R | BulkJob]],
        finish: Callable[[BulkJob], R],
        merge: Callable[[Sequence[R]], R],
        poll_interval: float,
    ) -> BulkOperation[R]:
        """A bulk operation over ``ids``, split into calls of at most 10000 ids."""
        checked = check_ids(ids)
        runner = self._runner(finish, merge, poll_interval)
        return BulkOperation(send, split(checked, MAX_IDS_PER_CALL), runner)
