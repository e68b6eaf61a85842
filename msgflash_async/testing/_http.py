"""Wire helpers shared by every emulator route module.

Route modules raise :class:`ApiFailure` for any documented error and return
:func:`ok` for success; the error-envelope middleware turns failures into the
``{"error": {...}}`` body. Keeping envelope, validation and cursor rules here
means a new resource module (messages, templates, ...) only writes handlers.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, TypeVar

from aiohttp import web

from msgflash_async._json import dumps, loads

__all__ = [
    "ApiFailure",
    "FieldError",
    "Stamper",
    "Validator",
    "bad_request",
    "decode_cursor",
    "encode_cursor",
    "error_body",
    "is_e164",
    "iso_from_ms",
    "iso_now",
    "iso_timestamp",
    "new_id",
    "not_found",
    "ok",
    "paginate_desc",
    "query_int",
    "query_search",
    "read_json",
    "validation_error",
]

JSON_CONTENT_TYPE = "application/json"
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")

FieldError = dict[str, str]
T = TypeVar("T")


class ApiFailure(Exception):
    """A documented MsgFlash error; rendered as ``{"error": {...}}`` with ``status``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = dict(headers or {})

    def to_response(self) -> web.Response:
        body = error_body(self.code, self.message, self.details)
        return _json_response(body, self.status, self.headers)


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The error envelope; ``details`` is omitted when None, as in most doc examples."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


def ok(data: Any, status: int = 200) -> web.Response:
    """A success reply: always ``{"data": ...}``."""
    return _json_response({"data": data}, status)


def _json_response(
    body: Any, status: int, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=dumps(body), status=status, headers=headers, content_type=JSON_CONTENT_TYPE
    )


def validation_error(details: Sequence[FieldError], message: str | None = None) -> ApiFailure:
    text = message or "; ".join(f"{d['field']}: {d['message']}" for d in details)
    return ApiFailure(400, "VALIDATION_ERROR", text or "Invalid request data", list(details))


def not_found(what: str) -> ApiFailure:
    return ApiFailure(404, "NOT_FOUND", f"{what} not found")


def bad_request(message: str) -> ApiFailure:
    return ApiFailure(400, "BAD_REQUEST", message)


