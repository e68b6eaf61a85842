"""Sans-I/O protocol: build request parts, decipher answers, decide retries.

Nothing here touches a socket, so every rule is unit-tested with plain bytes.
"""

from __future__ import annotations

import email.utils
import math
import platform
import re
import ssl
import time
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import quote

from . import _json
from ._delivery import Delivery, delivery_of
from ._exceptions import (
    APIError,
    DeadlineExceededError,
    DecodeError,
    MsgFlashError,
    RateLimitError,
    ResponseTooLargeError,
    TransportError,
    ValidationError,
    error_class_for,
)
from ._secret import MASK, Secret, SecretText
from ._version import __version__

__all__ = [
    "API_PREFIX",
    "MAX_BODY_BYTES",
    "MAX_ID_LENGTH",
    "RequestHeaders",
    "api_path",
    "build_headers",
    "check_body_size",
    "decipher",
    "error_from_response",
    "is_idempotent",
    "parse_retry_after",
    "should_retry",
    "user_agent",
]

API_PREFIX: Final = "/api/v1"
_IDEMPOTENT: Final = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
_RETRY_STATUSES: Final = frozenset({500, 502, 503, 504})
_SNIPPET = 200
# A JSON string field whose name says it holds a secret (value maybe cut short).
_SECRET_FIELD: Final = re.compile(
    r'("[\w-]*(?:secret|token|password|api[_-]?key)[\w-]*"\s*:\s*)"[^"]*"?', re.IGNORECASE
)
_SECRET_SHAPE: Final = re.compile(r"\b(?:msgf_(?:live|team)_|whsec_)[\w-]+")
# RFC 3986 unreserved characters: a segment of only these needs no quoting.
_UNRESERVED: Final = re.compile(r"[A-Za-z0-9._~-]+")


def user_agent(aiohttp_version: str) -> str:
    """``msgflash-async/0.1.0 Python/3.11.7 aiohttp/3.10.0``."""
    return (
        f"msgflash-async/{__version__} Python/{platform.python_version()} aiohttp/{aiohttp_version}"
    )


class RequestHeaders(dict[str, str]):
    """Request headers whose ``repr`` masks the credentials.

    The headers dict is a local variable of the frames that send a request,
    so tools that print a traceback's locals (``capture_locals``, error
    trackers) would show the raw key if this were a plain dict.
    """

    _MASKED: Final = frozenset({"x-api-key", "x-team-id"})

    def __repr__(self) -> str:
        shown = {k: str(Secret(v)) if k.lower() in self._MASKED else v for k, v in self.items()}
        return f"RequestHeaders({shown!r})"


def build_headers(api_key: Secret, team_id: Secret | None, agent: str) -> RequestHeaders:
    """Headers sent on every call: ``x-api-key`` (never Authorization), team id, JSON."""
    headers = RequestHeaders(
        {
            "x-api-key": SecretText(api_key.reveal()),
            "Accept": "application/json",
            "User-Agent": agent,
        }
    )
    if team_id is not None:
        headers["X-Team-Id"] = SecretText(team_id.reveal())
    return headers


MAX_ID_LENGTH: Final = 1024
"""Ids are opaque, but one longer than this is a mistake, not an id (servers cut
request lines at ~8 KB and would answer with a confusing error)."""

MAX_BODY_BYTES: Final = 4 * 1024 * 1024
"""A request body larger than this is refused before sending. The API states no
limit; the largest documented body (10,000 ids) is under 0.5 MB."""


def api_path(*segments: str) -> str:
    """``/api/v1/<segments>``, each caller-supplied segment quoted.

    Ids are opaque, so they are quoted rather than checked: ``/``, ``?``, ``#``
    and spaces cannot change the request path. Empty and dot segments would
    be normalised away by URL handling, so they are refused.
    """
    parts = [API_PREFIX]
    for segment in segments:
        if not isinstance(segment, str) or segment in {"", ".", ".."}:
            raise ValidationError(f"invalid id {_shown(segment)}", field="id")
        if len(segment) > MAX_ID_LENGTH:
            raise ValidationError(
                f"an id of {len(segment)} characters; ids are at most {MAX_ID_LENGTH}",
                field="id",
            )
        if _UNRESERVED.fullmatch(segment):
            parts.append(segment)  # what quote() would return, at a fraction of its cost
            continue
        try:
            parts.append(quote(segment, safe=""))
        except UnicodeEncodeError:  # a lone surrogate cannot go on the wire
            raise ValidationError(f"invalid id {_shown(segment)}", field="id") from None
    return "/".join(parts)


