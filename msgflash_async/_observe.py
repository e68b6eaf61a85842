"""The session's observer hook: what telemetry (``msgflash_async.otel``) plugs into.

A :class:`CallObserver` sees each logical SDK call, retries included, as one
``with observer.call(method, path) as stats:`` block: the block runs inside
whatever context the observer sets up (a current span, so per-attempt HTTP
spans of other instrumentation nest under it), and the session fills
``stats`` (attempts, HTTP status, 429s, time waiting for a connection and the
rate limiter) as the call proceeds. With no observer the session does none
of this: one ``is None`` test per call.

:func:`route_of` turns a request path into its route template and an
operation name (``/api/v1/contacts/abc`` -> ``/api/v1/contacts/{id}``,
``contacts.get``) so telemetry never carries raw ids or phone numbers.
"""

from __future__ import annotations

import functools
import sys
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

import attrs

if TYPE_CHECKING:
    from ._batch_outcomes import BatchReport

__all__ = ["CallObserver", "CallStats", "default_observer", "route_of"]

# Every literal path segment of the API; any other segment is an id.
LITERALS = frozenset(
    [
        "api",
        "v1",
        "contacts",
        "bulk-delete",
        "bulk-jobs",
        "cancel",
        "progress",
        "groups",
        "members",
        "instances",
        "health",
        "state",
        "me",
        "messages",
        "schedule",
        "send",
        "number-lookups",
        "import-contacts",
        "statuses",
        "templates",
        "preview",
        "usage",
        "webhooks",
        "billing",
        "payments",
        "plans",
        "subscription",
        "campaigns",
        "pause",
        "resume",
        "start",
        "stop",
        "recipients",
        "stats",
        "account",
        "lookups",
    ]
)
_COLLECTION_VERBS = {"GET": "list", "POST": "create", "DELETE": "delete", "PUT": "replace"}
_ITEM_VERBS = {"GET": "get", "PUT": "update", "PATCH": "update", "DELETE": "delete", "POST": "post"}


@attrs.define
class CallStats:
    """What the session learnt of one call; read by the observer when the call ends."""

    method: str
    route: str
    operation: str
    attempts: int = 0
    status: int | None = None
    rate_limited: int = 0
    limiter_wait: float = 0.0


class CallObserver(Protocol):
    """Wraps each SDK call; ``batch_finished`` gets each batch sender's report."""

    def call(self, stats: CallStats) -> AbstractContextManager[CallStats]: ...

    def batch_finished(self, operation: str, report: BatchReport) -> None: ...


@functools.lru_cache(maxsize=512)
def route_of(method: str, path: str) -> tuple[str, str]:
    """``(route template, operation)`` for a request path (query string excluded)."""
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    template = ["{id}" if p not in LITERALS else p for p in parts]
    names = [p.replace("-", "_") for p in template if p not in ("api", "v1", "{id}")]
    if not names:
        return "/" + "/".join(template), "call"
    if template[-1] == "{id}":
        names.append(_ITEM_VERBS.get(method, method.lower()))
    elif len(names) == 1 or (method == "GET" and names[-1] in ("groups", "members")):
        names.append(_COLLECTION_VERBS.get(method, method.lower()))
    return "/" + "/".join(template), ".".join(names)


def default_observer() -> CallObserver | None:
    """OpenTelemetry's observer if the application already set up a tracer provider.

    Nothing is imported unless the application imported ``opentelemetry``
    itself, and a no-op (unconfigured) provider gets no observer: then
    telemetry costs the session nothing.
    """
    if "opentelemetry.trace" not in sys.modules:
        return None
    try:
        from .otel import configured_observer
    except ImportError:
        return None
    return configured_observer()