async def read_json(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object, or 400 VALIDATION_ERROR.

    DELETE may carry a body too (remove-members), so this is method-agnostic.
    """
    raw = await request.read()
    if not raw:
        raise validation_error([{"field": "body", "message": "JSON body required"}])
    try:
        body = loads(raw)
    except ValueError as exc:
        raise validation_error(
            [{"field": "body", "message": "invalid JSON"}], "Invalid JSON body"
        ) from exc
    if not isinstance(body, dict):
        raise validation_error([{"field": "body", "message": "must be a JSON object"}])
    return body


def query_int(request: web.Request, name: str, *, default: int, low: int, high: int) -> int:
    """An integer query parameter within ``[low, high]``; out of range is a 400, not a clamp."""
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        message = f"must be an integer between {low} and {high}"
        raise validation_error([{"field": name, "message": message}])
    return value


def query_search(request: web.Request, name: str = "search") -> str | None:
    """The ``search`` filter (1-100 chars), casefolded for case-insensitive matching."""
    raw = request.query.get(name)
    if raw is None:
        return None
    if not 1 <= len(raw) <= 100:
        raise validation_error([{"field": name, "message": "must be 1 to 100 characters"}])
    return raw.casefold()


def encode_cursor(*parts: str) -> str:
    """An opaque keyset cursor: base64url of ``part|part``, like the real API's example."""
    return base64.urlsafe_b64encode("|".join(parts).encode()).decode().rstrip("=")


def decode_cursor(token: str, parts: int) -> tuple[str, ...]:
    """Inverse of :func:`encode_cursor`; the last part (an id) never holds ``|``."""
    try:
        padded = token + "=" * (-len(token) % 4)
        text = base64.urlsafe_b64decode(padded.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    pieces = tuple(text.rsplit("|", parts - 1))
    if len(pieces) != parts:
        raise validation_error([{"field": "cursor", "message": "invalid cursor"}])
    return pieces


def paginate_desc(
    rows: Sequence[T], key: Callable[[T], tuple[str, str]], cursor: str | None, limit: int
) -> tuple[list[T], str | None, bool]:
    """Newest-first keyset page over a small collection: ``(page, nextCursor, hasMore)``.

    ``key`` is ``(createdAt, id)``-like; the cursor is the last row's key, so
    rows inserted or deleted between pages neither repeat nor shift the scan.
    Sorts per call: fine for groups or jobs, use a sorted index for big sets.
    """
    ordered = sorted(rows, key=key, reverse=True)
    if cursor:
        after = decode_cursor(cursor, 2)
        ordered = [row for row in ordered if key(row) < after]
    page = ordered[:limit]
    has_more = len(ordered) > limit
    next_cursor = encode_cursor(*key(page[-1])) if has_more else None
    return page, next_cursor, has_more


def is_e164(phone: object) -> bool:
    return isinstance(phone, str) and _E164.fullmatch(phone) is not None


def new_id() -> str:
    return str(uuid.uuid4())


def iso_timestamp(epoch: float) -> str:
    """``2026-04-01T10:00:00.000Z``: UTC, milliseconds, ``Z`` suffix."""
    return iso_from_ms(round(epoch * 1000))


def iso_from_ms(epoch_ms: int) -> str:
    # Integer milliseconds: float seconds would round some stamps down by 1 ms.
    seconds, millis = divmod(epoch_ms, 1000)
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis:03d}Z"


def iso_now() -> str:
    return iso_timestamp(time.time())


class Stamper:
    """Creation stamps that strictly increase, one millisecond apart at least.

    Distinct stamps make newest-first keyset order match creation order even
    when many rows arrive within one millisecond (benchmarks, seeding). Under
    a burst the stamps run slightly ahead of the wall clock, which is harmless.
    """

    def __init__(self) -> None:
        self._last_ms = 0

    def next(self) -> str:
        self._last_ms = max(time.time_ns() // 1_000_000, self._last_ms + 1)
        return iso_from_ms(self._last_ms)

    def reserve(self, n: int) -> int:
        """Reserve ``n`` consecutive milliseconds ending near now; return the last one."""
        first = max(time.time_ns() // 1_000_000 - n + 1, self._last_ms + 1)
        self._last_ms = first + n - 1
        return self._last_ms


class Validator:
    """Collects field errors so one 400 reports every bad field at once."""

    def __init__(self, body: Mapping[str, Any]) -> None:
        self.body = body
        self.errors: list[FieldError] = []

    def fail(self, field: str, message: str) -> None:
        self.errors.append({"field": field, "message": message})

    def string(self, field: str, *, required: bool, max_len: int = 255) -> str | None:
        value = self.body.get(field)
        if value is None:
            if required:
                self.fail(field, "is required")
            return None
        if not isinstance(value, str) or not value.strip() or len(value) > max_len:
            self.fail(field, f"must be a non-empty string of at most {max_len} characters")
            return None
        return value

    def phone(self, field: str, *, required: bool) -> str | None:
        value = self.body.get(field)
        if value is None:
            if required:
                self.fail(field, "is required")
            return None
        if not is_e164(value):
            self.fail(field, "must be an E.164 phone number such as +33612345678")
            return None
        return str(value)

    def timestamp(self, field: str) -> float | None:
        """A required ISO 8601 date-time as epoch seconds; no offset reads as UTC."""
        raw = self.body.get(field)
        if raw is None:
            self.fail(field, "is required")
            return None
        try:
            moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
        except ValueError:
            self.fail(field, "must be an ISO 8601 date-time")
            return None
        if moment.tzinfo is None:  # read as UTC rather than the server's local time
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.timestamp()

    def string_list(self, field: str) -> list[str] | None:
        value = self.body.get(field)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(field, "must be an array of strings")
            return None
        return list(value)

    def mapping(self, field: str) -> dict[str, Any] | None:
        value = self.body.get(field)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.fail(field, "must be an object")
            return None
        return value

    def id_list(self, field: str, *, low: int = 1, high: int = 10_000) -> list[str]:
        value = self.body.get(field)
        ok_type = isinstance(value, list) and all(isinstance(v, str) and v for v in value)
        if not ok_type:
            self.fail(field, "must be an array of id strings")
            return []
        assert isinstance(value, list)
        if not low <= len(value) <= high:
            self.fail(field, f"must contain {low} to {high} ids")
        return list(value)

    def check(self) -> None:
        """Raise the collected errors as one 400 VALIDATION_ERROR."""
        if self.errors:
            raise validation_error(self.errors)
