"""The emulator's middleware chain, outermost first.

1. front door: record the request, add latency, apply an injected fault;
2. error envelope: every failure below becomes ``{"error": {...}}``;
3. auth: ``x-api-key`` and the ``X-Team-Id`` rules;
4. limits: per-key sliding-window rate limit, then the monthly quota.

The envelope sits outside auth and limits so their 401/403/429 get the
same JSON body as handler errors; faults sit outside everything so a fault
can hit a request the real server would also have rejected.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING

from aiohttp import web

from msgflash_async._json import dumps

from ._emulator_state import EmulatorState, RequestRecord
from ._faults import Fault
from ._http import JSON_CONTENT_TYPE, ApiFailure, new_id
from ._inspect import INSPECT_PREFIX

if TYPE_CHECKING:
    from aiohttp.typedefs import Handler, Middleware

__all__ = ["build_middlewares", "default_code"]

# Codes for injected or framework errors that carry only a status.
_DEFAULT_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    429: "API_RATE_LIMIT_EXCEEDED",
    500: "INTERNAL_ERROR",
    502: "PROVIDER_UNAVAILABLE",
    503: "SERVICE_UNAVAILABLE",
}


def default_code(status: int) -> str:
    return _DEFAULT_CODES.get(status, "INTERNAL_ERROR" if status >= 500 else "BAD_REQUEST")


def build_middlewares(state: EmulatorState) -> list[Middleware]:
    return [_front_door(state), _error_envelope(state), _auth(state), _limits(state)]


def _front_door(state: EmulatorState) -> Middleware:
    @web.middleware
    async def front_door(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(INSPECT_PREFIX):
            return await handler(request)  # the inspection routes are not API traffic
        record = await _record(state, request)
        if state.faults.latency > 0:
            await state.sleep(state.faults.latency)
        fault = state.faults.take(request.method, request.path)
        if fault is None:
            response = await handler(request)
        else:
            if record is not None:
                record.fault = fault.kind
            response = await _apply_fault(state, fault, request, handler)
        if record is not None and not _disconnected(request):
            record.status = response.status
        return response

    return front_door


async def _record(state: EmulatorState, request: web.Request) -> RequestRecord | None:
    if not state.settings.record_requests:
        return None
    body = b""
    if request.body_exists:
        # Too large: the handler's own read raises it again, inside the envelope.
        with contextlib.suppress(web.HTTPException):
            body = await request.read()
    now = time.monotonic()
    record = RequestRecord(request.method, request.path, request.query_string, body, now)
    resource = request.match_info.route.resource
    record.route = resource.canonical if resource is not None else None
    state.requests.append(record)
    return record


async def _apply_fault(
    state: EmulatorState, fault: Fault, request: web.Request, handler: Handler
) -> web.StreamResponse:
    if fault.kind == "error":
        if fault.after_handler:
            await handler(request)  # the request takes effect; its answer is replaced
        return _error_response(fault)
    if fault.kind == "body":
        return web.Response(
            body=dumps(fault.payload), status=fault.status, content_type=JSON_CONTENT_TYPE
        )
    if fault.kind == "empty_page":
        page = {str(fault.payload): [], "nextCursor": new_id(), "hasMore": True}
        return web.Response(body=dumps({"data": page}), content_type=JSON_CONTENT_TYPE)
    if fault.kind == "stream":
        return await _stream(state, fault, request)
    if fault.kind == "delay":
        await state.sleep(fault.seconds)
        return await handler(request)
    if fault.kind == "drop" and not fault.after_handler:
        _close(request)
        return web.Response(status=500)  # never reaches the client: the socket is closed
    response = await handler(request)
    if fault.kind == "drop":
        _close(request)
        return response
    return await _truncated(request, response)


def _error_response(fault: Fault) -> web.Response:
    if fault.raw is None:
        code = fault.code or default_code(fault.status)
        message = fault.message or f"Injected {fault.status} error"
        return ApiFailure(fault.status, code, message, headers=fault.headers).to_response()
    headers = dict(fault.headers)
    headers.setdefault("Content-Type", "text/html")
    return web.Response(body=fault.raw, status=fault.status, headers=headers)


async def _truncated(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """Promise the whole body in Content-Length, send half of it, then hang up."""
    body = response.body if isinstance(response, web.Response) else None
    payload = body if isinstance(body, bytes) and body else b'{"data": {}}'
    stream = web.StreamResponse(status=response.status)
    stream.content_type = response.content_type
    stream.content_length = len(payload) + 64
    await stream.prepare(request)
    await stream.write(payload[: len(payload) // 2])
    _close(request)
    return stream


async def _stream(state: EmulatorState, fault: Fault, request: web.Request) -> web.StreamResponse:
    """A chunked body of filler, ``fault.size`` bytes or endless, ``fault.chunk`` at a time."""
    stream = web.StreamResponse(status=fault.status)
    stream.content_type = JSON_CONTENT_TYPE
    stream.enable_chunked_encoding()
    await stream.prepare(request)
    block = b" " * fault.chunk
    left = fault.size
    with contextlib.suppress(ConnectionError):  # the client hung up mid-body
        while left is None or left > 0:
            if _disconnected(request) or state.closing.is_set():
                return stream  # the endless body ends with the client or the emulator
            piece = block if left is None else block[:left]
            await stream.write(piece)
            if left is not None:
                left -= len(piece)
            if fault.seconds:
                await state.sleep(fault.seconds)
            else:
                await asyncio.sleep(0)  # lets a hang-up be seen between writes
        await stream.write_eof()
    return stream


def _close(request: web.Request) -> None:
    # close() rather than abort(): the client must see an orderly EOF in the middle
    # of the exchange (no reply, or a short body), which is what proxies produce.
    if request.transport is not None:
        request.transport.close()


def _disconnected(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


def _error_envelope(state: EmulatorState) -> Middleware:
    @web.middleware
    async def error_envelope(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except ApiFailure as failure:
            return failure.to_response()
        except web.HTTPException as exc:
            # Router misses (404/405) and body-size limits, in the API's own envelope.
            code = default_code(exc.status)
            message = "Route not found" if exc.status == 404 else exc.reason
            return ApiFailure(exc.status, code, message).to_response()
        except Exception as exc:
            # A bug in the emulator: keep it for tests to inspect, answer like the API would.
            state.server_errors.append(exc)
            return ApiFailure(500, "INTERNAL_ERROR", "Internal server error").to_response()

    return error_envelope


def _auth(state: EmulatorState) -> Middleware:
    @web.middleware
    async def auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        # Authorization: Bearer is deliberately ignored: the public API only reads x-api-key.
        if request.path.startswith(INSPECT_PREFIX):
            return await handler(request)
        headers = request.headers
        state.workspace_for_key(headers.get("x-api-key"), headers.get("X-Team-Id"))
        return await handler(request)

    return auth


def _limits(state: EmulatorState) -> Middleware:
    @web.middleware
    async def limits(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(INSPECT_PREFIX):
            return await handler(request)
        state.admit(request.headers["x-api-key"])
        return await handler(request)

    return limits
