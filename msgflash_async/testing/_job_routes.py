"""Bulk-job routes (``/api/v1/contacts/bulk-jobs``) and the 200-or-202 switch.

:func:`run_bulk` is shared by bulk-delete and the two membership calls: under
the threshold the work runs inline and the caller builds the sync body; at or
over it a :class:`BulkJob` is queued and the documented 202 is returned.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from ._emulator_state import EmulatorState, Workspace
from ._http import (
    Validator,
    bad_request,
    not_found,
    ok,
    query_int,
    read_json,
    validation_error,
)
from ._job_records import BulkJob

__all__ = ["add_routes", "read_contact_ids", "run_bulk"]

PREFIX = "/api/v1/contacts/bulk-jobs"


async def read_contact_ids(request: web.Request) -> list[str]:
    """``contactIds`` from the body: 1 to 10 000 id strings, else 400 VALIDATION_ERROR."""
    check = Validator(await read_json(request))
    ids = check.id_list("contactIds")
    check.check()
    return ids


def run_bulk(
    state: EmulatorState,
    workspace: Workspace,
    operation: str,
    ids: list[str],
    *,
    group_id: str | None,
    run_sync: Callable[[list[str]], dict[str, Any]],
) -> web.Response:
    if len(ids) < state.settings.async_threshold:
        return ok(run_sync(ids))
    job = workspace.start_job(operation, ids, group_id)
    # A job that is instant (no start delay) still answers "pending", as the docs show.
    return ok(job.accepted_reply(), status=202)


class _JobRoutes:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    def _job(self, request: web.Request) -> BulkJob:
        workspace = self.state.workspace(request)
        job = workspace.jobs_by_id.get(request.match_info["job_id"])
        if job is None:
            raise not_found("Bulk job")
        return job

    async def list(self, request: web.Request) -> web.Response:
        workspace = self.state.workspace(request)
        limit = query_int(request, "limit", default=20, low=1, high=100)
        # The jobs cursor is documented as a job UUID: the last id of the previous page.
        end = len(workspace.jobs)
        cursor = request.query.get("cursor")
        if cursor is not None:
            after = workspace.jobs_by_id.get(cursor)
            if after is None:
                raise validation_error([{"field": "cursor", "message": "unknown job id"}])
            end = workspace.jobs.index(after)
        start = max(0, end - limit)
        page = [job.to_wire() for job in reversed(workspace.jobs[start:end])]
        has_more = start > 0
        next_cursor = page[-1]["id"] if has_more else None
        return ok({"jobs": page, "limit": limit, "nextCursor": next_cursor, "hasMore": has_more})

    async def get(self, request: web.Request) -> web.Response:
        return ok(self._job(request).to_wire())

    async def cancel(self, request: web.Request) -> web.Response:
        job = self._job(request)
        if job.terminal:
            raise bad_request(f"Bulk job cannot be cancelled in status {job.status}")
        job.cancel()
        return ok(job.to_wire())


def add_routes(app: web.Application, state: EmulatorState) -> None:
    routes = _JobRoutes(state)
    app.router.add_get(PREFIX, routes.list)
    app.router.add_get(PREFIX + "/{job_id}", routes.get)
    app.router.add_get(PREFIX + "/{job_id}/progress", routes.get)
    app.router.add_post(PREFIX + "/{job_id}/cancel", routes.cancel)
