"""Bulk contact jobs (section 6.1): the job record and its clock-driven progress.

Progress is computed lazily from the emulator clock whenever the workspace
is touched, instead of by a background task: no task to own or cancel, and
a test with an injected clock gets exactly the same answer every run. Each
advance really applies the per-contact effect, so contacts disappear (or
join a group) while ``processedCount`` grows, and a cancel freezes them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._http import iso_now, new_id

__all__ = ["OPERATION_OUTCOMES", "TERMINAL", "BulkJob", "JobFailure"]

TERMINAL = frozenset({"done", "failed", "cancelled"})

# The summary keys each operation reports; server-side jobs only count.
OPERATION_OUTCOMES: dict[str, tuple[str, ...]] = {
    "bulk_delete_contacts": ("deleted", "notFound"),
    "add_to_group": ("added", "alreadyInGroup", "notFound"),
    "remove_from_group": ("removed", "notInGroup"),
}

Apply = Callable[[str], str]  # contact id -> outcome key; raises JobFailure to abort


class JobFailure(Exception):
    """Raised by an effect when the job cannot go on (e.g. its group was deleted)."""


class JobPlan:
    """How one job runs: start time, items per second (None: instant), optional failure."""

    __slots__ = ("fail_at", "fail_message", "rate", "start_at")

    def __init__(
        self,
        start_at: float,
        rate: float | None,
        fail_at: int | None = None,
        fail_message: str = "Bulk job failed",
    ) -> None:
        self.start_at = start_at
        self.rate = rate
        self.fail_at = fail_at
        self.fail_message = fail_message

    def target(self, now: float, requested: int) -> int:
        """How many items should be processed by ``now``."""
        if now < self.start_at:
            return 0
        if self.rate is None:
            return requested
        return min(requested, int((now - self.start_at) * self.rate))


class BulkJob:
    """One background bulk operation over ``items`` (contact ids, as sent)."""

    def __init__(
        self, operation: str, items: list[str], group_id: str | None, plan: JobPlan
    ) -> None:
        self.id = new_id()
        self.operation = operation
        self.items = items
        self.group_id = group_id
        self.plan = plan
        self.status = "pending"
        self.processed = 0
        self.summary = dict.fromkeys(OPERATION_OUTCOMES[operation], 0)
        self.error: str | None = None
        self.created_at = iso_now()
        self.updated_at = self.created_at
        self.completed_at: str | None = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def progress(self) -> int:
        if not self.items:
            return 100
        return self.processed * 100 // len(self.items)

    def advance(self, now: float, apply: Apply) -> None:
        """Apply every item due by ``now``; move to processing, done or failed."""
        if self.terminal or now < self.plan.start_at:
            return
        target = self.plan.target(now, len(self.items))
        fail_at = self.plan.fail_at
        stop = target if fail_at is None else min(target, fail_at)
        before = self.processed
        try:
            for contact_id in self.items[before:stop]:
                self.summary[apply(contact_id)] += 1
                self.processed += 1
        except JobFailure as exc:
            self._finish("failed", str(exc))
            return
        if fail_at is not None and target >= fail_at:
            self._finish("failed", self.plan.fail_message)
        elif self.processed == len(self.items):
            self._finish("done")
        elif self.status != "processing" or self.processed != before:
            self.status = "processing"
            self.updated_at = iso_now()

    def cancel(self) -> None:
        self._finish("cancelled")

    def _finish(self, status: str, error: str | None = None) -> None:
        self.status = status
        self.error = error
        self.updated_at = self.completed_at = iso_now()

    def accepted_reply(self) -> dict[str, Any]:
        """The 202 body right after queuing (always ``pending``, as documented)."""
        data: dict[str, Any] = {
            "mode": "async",
            "jobId": self.id,
            "status": "pending",
            "operation": self.operation,
            "requestedCount": len(self.items),
        }
        if self.group_id is not None:
            data["groupId"] = self.group_id
        data["progress"] = 0
        data["message"] = (
            f"Bulk operation queued. Check status via GET /api/v1/contacts/bulk-jobs/{self.id}"
        )
        return data

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "operation": self.operation,
            "status": self.status,
            "requestedCount": len(self.items),
            "processedCount": self.processed,
            "progress": self.progress,
            "groupId": self.group_id,
            "summary": dict(self.summary),
            "error": self.error,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "completedAt": self.completed_at,
        }
