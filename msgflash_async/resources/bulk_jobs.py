"""``client.bulk_jobs``: background bulk jobs: list, read, poll, cancel, rebuild a handle.

The plumbing shared with the bulk calls lives in :mod:`msgflash_async._bulk`.
"""

from __future__ import annotations

from .._bulk import BulkResult, cancel_job, finish_any, job_runner, merge_any, poll_job
from .._jobs import DEFAULT_POLL_INTERVAL, DEFAULT_STALL_TIMEOUT, JobHandle
from .._pagination import AsyncPaginator, resolve_resume
from .._validation import MAX_PAGE_SIZE, check_limit
from ..models.jobs import BulkJob
from ._base import Resource, api_path

__all__ = ["BulkJobs", "BulkResult"]


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
        return await self._get(api_path("contacts", "bulk-jobs", job_id), BulkJob)

    async def progress(self, job_id: str) -> BulkJob:
        """The job as its progress endpoint reports it (the one meant for polling)."""
        return await poll_job(self._session, job_id)

    async def cancel(self, job_id: str) -> BulkJob:
        """Cancel a ``pending`` or ``processing`` job; returns it, now ``cancelled``."""
        return await cancel_job(self._session, job_id)

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
        handle = JobHandle(
            job_runner(self._session, finish_any, merge_any, poll_interval), job_ids=ids
        )
        handle.stall_timeout = stall_timeout
        return handle
