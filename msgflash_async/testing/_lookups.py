"""Number lookups (``/api/v1/number-lookups``): sync under the threshold, jobs above it.

Which numbers are "on WhatsApp" is a knob: every valid number is, except
those in ``EmulatorSettings.not_on_whatsapp`` (E.164 form). A number that
does not normalise to E.164 (spaces, dashes, dots and brackets are dropped,
a leading ``00`` becomes ``+``) is invalid. Jobs advance with the emulator
clock like bulk jobs (``job_rate`` numbers a second after
``job_start_delay``), checked in batches of 20 as the provider does; a
lookup through a disconnected instance answers ``502 PROVIDER_ERROR``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from ._contact_store import Contact
from ._emulator_state import EmulatorState, Workspace
from ._http import (
    ApiFailure,
    Validator,
    bad_request,
    iso_now,
    new_id,
    not_found,
    ok,
    query_int,
    read_json,
    validation_error,
)
from ._job_records import TERMINAL, JobPlan

__all__ = ["LOOKUPS_KEY", "Lookup", "LookupService", "add_routes", "normalise"]

PREFIX = "/api/v1/number-lookups"
BATCH = 20  # numbers the provider checks per call
MAX_NUMBERS = 10_000
_SEPARATORS = re.compile(r"[\s\-.()]")
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def normalise(raw: str) -> str | None:
    """``raw`` in E.164, or None when it cannot be read as a phone number."""
    text = _SEPARATORS.sub("", raw)
    if text.startswith("00"):
        text = "+" + text[2:]
    elif not text.startswith("+"):
        text = "+" + text
    return text if _E164.fullmatch(text) else None


class Lookup:
    """One lookup: its numbers sorted into on / not on WhatsApp / invalid up front,
    revealed as ``checked`` grows with the clock."""

    def __init__(
        self, instance_id: str, numbers: list[str], absent: set[str], plan: JobPlan | None
    ) -> None:
        self.id = new_id()
        self.instance_id = instance_id
        self.requested = len(numbers)
        self.invalid: list[str] = []
        valid: dict[str, None] = {}  # insertion-ordered, duplicates dropped
        for raw in numbers:
            number = normalise(raw)
            if number is None:
                self.invalid.append(raw)
            else:
                valid[number] = None
        self.valid = list(valid)
        self.on = {n for n in self.valid if n not in absent}
        self.plan = plan  # None: answered at once
        self.status = "done" if plan is None else "pending"
        self.checked = len(self.valid) if plan is None else 0
        self.error: str | None = None
        self.created_at = self.updated_at = iso_now()
        self.completed_at: str | None = self.created_at if plan is None else None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def advance(self, now: float) -> None:
        plan = self.plan
        if plan is None or self.terminal or now < plan.start_at:
            return
        total = len(self.valid)
        target = plan.target(now, total)
        if plan.fail_at is not None and target >= plan.fail_at:
            self.checked = plan.fail_at - plan.fail_at % BATCH
            self._finish("failed", plan.fail_message)
        elif target >= total:
            self.checked = total
            self._finish("done")
        else:
            self.checked = target - target % BATCH
            self.status = "processing"
            self.updated_at = iso_now()

    def cancel(self) -> None:
        self._finish("cancelled")

    def _finish(self, status: str, error: str | None = None) -> None:
        self.status = status
        self.error = error
        self.updated_at = self.completed_at = iso_now()

    def _seen(self) -> tuple[list[str], list[str]]:
        seen = self.valid[: self.checked]
        return [n for n in seen if n in self.on], [n for n in seen if n not in self.on]

    def counts(self) -> dict[str, int]:
        on, off = self._seen()
        return {
            "onWhatsAppCount": len(on),
            "notOnWhatsAppCount": len(off),
            "invalidCount": len(self.invalid),
        }

    def result(self) -> dict[str, list[dict[str, str]]]:
        on, off = self._seen()
        return {
            "onWhatsApp": [{"number": n, "jid": n[1:] + "@s.whatsapp.net"} for n in on],
            "notOnWhatsApp": [{"number": n} for n in off],
            "invalid": [{"input": raw} for raw in self.invalid],
        }

    @property
    def progress(self) -> int:
        if self.status == "done" or not self.valid:
            return 100 if self.status == "done" else 0
        return self.checked * 100 // len(self.valid)

    def sync_reply(self) -> dict[str, Any]:
        return {
            "mode": "sync",
            "lookupId": self.id,
            "status": "done",
            "requested": self.requested,
            "normalized": len(self.valid),
            "checked": self.checked,
            **self.counts(),
            "result": self.result(),
        }

    def async_reply(self) -> dict[str, Any]:
        return {
            "mode": "async",
            "lookupId": self.id,
            "status": "pending",
            "requested": self.requested,
            "message": "Lookup in progress. Check status later.",
        }

    def progress_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "progress": self.progress,
            "requestedCount": self.requested,
            "normalizedCount": len(self.valid),
            "checkedCount": self.checked,
            **self.counts(),
            "error": self.error,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "completedAt": self.completed_at,
        }

    def to_wire(self) -> dict[str, Any]:
        return {**self.progress_wire(), "instanceId": self.instance_id, "result": self.result()}


class LookupService:
    """Every workspace's lookups, advanced to the clock whenever one is read."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.by_workspace: dict[int, dict[str, Lookup]] = {}

    def lookups(self, workspace: Workspace) -> dict[str, Lookup]:
        found = self.by_workspace.setdefault(id(workspace), {})
        now = self.state.clock()
        for lookup in found.values():
            lookup.advance(now)
        return found

    def start(self, workspace: Workspace, instance_id: str, numbers: list[str]) -> Lookup:
        instance = workspace.instance(instance_id)
        if not instance.connected:
            message = f"WhatsApp provider error: instance is {instance.status}"
            raise ApiFailure(502, "PROVIDER_ERROR", message)
        settings = self.state.settings
        queued = len(numbers) >= settings.async_threshold
        plan = self.state.next_job_plan(len(numbers)) if queued else None
        lookup = Lookup(instance_id, numbers, settings.not_on_whatsapp, plan)
        self.lookups(workspace)[lookup.id] = lookup
        return lookup

    def find(self, workspace: Workspace, lookup_id: str) -> Lookup:
        lookup = self.lookups(workspace).get(lookup_id)
        if lookup is None:
            raise not_found("Number lookup")
        return lookup


