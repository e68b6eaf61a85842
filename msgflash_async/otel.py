"""OpenTelemetry traces and metrics for the SDK (the ``otel`` extra).

One span per SDK call, named after the operation (``msgflash contacts.get``),
whatever number of attempts it took; a span per batch with its outcome
counts; and metrics. A client picks this up by itself when the application
has configured a tracer provider before creating the client; otherwise call
:func:`instrument`. Per-attempt HTTP spans of
``opentelemetry-instrumentation-aiohttp-client`` nest under the SDK's span.

Span attributes: ``msgflash.operation``, ``http.request.method``,
``url.template`` (``/api/v1/contacts/{id}``: never a raw id, phone number or
query string), ``http.response.status_code``, ``error.type`` (exception
class), ``msgflash.error.code`` (the API's code), ``msgflash.attempts``,
``msgflash.retries``, ``msgflash.rate_limited`` (429s seen) and
``msgflash.limiter.wait`` (seconds spent waiting for a connection and the
rate limiter). No key, team id, header, body or error message (those can
hold a phone number) is ever recorded.

Metrics (meter ``msgflash_async``): ``msgflash.client.call.duration``
(histogram, s), ``msgflash.client.retries``, ``msgflash.client.rate_limited``
(429 answers), ``msgflash.client.limiter.wait`` (histogram, s) and
``msgflash.batch.outcomes`` (one count per input, by ``msgflash.outcome``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

try:
    from opentelemetry import metrics, trace
    from opentelemetry.trace import SpanKind, Status, StatusCode
except ImportError as error:  # pragma: no cover - exercised in a child process
    raise ImportError(
        "msgflash_async.otel needs OpenTelemetry: pip install 'msgflash-async[otel]'"
    ) from error

from ._exceptions import APIError
from ._observe import CallStats
from ._version import __version__

if TYPE_CHECKING:
    from ._batch_outcomes import BatchReport
    from ._client import MsgFlashClient

__all__ = ["OTelObserver", "configured_observer", "instrument"]

SCOPE = "msgflash_async"


class OTelObserver:
    """Turns the session's call records into spans and metrics."""

    def __init__(self, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        self._tracer = trace.get_tracer(SCOPE, __version__, tracer_provider=tracer_provider)
        meter = metrics.get_meter(SCOPE, __version__, meter_provider=meter_provider)
        self._duration = meter.create_histogram(
            "msgflash.client.call.duration", unit="s", description="SDK calls, retries included"
        )
        self._retries = meter.create_counter(
            "msgflash.client.retries", unit="{retry}", description="attempts after the first"
        )
        self._rate_limited = meter.create_counter(
            "msgflash.client.rate_limited", unit="{response}", description="429 answers"
        )
        self._limiter_wait = meter.create_histogram(
            "msgflash.client.limiter.wait",
            unit="s",
            description="time a call waited for a connection and the rate limiter",
        )
        self._outcomes = meter.create_counter(
            "msgflash.batch.outcomes", unit="{input}", description="batch inputs by outcome"
        )

    @contextmanager
    def call(self, stats: CallStats) -> Iterator[CallStats]:
        started = time.perf_counter()
        span = self._tracer.start_span(f"msgflash {stats.operation}", kind=SpanKind.CLIENT)
        error: BaseException | None = None
        try:
            with trace.use_span(span, end_on_exit=False, record_exception=False,
                                set_status_on_exception=False):  # fmt: skip
                yield stats
        except BaseException as exc:
            error = exc
            raise
        finally:
            self._finish(span, stats, error, time.perf_counter() - started)

    def _finish(
        self, span: Any, stats: CallStats, error: BaseException | None, elapsed: float
    ) -> None:
        labels: dict[str, Any] = {
            "msgflash.operation": stats.operation,
            "http.request.method": stats.method,
            "url.template": stats.route,
        }
        if stats.status is not None:
            labels["http.response.status_code"] = stats.status
        if error is not None:
            labels["error.type"] = type(error).__name__
        span.set_attributes(labels)
        span.set_attributes(
            {
                "msgflash.attempts": stats.attempts,
                "msgflash.retries": max(stats.attempts - 1, 0),
                "msgflash.rate_limited": stats.rate_limited,
                "msgflash.limiter.wait": stats.limiter_wait,
            }
        )
        if isinstance(error, APIError) and error.code:
            span.set_attribute("msgflash.error.code", error.code)
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
        span.end()
        self._duration.record(elapsed, labels)
        self._limiter_wait.record(stats.limiter_wait, labels)
        if stats.attempts > 1:
            self._retries.add(stats.attempts - 1, labels)
        if stats.rate_limited:
            self._rate_limited.add(stats.rate_limited, labels)

    def batch_finished(self, operation: str, report: BatchReport) -> None:
        """A span covering the batch (its start put back by ``elapsed``) with its counts."""
        end = time.time_ns()
        start = end - int(report.elapsed * 1e9)
        span = self._tracer.start_span(f"msgflash {operation}", start_time=start)
        for status, count in report.counts.items():
            span.set_attribute(f"msgflash.batch.{status.value}", count)
            if count:
                self._outcomes.add(
                    count, {"msgflash.operation": operation, "msgflash.outcome": status.value}
                )
        span.set_attribute("msgflash.batch.unknown_inputs", len(report.unknown))
        if report.stop_reason is not None:
            span.set_attribute("msgflash.batch.stop_reason", report.stop_reason)
            span.set_status(Status(StatusCode.ERROR, report.stop_reason))
        span.end(end_time=end)


def configured_observer() -> OTelObserver | None:
    """An observer on the global providers, or None while no tracer provider is set."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, (trace.ProxyTracerProvider, trace.NoOpTracerProvider)):
        return None
    return OTelObserver()


def instrument(
    client: MsgFlashClient, *, tracer_provider: Any = None, meter_provider: Any = None
) -> MsgFlashClient:
    """Report ``client``'s calls to OpenTelemetry (the global providers by default)."""
    client._session.observer = OTelObserver(tracer_provider, meter_provider)
    return client
