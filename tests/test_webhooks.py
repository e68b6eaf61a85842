"""Webhooks without sockets: signatures, parsing, de-duplication, status tracking."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from msgflash_async import webhooks
from msgflash_async._exceptions import (
    ConfigurationError,
    DecodeError,
    WebhookVerificationError,
)
from msgflash_async._secret import Secret
from msgflash_async.webhooks import (
    InstanceConnected,
    InvalidSignatureError,
    MalformedSignatureError,
    MemoryDedupeStore,
    MessageDelivered,
    MessageEvent,
    MessageFailed,
    MessageRead,
    MessageReceived,
    MessageSent,
    MessageStatus,
    MissingSignatureError,
    StatusTracker,
    UnknownEvent,
    WebhookEvent,
    WebhookPayloadError,
    WebhookReceiver,
    dedupe_key,
    event_from_dict,
    parse_event,
    sign,
    verify_and_parse,
    verify_signature,
)

SECRET = "whsec_0123456789abcdef_do_not_leak"
OLD_SECRET = "whsec_old_rotated_secret_value"

DELIVERED = {
    "event": "message.delivered",
    "instanceId": "inst_uuid",
    "messageId": "msg_uuid",
    "providerMessageId": "BAE5D1A2B3C4D5E6",
    "to": "+22912345678",
    "status": "delivered",
}


def body_of(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def signed(payload: Any, secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    body = body_of(payload)
    return body, {"X-MsgFlash-Signature": sign(body, secret)}


def message(event: str, message_id: str = "m1", **fields: Any) -> WebhookEvent:
    return event_from_dict({"event": event, "messageId": message_id, **fields})


# --- signatures ----------------------------------------------------------------


def test_sign_is_hmac_sha256_of_the_raw_body() -> None:
    body = b'{"event":"message.sent"}'
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert sign(body, SECRET) == f"sha256={expected}"
    assert sign(body, Secret(SECRET)) == f"sha256={expected}"


def test_good_signature_parses_the_event() -> None:
    body, headers = signed(DELIVERED)
    event = verify_and_parse(body, headers, SECRET)
    assert isinstance(event, MessageDelivered)
    assert event.message_id == "msg_uuid"
    assert event.instance_id == "inst_uuid"
    assert event.provider_message_id == "BAE5D1A2B3C4D5E6"
    assert event.to == "+22912345678"
    assert event.status is MessageStatus.DELIVERED
    assert event.raw == DELIVERED


def test_header_lookup_ignores_case() -> None:
    body, headers = signed(DELIVERED)
    lower = {"x-msgflash-signature": headers["X-MsgFlash-Signature"]}
    upper = {"X-MSGFLASH-SIGNATURE": headers["X-MsgFlash-Signature"]}
    assert verify_and_parse(body, lower, SECRET) == verify_and_parse(body, upper, SECRET)


def test_uppercase_hex_digest_is_accepted() -> None:
    body, headers = signed(DELIVERED)
    headers["X-MsgFlash-Signature"] = "sha256=" + headers["X-MsgFlash-Signature"][7:].upper()
    verify_signature(body, headers, SECRET)


def test_tampered_body_is_rejected() -> None:
    body, headers = signed(DELIVERED)
    tampered = body.replace(b"delivered", b"read")
    with pytest.raises(InvalidSignatureError):
        verify_and_parse(tampered, headers, SECRET)


def test_reencoded_json_does_not_verify() -> None:
    # The signature covers the exact bytes; parsing and dumping again changes them.
    body = b'{"event": "message.sent",  "messageId": "m1"}'
    headers = {"X-MsgFlash-Signature": sign(body, SECRET)}
    reencoded = json.dumps(json.loads(body), separators=(",", ":")).encode()
    with pytest.raises(InvalidSignatureError):
        verify_signature(reencoded, headers, SECRET)


def test_wrong_secret_is_rejected() -> None:
    body, headers = signed(DELIVERED, secret="someone-else")
    with pytest.raises(InvalidSignatureError):
        verify_and_parse(body, headers, SECRET)


def test_missing_header_is_rejected() -> None:
    with pytest.raises(MissingSignatureError):
        verify_and_parse(body_of(DELIVERED), {"X-MsgFlash-Event": "message.delivered"}, SECRET)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "abc",
        "sha1=" + "a" * 40,
        "a" * 64,
        "sha256=",
        "sha256=" + "g" * 64,
        "sha256=" + "a" * 63,
        "sha256=" + "a" * 65,
        "sha256=" + "é" * 64,
    ],
)
def test_malformed_header_is_rejected(value: str) -> None:
    with pytest.raises(MalformedSignatureError):
        verify_signature(b"{}", {"X-MsgFlash-Signature": value}, SECRET)


def test_every_verification_failure_is_a_webhook_verification_error() -> None:
    for cls in (MissingSignatureError, MalformedSignatureError, InvalidSignatureError):
        assert issubclass(cls, WebhookVerificationError)
    assert issubclass(WebhookPayloadError, DecodeError)


def test_rotation_accepts_any_configured_secret() -> None:
    secrets: list[str | Secret] = [Secret(SECRET), OLD_SECRET]
    for secret in (SECRET, OLD_SECRET):
        body, headers = signed(DELIVERED, secret)
        assert isinstance(verify_and_parse(body, headers, secrets), MessageDelivered)
    body, headers = signed(DELIVERED, "retired")
    with pytest.raises(InvalidSignatureError):
        verify_and_parse(body, headers, secrets)


@pytest.mark.parametrize("secrets", [[], "", [SECRET, ""]])
def test_empty_secrets_are_a_configuration_error(secrets: Any) -> None:
    with pytest.raises(ConfigurationError):
        verify_signature(b"{}", {"X-MsgFlash-Signature": "sha256=" + "0" * 64}, secrets)


def test_error_messages_never_show_secret_or_digests() -> None:
    body, headers = signed(DELIVERED)
    received = headers["X-MsgFlash-Signature"]
    expected_other = sign(body, OLD_SECRET)
    with pytest.raises(WebhookVerificationError) as info:
        verify_signature(body, headers, OLD_SECRET)
    text = f"{info.value!s} {info.value!r}"
    for leak in (SECRET, OLD_SECRET, received[7:], expected_other[7:]):
        assert leak not in text


# --- parsing -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("message.sent", MessageSent),
        ("message.delivered", MessageDelivered),
        ("message.read", MessageRead),
        ("message.failed", MessageFailed),
        ("message.received", MessageReceived),
        ("instance.connected", InstanceConnected),
        ("instance.disconnected", webhooks.InstanceDisconnected),
    ],
)
def test_each_documented_event_has_its_class(name: str, cls: type) -> None:
    event = event_from_dict({"event": name})
    assert type(event) is cls
    assert event.event == name
    assert event.event.known


def test_unknown_event_is_kept_not_refused() -> None:
    payload = {"event": "campaign.finished", "campaignId": "cmp_1", "raw": 3}
    event = parse_event(body_of(payload))
    assert isinstance(event, UnknownEvent)
    assert event.event == "campaign.finished"
    assert not event.event.known
    assert event.raw == payload


def test_undocumented_fields_and_values_are_tolerated() -> None:
    event = event_from_dict(
        {
            "event": "message.failed",
            "messageId": "m1",
            "status": "expired",
            "error": {"code": "PROVIDER_ERROR", "message": "nope"},
            "timestamp": "2026-04-01T10:00:00.000Z",
            "from": "+33612345678",
            "brandNewField": [1, 2],
        }
    )
    assert isinstance(event, MessageFailed)
    assert event.status == "expired"
    assert event.status is not None and not event.status.known
    assert event.error == {"code": "PROVIDER_ERROR", "message": "nope"}
    assert event.timestamp == dt.datetime(2026, 4, 1, 10, tzinfo=dt.timezone.utc)
    assert event.from_ == "+33612345678"
    assert event.raw["brandNewField"] == [1, 2]
    hash(event)  # dict-valued fields stay out of the hash


def test_received_message_fields() -> None:
    event = event_from_dict(
        {
            "event": "message.received",
            "messageId": "in1",
            "from": "+229",
            "type": "text",
            "body": "hi",
        }
    )
    assert isinstance(event, MessageReceived)
    assert (event.from_, event.type_, event.body) == ("+229", "text", "hi")


def test_instance_event_fields() -> None:
    event = event_from_dict(
        {"event": "instance.connected", "instanceId": "inst_1", "status": "connected"}
    )
    assert isinstance(event, InstanceConnected)
    assert event.instance_id == "inst_1"
    assert event.status == webhooks.InstanceStatus.CONNECTED


@pytest.mark.parametrize(
    "body",
    [b"not json", b"\xff\xfe\x00garbage", b"[1, 2]", b'"message.sent"', b"null", b"{}"],
)
def test_signed_body_that_is_not_an_event_is_a_payload_error(body: bytes) -> None:
    headers = {"X-MsgFlash-Signature": sign(body, SECRET)}
    with pytest.raises(WebhookPayloadError):
        verify_and_parse(body, headers, SECRET)


def test_known_event_with_wrongly_typed_field_is_a_payload_error() -> None:
    with pytest.raises(WebhookPayloadError) as info:
        event_from_dict({"event": "message.sent", "timestamp": "yesterday-ish"})
    assert info.value.field == "timestamp"


def test_body_is_not_parsed_before_verification() -> None:
    with pytest.raises(MissingSignatureError):
        verify_and_parse(b"not json", {}, SECRET)


# --- de-duplication ------------------------------------------------------------


def test_dedupe_keys() -> None:
    assert dedupe_key(message("message.read", "m1")) == "message.read:m1"
    assert dedupe_key(message("message.read", "m1")) != dedupe_key(message("message.sent", "m1"))
    connected = {"event": "instance.connected", "instanceId": "i1"}
    at_1 = event_from_dict({**connected, "timestamp": "2026-04-01T10:00:00Z"})
    at_2 = event_from_dict({**connected, "timestamp": "2026-04-01T11:00:00Z"})
    assert dedupe_key(at_1) != dedupe_key(at_2)
    assert dedupe_key(event_from_dict(connected)) == dedupe_key(event_from_dict(dict(connected)))
    unknown = {"event": "x.y", "a": 1}
    assert dedupe_key(event_from_dict(unknown)) == dedupe_key(
        event_from_dict({"a": 1, "event": "x.y"})
    )


@pytest.mark.anyio
async def test_memory_store_claims_once_and_releases() -> None:
    store = MemoryDedupeStore()
    assert await store.claim("k")
    assert not await store.claim("k")
    await store.release("k")
    assert await store.claim("k")
    await store.release("never-claimed")
    assert isinstance(store, webhooks.DedupeStore)


@pytest.mark.anyio
async def test_memory_store_is_bounded_in_size() -> None:
    store = MemoryDedupeStore(max_entries=3)
    for key in "abcde":
        assert await store.claim(key)
    assert len(store) == 3
    assert await store.claim("a")  # the oldest were dropped
    assert not await store.claim("e")


@pytest.mark.anyio
async def test_memory_store_expires_keys() -> None:
    now = [0.0]
    store = MemoryDedupeStore(ttl=10, clock=lambda: now[0])
    assert await store.claim("a")
    now[0] = 5
    assert await store.claim("b")
    assert not await store.claim("a")
    now[0] = 10.5
    assert await store.claim("a")
    assert len(store) == 2  # "a" again and "b"; the expired "a" went first


def test_memory_store_refuses_nonsense_bounds() -> None:
    with pytest.raises(ValueError):
        MemoryDedupeStore(max_entries=0)


# --- status tracking -----------------------------------------------------------


def test_tracker_moves_forward_only() -> None:
    tracker = StatusTracker()
    assert tracker.record("m1", "queued")
    assert tracker.apply(message("message.delivered"))
    assert not tracker.apply(message("message.sent"))  # late
    assert not tracker.apply(message("message.delivered"))  # repeated
    assert tracker.apply(message("message.read"))
    assert not tracker.apply(message("message.failed"))  # read proves it arrived
    assert tracker.status_of("m1") is MessageStatus.READ


def test_tracker_failed_is_terminal() -> None:
    tracker = StatusTracker()
    assert tracker.apply(message("message.sent"))
    assert tracker.apply(message("message.failed"))
    assert not tracker.apply(message("message.read"))
    assert not tracker.apply(message("message.delivered"))
    assert tracker.status_of("m1") is MessageStatus.FAILED


def test_tracker_ignores_what_is_not_an_outbound_status() -> None:
    tracker = StatusTracker()
    assert not tracker.apply(event_from_dict({"event": "message.read"}))  # no id
    assert not tracker.apply(message("message.received"))
    assert not tracker.apply(event_from_dict({"event": "instance.connected", "instanceId": "m1"}))
    assert not tracker.apply(event_from_dict({"event": "x.y", "messageId": "m1"}))
    assert not tracker.record("m1", "planned")  # unknown status: place unknown
    assert tracker.status_of("m1") is None


def test_tracker_is_bounded() -> None:
    tracker = StatusTracker(max_messages=2)
    for message_id in ("a", "b", "c"):
        tracker.record(message_id, "sent")
    assert tracker.status_of("a") is None
    assert tracker.status_of("c") is MessageStatus.SENT


LIFECYCLE = ["message.sent", "message.delivered", "message.read", "message.failed"]
RANK = {"sent": 1, "delivered": 2, "read": 3}


@given(st.lists(st.sampled_from(LIFECYCLE), min_size=1, max_size=12))
def test_any_order_with_duplicates_ends_at_the_right_status(names: list[str]) -> None:
    tracker = StatusTracker()
    changes = sum(tracker.apply(message(name)) for name in names)
    statuses = [name.removeprefix("message.") for name in names]
    terminal = next((s for s in statuses if s in ("read", "failed")), None)
    expected = terminal or max(statuses, key=RANK.__getitem__)
    assert tracker.status_of("m1") == expected
    assert changes <= len(set(statuses))


@pytest.mark.anyio
async def test_wait_for_returns_once_the_status_is_reached() -> None:
    tracker = StatusTracker()
    results: list[MessageStatus] = []

    async def waiter() -> None:
        results.append(await tracker.wait_for("m1", "read", timeout=5))

    async with anyio.create_task_group() as tg:
        tg.start_soon(waiter)
        await anyio.wait_all_tasks_blocked()
        tracker.apply(message("message.delivered"))
        await anyio.wait_all_tasks_blocked()
        assert results == []
        tracker.apply(message("message.read"))
    assert results == [MessageStatus.READ]
    # Already there (or beyond): no wait at all.
    assert await tracker.wait_for("m1", "sent") is MessageStatus.READ


@pytest.mark.anyio
async def test_wait_for_stops_at_a_terminal_failure() -> None:
    tracker = StatusTracker()
    results: list[MessageStatus] = []

    async def waiter() -> None:
        results.append(await tracker.wait_for("m1", "read", timeout=5))

    async with anyio.create_task_group() as tg:
        tg.start_soon(waiter)
        await anyio.wait_all_tasks_blocked()
        tracker.apply(message("message.failed"))
    assert results == [MessageStatus.FAILED]


@pytest.mark.anyio
async def test_wait_for_times_out_and_cleans_up() -> None:
    tracker = StatusTracker()
    with pytest.raises(TimeoutError):
        await tracker.wait_for("m1", "read", timeout=0.01)
    assert tracker._waiters == {}


# --- the receiver core ---------------------------------------------------------


class Recorder:
    def __init__(self, fail: int = 0) -> None:
        self.events: list[WebhookEvent] = []
        self.fail = fail

    async def __call__(self, event: WebhookEvent) -> None:
        self.events.append(event)
        if self.fail:
            self.fail -= 1
            raise RuntimeError("handler broke")


@pytest.mark.anyio
async def test_receiver_outcomes() -> None:
    recorder = Recorder()
    receiver = WebhookReceiver([SECRET, OLD_SECRET], recorder)
    body, headers = signed(DELIVERED)
    first = await receiver.handle(body, headers)
    assert (first.status, first.duplicate) == (200, False)
    again = await receiver.handle(body, headers)
    assert (again.status, again.duplicate) == (200, True)
    assert (await receiver.handle(body + b" ", headers)).status == 401
    assert (await receiver.handle(body, {})).status == 401
    junk = b"[]"
    assert (await receiver.handle(junk, {"x-msgflash-signature": sign(junk, SECRET)})).status == 400
    assert recorder.events == [first.event]


@pytest.mark.anyio
async def test_receiver_failure_is_500_and_the_retry_is_handled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder = Recorder(fail=1)
    receiver = WebhookReceiver(SECRET, recorder)
    body, headers = signed(DELIVERED)
    with caplog.at_level(logging.DEBUG, logger="msgflash_async"):
        assert (await receiver.handle(body, headers)).status == 500
        assert (await receiver.handle(body, headers)).status == 200
        assert (await receiver.handle(body, headers)).duplicate
    assert len(recorder.events) == 2
    failures = [r for r in caplog.records if r.name == "msgflash_async.webhooks" and r.exc_info]
    assert len(failures) == 1
    assert SECRET not in caplog.text


@pytest.mark.anyio
async def test_receiver_without_dedupe_hands_every_delivery() -> None:
    recorder = Recorder()
    receiver = WebhookReceiver(SECRET, recorder, dedupe=None)
    body, headers = signed(DELIVERED)
    for _ in range(3):
        assert (await receiver.handle(body, headers)).status == 200
    assert len(recorder.events) == 3


@pytest.mark.anyio
async def test_receiver_feeds_a_stream_and_a_tracker() -> None:
    send, receive = anyio.create_memory_object_stream[WebhookEvent](1)
    tracker = StatusTracker()
    receiver = WebhookReceiver(SECRET, send, tracker=tracker)
    async with send, receive:
        assert (await receiver.handle(*signed(DELIVERED))).status == 200
        # The buffer is full: the delivery fails and will be retried.
        assert (await receiver.handle(*signed({**DELIVERED, "messageId": "m2"}))).status == 500
        event = await receive.receive()
    assert isinstance(event, MessageEvent) and event.message_id == "msg_uuid"
    assert tracker.status_of("msg_uuid") is MessageStatus.DELIVERED


@pytest.mark.anyio
async def test_receiver_feeds_an_asyncio_queue() -> None:
    queue: asyncio.Queue[WebhookEvent] = asyncio.Queue()
    receiver = WebhookReceiver(SECRET, queue)
    assert (await receiver.handle(*signed(DELIVERED))).status == 200
    assert isinstance(queue.get_nowait(), MessageDelivered)


@pytest.mark.anyio
async def test_cancelled_handler_releases_its_claim() -> None:
    started = anyio.Event()

    async def slow(event: WebhookEvent) -> None:
        started.set()
        await anyio.sleep_forever()

    store = MemoryDedupeStore()
    receiver = WebhookReceiver(SECRET, slow, dedupe=store)
    with anyio.move_on_after(0.05):
        await receiver.handle(*signed(DELIVERED))
    assert started.is_set()
    assert len(store) == 0  # consistent: nothing half-claimed


class SlowOnce:
    """A handler that hangs on its first call and returns at once afterwards."""

    def __init__(self) -> None:
        self.calls = 0
        self.finished: list[WebhookEvent] = []

    async def __call__(self, event: WebhookEvent) -> None:
        self.calls += 1
        if self.calls == 1:
            await anyio.sleep_forever()
        self.finished.append(event)


@pytest.mark.anyio
async def test_slow_handler_is_cancelled_answered_503_and_the_retry_is_handled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler = SlowOnce()
    store = MemoryDedupeStore()
    receiver = WebhookReceiver(SECRET, handler, dedupe=store, handler_timeout=0.05)
    body, headers = signed(DELIVERED)
    with caplog.at_level(logging.DEBUG, logger="msgflash_async"), anyio.fail_after(2):
        first = await receiver.handle(body, headers)
        assert (first.status, first.reason) == (503, "handler timed out")
        assert len(store) == 0  # the claim was released: the retry gets in
        assert (await receiver.handle(body, headers)).status == 200
        assert (await receiver.handle(body, headers)).duplicate
    assert handler.calls == 2 and len(handler.finished) == 1
    timeouts = [r for r in caplog.records if "answering 503" in r.getMessage()]
    assert len(timeouts) == 1 and timeouts[0].levelno == logging.ERROR


@pytest.mark.anyio
async def test_a_timeout_raised_by_the_handler_itself_is_a_failure_not_ours() -> None:
    async def gives_up(event: WebhookEvent) -> None:
        raise TimeoutError("the handler's own deadline")

    receiver = WebhookReceiver(SECRET, gives_up, handler_timeout=5)
    assert (await receiver.handle(*signed(DELIVERED))).status == 500


@pytest.mark.anyio
async def test_queue_sinks_answer_at_once_whatever_the_handler_timeout() -> None:
    send, receive = anyio.create_memory_object_stream[WebhookEvent](1)
    receiver = WebhookReceiver(SECRET, send, handler_timeout=0.001)
    async with send, receive:
        assert (await receiver.handle(*signed(DELIVERED))).status == 200
        assert isinstance(receive.receive_nowait(), MessageDelivered)


@pytest.mark.anyio
async def test_no_handler_timeout_waits_for_the_handler() -> None:
    async def slowish(event: WebhookEvent) -> None:
        await anyio.sleep(0.05)

    receiver = WebhookReceiver(SECRET, slowish, handler_timeout=None)
    assert (await receiver.handle(*signed(DELIVERED))).status == 200


def padded(size: int) -> tuple[bytes, dict[str, str]]:
    """A signed, valid event whose body is exactly ``size`` bytes."""
    base = len(body_of({**DELIVERED, "pad": ""}))
    return signed({**DELIVERED, "pad": "x" * (size - base)})


@pytest.mark.anyio
async def test_oversized_body_is_413_unparsed_and_never_handed_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recorder = Recorder()
    receiver = WebhookReceiver(SECRET, recorder, max_body=1000)
    body, headers = padded(1000)
    assert len(body) == 1000
    assert (await receiver.handle(body, headers)).status == 200  # the limit itself is fine
    parsed: list[bytes] = []
    monkeypatch.setattr(
        "msgflash_async.webhooks._receiver.verified_event",
        lambda body, *_: parsed.append(body),
    )
    big, big_headers = padded(1001)
    response = await receiver.handle(big, big_headers)
    assert (response.status, response.reason, response.event) == (413, "body too large", None)
    assert parsed == [] and len(recorder.events) == 1


@pytest.mark.anyio
async def test_handle_stream_stops_reading_past_max_body() -> None:
    recorder = Recorder()
    receiver = WebhookReceiver(SECRET, recorder, max_body=1000)
    read: list[int] = []

    async def chunks(body: bytes, size: int = 100) -> AsyncIterator[bytes]:
        for start in range(0, len(body), size):
            read.append(start)
            yield body[start : start + size]

    big, headers = padded(5000)
    assert (await receiver.handle_stream(chunks(big), headers)).status == 413
    assert len(read) == 11  # 1100 bytes read, not 5000
    read.clear()
    declared = {**headers, "content-length": str(len(big))}
    assert (await receiver.handle_stream(chunks(big), declared)).status == 413
    assert read == []  # refused on the declared length, before reading
    body, headers = padded(1000)
    assert (await receiver.handle_stream(chunks(body), headers)).status == 200
    assert len(recorder.events) == 1


@pytest.mark.anyio
async def test_malformed_content_length_is_left_to_the_streamed_count() -> None:
    receiver = WebhookReceiver(SECRET, None, dedupe=None, max_body=1000)

    async def one(body: bytes) -> AsyncIterator[bytes]:
        yield body

    body, headers = padded(500)
    for value, status in [("abc", 200), ("-1", 200), ("\u00b2", 200), ("9" * 20, 413)]:
        response = await receiver.handle_stream(one(body), {**headers, "Content-Length": value})
        assert response.status == status, value


@pytest.mark.parametrize("options", [{"handler_timeout": 0}, {"max_body": -1}])
def test_receiver_refuses_nonsense_limits(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must"):
        WebhookReceiver(SECRET, None, **options)


def test_reprs_never_show_secrets() -> None:
    receiver = WebhookReceiver([Secret(SECRET), OLD_SECRET], None, tracker=StatusTracker())
    text = repr(receiver) + str(receiver)
    assert SECRET not in text and OLD_SECRET not in text
    assert "2 hidden" in text


def test_exported_names_are_sorted_and_exist() -> None:
    assert webhooks.__all__ == sorted(webhooks.__all__)
    for name in webhooks.__all__:
        assert hasattr(webhooks, name)
