"""OpenTelemetry: spans and metrics per SDK call and per batch, read from in-memory exporters.

Providers are handed to ``instrument()`` rather than set globally, so these
tests leave the process's OpenTelemetry state as they found it.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from msgflash_async import MsgFlashClient, NotFoundError, OutgoingMessage
from msgflash_async._observe import route_of
from msgflash_async.testing import Emulator, Fault

sdk_trace = pytest.importorskip("opentelemetry.sdk.trace")
from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)
from opentelemetry.trace import StatusCode  # noqa: E402

from msgflash_async.otel import instrument  # noqa: E402

pytestmark = pytest.mark.anyio


class Telemetry:
    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = sdk_trace.TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def client(self, emu: Emulator, **options: Any) -> MsgFlashClient:
        options.setdefault("rate_limit", None)
        client = MsgFlashClient(emu.api_key, base_url=emu.base_url, **options)
        return instrument(
            client, tracer_provider=self.tracer_provider, meter_provider=self.meter_provider
        )

    def spans(self) -> list[Any]:
        return list(self.exporter.get_finished_spans())

    def metrics(self) -> dict[str, list[Any]]:
        data = self.reader.get_metrics_data()
        found: dict[str, list[Any]] = {}
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    found.setdefault(metric.name, []).extend(metric.data.data_points)
        return found


@pytest.fixture
def otel() -> Iterator[Telemetry]:
    telemetry = Telemetry()
    yield telemetry
    telemetry.tracer_provider.shutdown()
    telemetry.meter_provider.shutdown()


def all_values(span: Any) -> str:
    return " ".join(str(v) for v in span.attributes.values()) + " " + span.name


async def test_one_span_per_call_with_the_route_template(emu: Emulator, otel: Telemetry) -> None:
    contact_id = emu.seed_contacts(1)[0]
    phone = emu.workspace().contacts.by_id[contact_id].phone
    emu.faults.add(Fault.error(502), method="GET", times=1)
    async with otel.client(emu) as client:
        await client.contacts.get(contact_id)
    (span,) = otel.spans()
    assert span.name == "msgflash contacts.get"
    attrs = span.attributes
    assert attrs["url.template"] == "/api/v1/contacts/{id}"
    assert attrs["http.request.method"] == "GET"
    assert attrs["http.response.status_code"] == 200
    assert attrs["msgflash.attempts"] == 2 and attrs["msgflash.retries"] == 1
    assert span.status.status_code is StatusCode.UNSET
    text = all_values(span)
    assert contact_id not in text and phone not in text and emu.api_key not in text


async def test_errors_and_429s_are_on_the_span_and_in_metrics(
    emu: Emulator, otel: Telemetry
) -> None:
    emu.faults.add(Fault.rate_limited(), method="GET", times=1)
    async with otel.client(emu) as client:
        with pytest.raises(NotFoundError):
            await client.contacts.get("no-such-contact")
    (span,) = otel.spans()
    attrs = span.attributes
    assert attrs["error.type"] == "NotFoundError" and attrs["msgflash.error.code"] == "NOT_FOUND"
    assert attrs["http.response.status_code"] == 404 and attrs["msgflash.rate_limited"] == 1
    assert span.status.status_code is StatusCode.ERROR
    assert "no-such-contact" not in all_values(span)
    metrics = otel.metrics()
    assert sum(p.value for p in metrics["msgflash.client.rate_limited"]) == 1
    assert sum(p.value for p in metrics["msgflash.client.retries"]) == 1
    (duration,) = metrics["msgflash.client.call.duration"]
    assert duration.count == 1 and duration.attributes["error.type"] == "NotFoundError"


async def test_time_waiting_for_the_rate_limiter_is_recorded(
    emu: Emulator, otel: Telemetry
) -> None:
    async with otel.client(emu, rate_limit=2) as client:
        for _ in range(3):
            await client.instances.get(emu.instance_id)
    waits = [s.attributes["msgflash.limiter.wait"] for s in otel.spans()]
    assert len(waits) == 3 and waits[-1] > 0  # the third call waited for a slot
    (histogram,) = otel.metrics()["msgflash.client.limiter.wait"]
    assert histogram.count == 3 and histogram.sum >= waits[-1]


async def test_a_batch_gets_a_span_with_outcome_counts(emu: Emulator, otel: Telemetry) -> None:
    emu.settings.invalid_numbers.add("+33600000002")
    messages = [
        OutgoingMessage.text_message(instance_id=emu.instance_id, to=f"+3360000000{n}", text="hi")
        for n in range(3)
    ]
    async with otel.client(emu) as client:
        report = await client.messages.send_many(messages)
    assert report.accepted == 2
    batch = [s for s in otel.spans() if s.name == "msgflash messages.send_many"]
    sends = [s for s in otel.spans() if s.name == "msgflash messages.send"]
    assert len(batch) == 1 and len(sends) == 3
    assert batch[0].attributes["msgflash.batch.accepted"] == 2
    assert batch[0].attributes["msgflash.batch.rejected"] == 1
    outcomes = {
        p.attributes["msgflash.outcome"]: p.value for p in otel.metrics()["msgflash.batch.outcomes"]
    }
    assert outcomes == {"accepted": 2, "rejected": 1}


async def test_aiohttp_instrumentation_spans_nest_under_the_sdk_span(
    emu: Emulator, otel: Telemetry
) -> None:
    instrumentation = pytest.importorskip("opentelemetry.instrumentation.aiohttp_client")
    instrumentor = instrumentation.AioHttpClientInstrumentor()
    instrumentor.instrument(tracer_provider=otel.tracer_provider)
    try:
        emu.faults.add(Fault.error(503), method="GET", times=1)
        async with otel.client(emu) as client:
            await client.instances.get(emu.instance_id)
    finally:
        instrumentor.uninstrument()
    ours = [s for s in otel.spans() if s.name.startswith("msgflash ")]
    http = [s for s in otel.spans() if not s.name.startswith("msgflash ")]
    assert len(ours) == 1 and len(http) == 2  # one per attempt
    assert all(s.parent is not None and s.parent.span_id == ours[0].context.span_id for s in http)
    for span in http:  # the instrumentation records the URL: it carries no key
        assert emu.api_key not in all_values(span)


async def test_no_observer_without_a_configured_provider(emu: Emulator) -> None:
    async with MsgFlashClient(emu.api_key, base_url=emu.base_url, rate_limit=None) as client:
        assert client._session.observer is None  # the global provider is not set here


def test_no_opentelemetry_import_unless_the_application_imports_it() -> None:
    code = (
        "import sys, msgflash_async; msgflash_async.MsgFlashClient('msgf_live_' + '0' * 64); "
        "sys.exit('opentelemetry' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_route_templates_hide_ids_and_name_the_operation() -> None:
    cases = {
        ("GET", "/api/v1/contacts"): ("/api/v1/contacts", "contacts.list"),
        ("POST", "/api/v1/contacts"): ("/api/v1/contacts", "contacts.create"),
        ("GET", "/api/v1/contacts/%2B33612345678"): ("/api/v1/contacts/{id}", "contacts.get"),
        ("POST", "/api/v1/messages/send"): ("/api/v1/messages/send", "messages.send"),
        ("GET", "/api/v1/instances/i-1/state"): ("/api/v1/instances/{id}/state", "instances.state"),
        ("POST", "/api/v1/contacts/groups/g-1/members"): (
            "/api/v1/contacts/groups/{id}/members",
            "contacts.groups.members",
        ),
    }
    for (method, path), expected in cases.items():
        assert route_of(method, path) == expected
