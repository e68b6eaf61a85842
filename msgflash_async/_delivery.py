"""Could a failed request have been processed? Decided here, and only here.

Every place that must not send a message twice asks the same question of an
error: the session's retry loop, the bulk-job handle deciding whether a chunk
may be sent again, and the batch sender deciding an input's outcome. They all
call :func:`delivery_of`, which sorts an error into one of three answers::

    NOT_SENT   the request provably never reached the server (a connect
               failure, a closed client, an argument refused before sending):
               sending it again cannot duplicate anything
    REFUSED    the server answered with a 4xx error: it looked at the request
               and did not act on it, so it was not processed
    UNKNOWN    it may have been processed: a lost or late answer, a 5xx (the
               API or a proxy may fail after taking the message), an answer
               that could not be read, a cancellation, any foreign error

Whether to *retry* is a separate question (is the failure transient?), which
the callers answer on top of this one. Only the error tree is imported here.
"""

from __future__ import annotations

import enum

from ._exceptions import (
    APIError,
    ClientClosedError,
    ServerError,
    TransportError,
    ValidationError,
)

__all__ = ["Delivery", "delivery_of"]


class Delivery(str, enum.Enum):
    """What a failed request did to the server's state (see the module docstring)."""

    NOT_SENT = "not_sent"
    REFUSED = "refused"
    UNKNOWN = "unknown"


def delivery_of(error: BaseException) -> Delivery:
    """Whether the request that raised ``error`` may have been processed."""
    if isinstance(error, TransportError):
        # A deadline or timeout says request_sent=False only while the request
        # was still queued (connection pool, rate limiter): nothing left then.
        return Delivery.UNKNOWN if error.request_sent else Delivery.NOT_SENT
    if isinstance(error, (ClientClosedError, ValidationError)):
        return Delivery.NOT_SENT
    if isinstance(error, ServerError):
        return Delivery.UNKNOWN
    if isinstance(error, APIError):
        # A 5xx without a ServerError class cannot occur (error_class_for maps
        # every status >= 500 there), but an odd status is no proof of refusal.
        return Delivery.REFUSED if 400 <= error.status < 500 else Delivery.UNKNOWN
    # A DecodeError (a 2xx we could not read), a cancellation, a foreign error:
    # the request may well have been taken.
    return Delivery.UNKNOWN