def check_body_size(body: bytes) -> bytes:
    """``body``, unless it is too large to be a sensible API request."""
    if len(body) > MAX_BODY_BYTES:
        raise ValidationError(
            f"the request body is {len(body):,} bytes; at most {MAX_BODY_BYTES:,} are sent "
            "(split the data over several calls)",
            field="json",
        )
    return body


def _shown(value: object) -> str:
    """A repr short enough for an error message."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def is_idempotent(method: str) -> bool:
    return method.upper() in _IDEMPOTENT


def decipher(
    status: int, headers: Mapping[str, str], body: bytes, *, method: str, path: str
) -> Any:
    """The ``data`` of a success envelope, or raise the mapped error."""
    if not 200 <= status < 300:
        raise error_from_response(status, headers, body, method=method, path=path)
    if not body:
        return None
    try:
        payload = _json.loads(body)
    except (ValueError, RecursionError):  # stdlib json recurses on deep nesting
        raise DecodeError(
            f"{method} {path}: success answer is not JSON: {_snippet(body)!r}",
            model="envelope",
        ) from None
    if not isinstance(payload, dict) or "data" not in payload:
        raise DecodeError(
            f"{method} {path}: success answer has no 'data' envelope",
            model="envelope",
            field="data",
        )
    return payload["data"]


def error_from_response(
    status: int, headers: Mapping[str, str], body: bytes, *, method: str, path: str
) -> APIError:
    """A typed error from an error answer, JSON envelope or not (an HTML 502 page)."""
    code, message, details = _error_fields(body)
    if message is None:
        message = f"HTTP {status}" + (f": {_snippet(body)}" if body else "")
    cls = error_class_for(status, code)
    return cls(
        message,
        status=status,
        code=code,
        details=details,
        method=method,
        path=path,
        headers=headers,
    )


def _error_fields(body: bytes) -> tuple[str | None, str | None, Any]:
    try:
        payload = _json.loads(body) if body else None
    except (ValueError, RecursionError):
        return None, None, None
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        return None, None, None
    code = error.get("code")
    message = error.get("message")
    return (
        code if isinstance(code, str) else None,
        _message_text(message),
        error.get("details"),
    )


def _message_text(message: Any) -> str | None:
    # A hostile server may send a deeply nested "message": str() of it recurses.
    if message is None:
        return None
    try:
        return str(message)[:1000]
    except RecursionError:
        return "<unreadable error message>"


def _snippet(body: bytes) -> str:
    """The start of a body for an error message, secret-looking values masked.

    A reply that fails to decode may still carry a secret (the one-time
    signing secret of a webhook-create reply): the message must not.
    """
    text = body[:_SNIPPET].decode("utf-8", "replace")
    text = _SECRET_FIELD.sub(lambda m: m.group(1) + f'"{MASK}"', text)
    text = _SECRET_SHAPE.sub(MASK, text)
    return " ".join(text.split())


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (seconds or HTTP date); None if absent or bad."""
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:  # "nan" and "inf" parse as floats but are no delay to sleep on
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
        seconds = when.timestamp() - (time.time() if now is None else now)
    except (TypeError, ValueError, OverflowError, IndexError):  # a date beyond datetime
        return None
    return max(seconds, 0.0)


def should_retry(error: MsgFlashError, *, idempotent: bool) -> bool:
    """Whether a failed attempt may be sent again without risking a duplicate.

    Two questions: is the failure transient (worth another attempt), and
    could the attempt have been processed (:func:`delivery_of`)? A request
    that never left or that the server refused (rate limit) is safe for every
    method; one that may have been processed is retried only when idempotent.
    """
    if isinstance(error, (DeadlineExceededError, ResponseTooLargeError)):
        return False  # the same call would get the same body
    if isinstance(error.__cause__, ssl.CertificateError):
        return False  # a certificate that does not verify will not a moment later
    if not _transient(error):
        return False
    return idempotent or delivery_of(error) is not Delivery.UNKNOWN


def _transient(error: MsgFlashError) -> bool:
    """A failure that may clear by itself a moment later."""
    if isinstance(error, (TransportError, RateLimitError)):
        return True
    return (
        isinstance(error, APIError)
        and error.status in _RETRY_STATUSES
        and (error.code is None or not error.code.endswith("_QUOTA_EXCEEDED"))
    )