def import_contacts(
    workspace: Workspace, numbers: Sequence[str], tag: str | None
) -> dict[str, int]:
    """Create a contact per number (named after it), or tag the one that has it."""
    imported = updated = 0
    tags = [tag] if tag else []
    for number in numbers:
        contact_id = workspace.contacts.by_phone.get(number)
        contact = None if contact_id is None else workspace.contacts.by_id[contact_id]
        if contact is None:
            stamp = workspace.stamps.next()
            workspace.contacts.add(Contact(new_id(), number, number, list(tags), {}, stamp))
            imported += 1
        elif tag and tag not in contact.tags:
            contact.tags = [*contact.tags, tag]
            updated += 1
    return {"imported": imported, "updated": updated, "skipped": len(numbers) - imported - updated}


LOOKUPS_KEY = web.AppKey("number_lookups", LookupService)


def add_routes(app: web.Application, state: EmulatorState) -> None:
    service = LookupService(state)
    app[LOOKUPS_KEY] = service

    async def create(request: web.Request) -> web.Response:
        workspace = state.workspace(request)
        body = await read_json(request)
        check = Validator(body)
        instance_id = check.string("instanceId", required=True)
        numbers = body.get("numbers")
        if not isinstance(numbers, list) or not all(isinstance(n, str) for n in numbers):
            check.fail("numbers", "must be an array of phone number strings")
        elif not 1 <= len(numbers) <= MAX_NUMBERS:
            check.fail("numbers", f"must contain 1 to {MAX_NUMBERS} numbers")
        check.check()
        assert isinstance(numbers, list)
        assert instance_id is not None
        lookup = service.start(workspace, instance_id, numbers)
        if lookup.plan is None:
            return ok(lookup.sync_reply())
        return ok(lookup.async_reply(), status=202)

    async def list_lookups(request: web.Request) -> web.Response:
        lookups = list(service.lookups(state.workspace(request)).values())
        limit = query_int(request, "limit", default=20, low=1, high=100)
        end = len(lookups)
        cursor = request.query.get("cursor")
        if cursor is not None:
            ids = [lookup.id for lookup in lookups]
            if cursor not in ids:
                raise validation_error([{"field": "cursor", "message": "unknown lookup id"}])
            end = ids.index(cursor)
        start = max(0, end - limit)
        page = [lookup.progress_wire() for lookup in reversed(lookups[start:end])]
        next_cursor = page[-1]["id"] if start > 0 else None
        return ok({"lookups": page, "nextCursor": next_cursor, "hasMore": start > 0})

    async def get(request: web.Request) -> web.Response:
        lookup = service.find(state.workspace(request), request.match_info["lookup_id"])
        return ok(lookup.to_wire())

    async def progress(request: web.Request) -> web.Response:
        lookup = service.find(state.workspace(request), request.match_info["lookup_id"])
        return ok(lookup.progress_wire())

    async def cancel(request: web.Request) -> web.Response:
        lookup = service.find(state.workspace(request), request.match_info["lookup_id"])
        if lookup.plan is None or lookup.terminal:
            raise bad_request(f"Number lookup cannot be cancelled in status {lookup.status}")
        lookup.cancel()
        return ok(lookup.progress_wire())

    async def import_to_contacts(request: web.Request) -> web.Response:
        workspace = state.workspace(request)
        lookup = service.find(workspace, request.match_info["lookup_id"])
        body = await read_json(request) if request.body_exists else {}
        check = Validator(body)
        tag = check.string("tag", required=False, max_len=50)
        check.check()
        if lookup.status != "done":
            raise bad_request(f"Number lookup is {lookup.status}, not done")
        on = [n for n in lookup.valid if n in lookup.on]
        counts = import_contacts(workspace, on, tag)
        return ok({"lookupId": lookup.id, "tag": tag, **counts, "total": len(on)})

    router = app.router
    router.add_post(PREFIX, create)
    router.add_get(PREFIX, list_lookups)
    router.add_get(PREFIX + "/{lookup_id}", get)
    router.add_get(PREFIX + "/{lookup_id}/progress", progress)
    router.add_post(PREFIX + "/{lookup_id}/cancel", cancel)
    router.add_post(PREFIX + "/{lookup_id}/import-contacts", import_to_contacts)
