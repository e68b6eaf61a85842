"""Background bulk jobs (contact deletes and group membership changes).

A bulk call with 100 ids or more is queued as a job; :class:`BulkJob` is its
state as the job endpoints report it, :class:`BulkJobAccepted` the ``202``
answer that queued it, and :class:`BulkProgress` the SDK's view of a whole
operation, which may span several jobs when it had to be split.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
from attrs import frozen

from ._enums import OpenEnum

__all__ = [
    "BulkJob",
    "BulkJobAccepted",
    "BulkJobOperation",
    "BulkJobStatus",
    "BulkProgress",
]


class BulkJobStatus(OpenEnum):
    """Lifecycle of a job; ``done``, ``failed`` and ``cancelled`` are final."""

    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset({BulkJobStatus.DONE, BulkJobStatus.FAILED, BulkJobStatus.CANCELLED})


class BulkJobOperation(OpenEnum):
    """What a job does (the job's ``operation``)."""

    BULK_DELETE_CONTACTS = "bulk_delete_contacts"
    ADD_TO_GROUP = "add_to_group"
    REMOVE_FROM_GROUP = "remove_from_group"


@frozen
class BulkJob:
    """One background job as the server last reported it.

    ``progress`` is the server's integer percent; ``summary`` holds the
    operation's counters once the job is done (its keys depend on the
    operation, which is why the SDK turns it into a typed result for you).
    """

    id: str
    status: BulkJobStatus
    operation: BulkJobOperation | None = None
    requested_count: int = 0
    processed_count: int = 0
    progress: int = 0
    group_id: str | None = None
    summary: dict[str, Any] | None = attrs.field(default=None, hash=False)
    error: Any = attrs.field(default=None, hash=False)
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None

    @property
    def is_terminal(self) -> bool:
        """True once the job will not change any more."""
        return self.status.is_terminal


@frozen
class BulkJobAccepted:
    """The ``202`` answer to a bulk call: the job was queued."""

    job_id: str
    status: BulkJobStatus = BulkJobStatus.PENDING
    operation: BulkJobOperation | None = None
    requested_count: int = 0
    group_id: str | None = None
    progress: int = 0
    mode: str | None = None
    message: str | None = None

    def to_job(self) -> BulkJob:
        """The job as first known, before any poll."""
        return BulkJob(
            id=self.job_id,
            status=self.status,
            operation=self.operation,
            requested_count=self.requested_count,
            progress=self.progress,
            group_id=self.group_id,
        )


@frozen
class BulkProgress:
    """Where a bulk operation stands, summed over every call and job it took.

    ``jobs`` holds the latest snapshot of every job submitted so far (empty
    when the server answered every call at once); ``status`` is the status of
    the operation as a whole.
    """

    status: BulkJobStatus
    requested: int
    processed: int
    jobs: tuple[BulkJob, ...] = ()

    @property
    def percent(self) -> int:
        """Share of the requested ids processed, 0 to 100."""
        if self.requested <= 0:
            return 100 if self.status is BulkJobStatus.DONE else 0
        return min(100, self.processed * 100 // self.requested)

    @property
    def job(self) -> BulkJob | None:
        """The most recent job, if any."""
        return self.jobs[-1] if self.jobs else None

    @property
    def is_terminal(self) -> bool:
        return self.status.is_terminal
