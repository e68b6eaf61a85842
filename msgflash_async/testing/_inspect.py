"""Inspection routes under ``/_emulator``: audit an emulator from another process.

A test that runs the emulator standalone (``msgflash emulator``) and the code
under test in another process cannot read ``emu.sent_messages``; these routes
serve the same records as JSON. They live outside ``/api/v1`` so they never
shadow or count as API traffic: no auth, no rate limit, no quota, not recorded.
They carry no key: what was sent, to whom, and how the API was called.

- ``GET /_emulator/audit``: totals, requests per route template (``"GET
  /api/v1/contacts/{id}": 3``), duplicate recipients, 429s, emulator errors;
- ``GET /_emulator/sent``: every accepted send or schedule, in arrival order;
- ``GET /_emulator/requests``: every API request (method, path, route, query,
  JSON body, status, injected fault);
- ``DELETE /_emulator/requests``: forget the request record (between tests).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from aiohttp import web

from msgflash_async._json import dumps

from ._emulator_state import EmulatorState, RequestRecord
from ._http import JSON_CONTENT_TYPE
from ._message_controls import sent_message

__all__ = ["INSPECT_PREFIX", "add_routes", "audit", "requests_per_route"]

INSPECT_PREFIX = "/_emulator"
NO_ROUTE = "(no route)"


def requests_per_route(state: EmulatorState) -> dict[str, int]:
    """``{"METHOD /route/{template}": count}`` over the recorded API requests."""
    counts = Counter(f"{r.method} {r.route or NO_ROUTE}" for r in state.requests)
    return dict(sorted(counts.items()))


def audit(state: EmulatorState) -> dict[str, Any]:
    """What ``GET /_emulator/audit`` answers (wire names, camelCase)."""
    recipients = Counter(message.to for message in state.outbound)
    return {
        "requests": len(state.requests),
        "requestsPerRoute": requests_per_route(state),
        "sentCount": len(state.outbound),
        "duplicateRecipients": {to: n for to, n in recipients.items() if n > 1},
        "rateLimited": state.rate_limited,
        "maxRequestsInAnyWindow": state.max_requests_in_any_window(1.0),
        "serverErrors": len(state.server_errors),
    }


def _record(record: RequestRecord) -> dict[str, Any]:
    try:
        body = record.json
    except ValueError:
        body = None  # not JSON: the route answered 400 and that is what counts
    return {
        "method": record.method,
        "path": record.path,
        "route": record.route,
        "query": record.query,
        "json": body,
        "status": record.status,
        "fault": record.fault,
    }


def _json(payload: Any) -> web.Response:
    return web.Response(body=dumps(payload), content_type=JSON_CONTENT_TYPE)


def add_routes(app: web.Application, state: EmulatorState) -> None:
    async def get_audit(request: web.Request) -> web.Response:
        return _json({"data": audit(state)})

    async def get_sent(request: web.Request) -> web.Response:
        return _json({"data": [sent_message(m) for m in state.outbound]})

    async def get_requests(request: web.Request) -> web.Response:
        return _json({"data": [_record(r) for r in state.requests]})

    async def clear_requests(request: web.Request) -> web.Response:
        state.requests.clear()
        return web.Response(status=204)

    router = app.router
    router.add_get(INSPECT_PREFIX + "/audit", get_audit)
    router.add_get(INSPECT_PREFIX + "/sent", get_sent)
    router.add_get(INSPECT_PREFIX + "/requests", get_requests)
    router.add_delete(INSPECT_PREFIX + "/requests", clear_requests)
