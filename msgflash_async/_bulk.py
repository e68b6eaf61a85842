"""Bulk job plumbing shared by the three bulk calls and ``client.bulk_jobs``.

Bulk delete, add and remove group members answer ``200`` with a result or
``202`` with a job; this module reads either, polls and cancels jobs over the
session, and turns a finished job's ``summary`` into the same typed result
the synchronous answer gives. Resources build their operations here instead
of constructing ``BulkJobs``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeAlias, TypeVar

import attrs

from ._converter import structure
from ._jobs import BulkOperation, JobRunner, split
from ._protocol import api_path
from ._session import Response, Session
from ._validation import MAX_IDS_PER_CALL, check_ids, check_positive
from .models.contacts import AddMembersResult, BulkDeleteResult, RemoveMembersResult
from .models.jobs import BulkJob, BulkJobAccepted, BulkJobOperation

__all__ = [
    "BulkResult",
    "add_result",
    "bulk_operation",
    "cancel_job",
    "delete_result",
    "finish_any",
    "job_or_result",
    "job_runner",
    "merge_any",
    "poll_job",
]

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


def finish_any(job: BulkJob) -> BulkResult:
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


def merge_any(results: Sequence[BulkResult]) -> BulkResult:
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


async def poll_job(session: Session, job_id: str) -> BulkJob:
    """The job as its progress endpoint reports it (the one meant for polling)."""
    response = await session.request("GET", _job_path(job_id, "progress"))
    return structure(response.data, BulkJob)


async def cancel_job(session: Session, job_id: str) -> BulkJob:
    """Cancel a job; cancelling twice is harmless, so a lost answer may be retried."""
    response = await session.request("POST", _job_path(job_id, "cancel"), idempotent=True)
    return structure(response.data, BulkJob)


def _job_path(job_id: str, *more: str) -> str:
    return api_path("contacts", "bulk-jobs", job_id, *more)


def job_runner(
    session: Session,
    finish: Callable[[BulkJob], R],
    merge: Callable[[Sequence[R]], R],
    interval: float,
) -> JobRunner[R]:
    """How a handle polls, cancels, reads and merges the jobs of one operation."""
    check_positive(interval, "poll_interval")

    async def poll(job_id: str) -> BulkJob:
        return await poll_job(session, job_id)

    async def cancel(job_id: str) -> BulkJob:
        return await cancel_job(session, job_id)

    return JobRunner(poll=poll, cancel=cancel, finish=finish, merge=merge, interval=interval)


def bulk_operation(
    session: Session,
    ids: Any,
    send: Callable[[Sequence[str]], Awaitable[R | BulkJob]],
    finish: Callable[[BulkJob], R],
    merge: Callable[[Sequence[R]], R],
    poll_interval: float,
) -> BulkOperation[R]:
    """A bulk operation over ``ids`` (checked now), split into calls of at most 10000 ids."""
    checked = check_ids(ids)
    runner = job_runner(session, finish, merge, poll_interval)
    return BulkOperation(send, split(checked, MAX_IDS_PER_CALL), runner)
