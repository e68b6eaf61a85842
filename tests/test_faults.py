"""Faults over loopback: every failure ends in the right typed error, and nothing is lost.

Each test injects one kind of fault into the emulator and checks four
promises: idempotent calls retry within the budget and then raise the typed
error; non-idempotent calls never repeat a request that may have reached the
server (counted in ``emu.requests``); the client still works afterwards; and
every pooled connection and gate slot is back, idle.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import anyio
import pytest
from aiohttp import web
from servers import serve_handler

from msgflash_async import _exceptions as exc
from msgflash_async._client import MsgFlashClient
from msgflash_async._config import RetryPolicy
from msgflash_async.models.contacts import Contact
from msgflash_async.testing import Emulator, Fault

pytestmark = pytest.mark.anyio

FAST_RETRY = RetryPolicy(max_retries=2, backoff_base=0.01, backoff_max=0.02, rate_limit_retries=2)
ATTEMPTS = 1 + FAST_RETRY.max_retries
CONTACTS = "/api/v1/contacts"
PHONE = "+33612345678"
HTML_502 = b"<html><body><h1>502 Bad Gateway</h1>nginx</body></html>"


def _client(emu: Emulator, **options: object) -> MsgFlashClient:
    options.setdefault("max_retries", FAST_RETRY)
    options.setdefault("rate_limit", None)
    return MsgFlashClient(
        emu.api_key,
        base_url=emu.base_url,
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
async def client(msgflash_emulator: Emulator) -> AsyncIterator[MsgFlashClient]:
    async with _client(msgflash_emulator) as client:
        yield client


def hits(emu: Emulator, method: str, path: str) -> int:
    return sum(1 for r in emu.requests if r.method == method and r.path == path)


def assert_pool_idle(client: MsgFlashClient) -> None:
    """No connection checked out of aiohttp's pool, and our FIFO gate full again."""
    session = client._session
    assert session._http is not None
    assert not session._http.connector._acquired  # type: ignore[union-attr]
    assert session._gate._value == client.config.pool_size


async def assert_usable(client: MsgFlashClient, emu: Emulator) -> None:
    """The fault is gone: a follow-up call succeeds, and the pool is idle after it."""
    emu.faults.clear()
    page = await client.contacts.list(limit=1)
    assert page.total is not None
    assert_pool_idle(client)


# -- server errors ------------------------------------------------------------

SERVER_ERRORS = [
    pytest.param(status, body, id=f"{status}-{'json' if body is None else 'html'}")
    for status in (500, 502, 503, 504)
    for body in (None, HTML_502)
]


@pytest.mark.parametrize(("status", "body"), SERVER_ERRORS)
async def test_get_retries_server_errors_within_budget_then_raises(
    client: MsgFlashClient, msgflash_emulator: Emulator, status: int, body: bytes | None
) -> None:
    (contact_id,) = msgflash_emulator.seed_contacts(1)
    path = f"{CONTACTS}/{contact_id}"
    msgflash_emulator.faults.add(Fault.error(status, body=body), times=None)
    with pytest.raises(exc.ServerError) as info:
        await client.contacts.get(contact_id)
    assert info.value.status == status and info.value.path == path
    if body is not None:
        assert info.value.code is None and "502 Bad Gateway" in info.value.message
    assert hits(msgflash_emulator, "GET", path) == ATTEMPTS
    assert_pool_idle(client)
    await assert_usable(client, msgflash_emulator)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_put_recovers_when_server_errors_stop(
    client: MsgFlashClient, msgflash_emulator: Emulator, status: int
) -> None:
    (contact_id,) = msgflash_emulator.seed_contacts(1)
    msgflash_emulator.faults.add(Fault.error(status), method="PUT", times=ATTEMPTS - 1)
    contact = await client.contacts.update(contact_id, name="Renamed")
    assert contact.name == "Renamed"
    assert hits(msgflash_emulator, "PUT", f"{CONTACTS}/{contact_id}") == ATTEMPTS
    assert_pool_idle(client)


@pytest.mark.parametrize(("status", "body"), SERVER_ERRORS)
async def test_post_create_is_never_repeated_after_server_error(
    client: MsgFlashClient, msgflash_emulator: Emulator, status: int, body: bytes | None
) -> None:
    msgflash_emulator.faults.add(Fault.error(status, body=body), method="POST", times=None)
    with pytest.raises(exc.ServerError):
        await client.contacts.create(name="Ada", phone=PHONE)
    assert hits(msgflash_emulator, "POST", CONTACTS) == 1
    await assert_usable(client, msgflash_emulator)


async def test_bulk_delete_is_never_repeated_after_server_error(
    client: MsgFlashClient, msgflash_emulator: Emulator
) -> None:
    ids = msgflash_emulator.seed_contacts(3)
    path = f"{CONTACTS}/bulk-delete"
    msgflash_emulator.faults.add(Fault.error(503), method="POST", path=path, times=None)
    operation = client.contacts.bulk_delete(ids)
    with pytest.raises(exc.ServerError):
        await operation
    # Awaiting again reports the same failure; the call is not sent a second time.
    with pytest.raises(exc.ServerError):
        await operation
    assert hits(msgflash_emulator, "POST", path) == 1
    await assert_usable(client, msgflash_emulator)


# -- dropped connections --------------------------------------------------------


@pytest.mark.parametrize("after_handler", [False, True])
async def test_get_retries_dropped_connections_then_raises(
    client: MsgFlashClient,
    msgflash_emulator: Emulator,
    caplog: pytest.LogCaptureFixture,
    after_handler: bool,
) -> None:
    caplog.set_level(logging.DEBUG, logger="msgflash_async")
    (contact_id,) = msgflash_emulator.seed_contacts(1)
    path = f"{CONTACTS}/{contact_id}"
    msgflash_emulator.faults.add(Fault.drop(after_handler=after_handler), times=None)
    with pytest.raises(exc.ConnectionLostError) as info:
        await client.contacts.get(contact_id)
    assert info.value.request_sent
    # One debug line per SDK attempt. aiohttp itself resends an idempotent
    # request once when a reused keep-alive connection drops, so the server
    # may count up to two requests per attempt.
    attempts = [r for r in caplog.records if r.name == "msgflash_async" and path in r.message]
    assert len(attempts) == ATTEMPTS
    assert ATTEMPTS <= hits(msgflash_emulator, "GET", path) <= 2 * ATTEMPTS
    assert_pool_idle(client)
    await assert_usable(client, msgflash_emulator)


@pytest.mark.parametrize("after_handler", [False, True])
async def test_post_create_is_never_repeated_after_a_drop(
    client: MsgFlashClient, msgflash_emulator: Emulator, after_handler: bool
) -> None:
    await client.contacts.list(limit=1)  # warm a keep-alive connection first
    msgflash_emulator.faults.add(Fault.drop(after_handler=after_handler), method="POST", times=None)
    with pytest.raises(exc.ConnectionLostError) as info:
        await client.contacts.create(name="Ada", phone=PHONE)
    assert info.value.request_sent  # the outcome is unknown: never resend
    assert hits(msgflash_emulator, "POST", CONTACTS) == 1
    await assert_usable(client, msgflash_emulator)
    # When the server had processed it, exactly one contact exists.
    page = await client.contacts.list()
    assert page.total == (1 if after_handler else 0)


async def test_bulk_delete_is_never_repeated_after_a_drop(
    client: MsgFlashClient, msgflash_emulator: Emulator
) -> None:
    ids = msgflash_emulator.seed_contacts(5)
    path = f"{CONTACTS}/bulk-delete"
    msgflash_emulator.faults.add(Fault.drop(after_handler=True), path=path, times=None)
    operation = client.contacts.bulk_delete(ids)
    with pytest.raises(exc.ConnectionLostError):
        await operation
    with pytest.raises(exc.ConnectionLostError):
        await operation
    assert hits(msgflash_emulator, "POST", path) == 1
    await assert_usable(client, msgflash_emulator)
    assert (await client.contacts.list()).total == 0  # it did reach the server


# -- slow answers ---------------------------------------------------------------


async def test_slow_get_times_out_per_attempt_and_retries_within_budget(
    msgflash_emulator: Emulator,
) -> None:
    (contact_id,) = msgflash_emulator.seed_contacts(1)
    path = f"{CONTACTS}/{contact_id}"
    msgflash_emulator.faults.add(Fault.delay(60.0), method="GET", path=path, times=None)
    # 0.25 s an attempt: long enough for each (new) connection to reach the
    # server on a loaded machine, so every attempt is counted there.
    async with _client(msgflash_emulator, timeout=0.25) as client:
        # Waiting out the 60 s delay instead of the per-attempt timeout would trip this.
        with anyio.fail_after(30), pytest.raises(exc.RequestTimeoutError) as info:
            await client.contacts.get(contact_id)
        assert info.value.method == "GET" and info.value.path == path
        assert hits(msgflash_emulator, "GET", path) == ATTEMPTS
        assert_pool_idle(client)
        await assert_usable(client, msgflash_emulator)


async def test_slow_post_times_out_once_and_is_not_repeated(msgflash_emulator: Emulator) -> None:
    msgflash_emulator.faults.add(Fault.delay(5.0), method="POST", times=None)
    async with _client(msgflash_emulator, timeout=0.25) as client:
        with pytest.raises(exc.RequestTimeoutError) as info:
            await client.contacts.create(name="Ada", phone=PHONE)
        assert info.value.request_sent
        assert hits(msgflash_emulator, "POST", CONTACTS) == 1
        assert_pool_idle(client)
        await assert_usable(client, msgflash_emulator)


# -- truncated bodies -----------------------------------------------------------


async def test_truncated_get_is_retried_and_recovers(
    client: MsgFlashClient, msgflash_emulator: Emulator
) -> None:
    (contact_id,) = msgflash_emulator.seed_contacts(1)
    msgflash_emulator.faults.add(Fault.truncate(), method="GET")
    contact = await client.contacts.get(contact_id)
    assert contact.id == contact_id
    assert hits(msgflash_emulator, "GET", f"{CONTACTS}/{contact_id}") == 2
    assert_pool_idle(client)


async def test_truncated_get_raises_connection_lost_after_budget(
    client: MsgFlashClient, msgflash_emulator: Emulator
) -> None:
    msgflash_emulator.faults.add(Fault.truncate(), method="GET", times=None)
    with pytest.raises(exc.ConnectionLostError) as info:
        await client.contacts.list()
    assert info.value.path == CONTACTS
    assert hits(msgflash_emulator, "GET", CONTACTS) == ATTEMPTS
    assert_pool_idle(client)
    await assert_usable(client, msgflash_emulator)


async def test_truncated_post_is_not_repeated(
    client: MsgFlashClient, msgflash_emulator: Emulator
) -> None:
    msgflash_emulator.faults.add(Fault.truncate(), method="POST", times=None)
    with pytest.raises(exc.ConnectionLostError):
        await client.contacts.create(name="Ada", phone=PHONE)
    assert hits(msgflash_emulator, "POST", CONTACTS) == 1
    await assert_usable(client, msgflash_emulator)
    assert (await client.contacts.list()).total == 1  # processed, answer cut short


# -- valid JSON of the wrong shape ---------------------------------------------


async def test_page_whose_items_miss_id_is_a_decode_error_naming_model_and_field(
    client: MsgFlashClient, msgflash_emulator: Emulator
) -> None:
    good = {"id": "c1", "name": "Ada", "phone": PHONE}
    bad = {"name": "Bob", "phone": PHONE}
    payload = {"data": {"contacts": [good, bad], "nextCursor": None, "hasMore": False}}
    msgflash_emulator.faults.add(Fault.body(payload), method="GET")
    with pytest.raises(exc.DecodeError) as info:
        await client.contacts.list()
    assert info.value.model == "Contact"
    assert info.value.field == "[1].id"
    assert "Contact" in str(info.value) and "id" in str(info.value)
    assert hits(msgflash_emulator, "GET", CONTACTS) == 1  # a decode error is not retried
    await assert_usable(client, msgflash_emulator)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"id": "c1", "phone": PHONE}, "name"),
        ({"id": "c1", "name": "Ada", "phone": PHONE, "tags": "vip"}, "tags"),
        ({"id": "c1", "name": "Ada", "phone": PHONE, "createdAt": 12}, "created_at"),
        ({"id": ["c1"], "name": "Ada", "phone": PHONE}, "id"),
    ],
)
async def test_wrong_contact_shape_is_a_decode_error(
    client: MsgFlashClient, msgflash_emulator: Emulator, data: object, field: str
) -> None:
    msgflash_emulator.faults.add(Fault.body({"data": data}), method="GET")
    with pytest.raises(exc.DecodeError) as info:
        await client.contacts.get("c1")
    assert info.value.model == Contact.__name__
    assert info.value.field.startswith(field)
    await assert_usable(client, msgflash_emulator)


# -- rate limiting --------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_rate_limit_burst_is_retried_for_every_method(
    client: MsgFlashClient, msgflash_emulator: Emulator, method: str
) -> None:
    msgflash_emulator.faults.add(
        Fault.rate_limited(retry_after=0.01), method=method, times=ATTEMPTS - 1
    )
    if method == "GET":
        await client.contacts.list()
    else:
        await client.contacts.create(name="Ada", phone=PHONE)
    assert hits(msgflash_emulator, method, CONTACTS) == ATTEMPTS
    assert_pool_idle(client)


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_endless_rate_limit_raises_after_budget(
    client: MsgFlashClient, msgflash_emulator: Emulator, method: str
) -> None:
    msgflash_emulator.faults.add(Fault.rate_limited(retry_after=0.01), method=method, times=None)
    with pytest.raises(exc.RateLimitError) as info:
        if method == "GET":
            await client.contacts.list()
        else:
            await client.contacts.create(name="Ada", phone=PHONE)
    assert info.value.code == "API_RATE_LIMIT_EXCEEDED"
    assert hits(msgflash_emulator, method, CONTACTS) == ATTEMPTS
    await assert_usable(client, msgflash_emulator)
    assert (await client.contacts.list()).total == 0  # a refused POST created nothing


async def test_concurrent_burst_of_429s_all_recover(
    client: MsgFlashClient, msgflash_emulator: Emulator
) -> None:
    import anyio

    callers = 10
    msgflash_emulator.faults.add(Fault.rate_limited(retry_after=0.01), times=callers)
    results: list[int | None] = []

    async def call() -> None:
        results.append((await client.contacts.list(limit=1)).total)

    async with anyio.create_task_group() as tg:
        for _ in range(callers):
            tg.start_soon(call)
    assert results == [0] * callers
    assert hits(msgflash_emulator, "GET", CONTACTS) == 2 * callers
    assert_pool_idle(client)


# -- quota in the middle of a scan -------------------------------------------


@pytest.mark.parametrize("prefetch", [False, True])
async def test_quota_mid_pagination_keeps_items_and_resumes(
    client: MsgFlashClient, msgflash_emulator: Emulator, prefetch: bool
) -> None:
    seeded = set(msgflash_emulator.seed_contacts(250))
    # Two more requests are allowed this "month": pages 1 and 2, then 429.
    msgflash_emulator.settings.monthly_api_quota = msgflash_emulator.state.api_requests + 2
    paginator = client.contacts.list(limit=100, prefetch=prefetch)
    seen: list[str] = []
    with pytest.raises(exc.QuotaExceededError) as info:
        async for contact in paginator:
            seen.append(contact.id)
    assert info.value.code == "MONTHLY_API_REQUEST_QUOTA_EXCEEDED"
    assert len(seen) == 200 and len(set(seen)) == 200  # both pages it got, kept
    assert hits(msgflash_emulator, "GET", CONTACTS) == 3  # the 429 was not retried
    token = paginator.resume_token
    assert token is not None
    assert_pool_idle(client)

    msgflash_emulator.settings.monthly_api_quota = None  # a new month
    rest = [c.id async for c in client.contacts.list(resume=token, prefetch=prefetch)]
    assert len(rest) == 50
    assert set(seen) | set(rest) == seeded and not set(seen) & set(rest)
    assert_pool_idle(client)


# -- the overall deadline ----------------------------------------------------------


async def test_deadline_hit_during_backoff_sleep(msgflash_emulator: Emulator) -> None:
    msgflash_emulator.faults.add(Fault.rate_limited(retry_after=40.0), times=None)
    patient = RetryPolicy(max_retries=5, backoff_base=40.0, backoff_max=40.0)
    async with _client(msgflash_emulator, deadline=0.2, max_retries=patient) as client:
        started = anyio.current_time()
        # Sleeping the whole 40 s backoff instead of stopping at the deadline trips this.
        with anyio.fail_after(20), pytest.raises(exc.DeadlineExceededError):
            await client.contacts.list()
        assert anyio.current_time() - started >= 0.15
        # The one attempt failed at once; the deadline struck in the 40 s backoff.
        assert hits(msgflash_emulator, "GET", CONTACTS) == 1
        assert_pool_idle(client)
        await assert_usable(client, msgflash_emulator)


async def test_per_attempt_timeout_is_retried_until_the_deadline(
    msgflash_emulator: Emulator,
) -> None:
    msgflash_emulator.faults.add(Fault.delay(60.0), method="GET", times=None)
    many = RetryPolicy(max_retries=100, backoff_base=0.001, backoff_max=0.001)
    async with _client(msgflash_emulator, timeout=0.2, deadline=0.9, max_retries=many) as client:
        # Waiting out a 60 s delay instead of the deadline would trip this.
        with anyio.fail_after(30), pytest.raises(exc.DeadlineExceededError):
            await client.contacts.list()
        # Several attempts, each cut by its own timeout, then the deadline.
        assert 2 <= hits(msgflash_emulator, "GET", CONTACTS) <= 5
        assert_pool_idle(client)
        await assert_usable(client, msgflash_emulator)


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_deadline_error_carries_method_and_path(
    msgflash_emulator: Emulator, method: str
) -> None:
    msgflash_emulator.faults.add(Fault.delay(5.0), method=method, times=None)
    async with _client(msgflash_emulator, timeout=5.0, deadline=0.4) as client:
        with pytest.raises(exc.DeadlineExceededError) as info:
            if method == "GET":
                await client.contacts.list()
            else:
                await client.contacts.create(name="Ada", phone=PHONE)
        error = info.value
        assert (error.method, error.path) == (method, CONTACTS)
        assert method in str(error) and CONTACTS in str(error)
        assert error.request_sent and isinstance(error, exc.TransportError)
        assert hits(msgflash_emulator, method, CONTACTS) == 1
        assert_pool_idle(client)
        await assert_usable(client, msgflash_emulator)


async def test_deadline_while_queued_in_the_limiter_says_nothing_was_sent(
    msgflash_emulator: Emulator,
) -> None:
    # One request per 10 s: the second call waits in the limiter past its deadline.
    async with _client(msgflash_emulator, rate_limit=0.1, deadline=0.2) as client:
        await client.contacts.create(name="Ada", phone=PHONE)
        with pytest.raises(exc.DeadlineExceededError) as info:
            await client.contacts.create(name="Bob", phone="+33612345679")
        assert info.value.request_sent is False
        assert hits(msgflash_emulator, "POST", CONTACTS) == 1
        assert_pool_idle(client)


# -- redirects ------------------------------------------------------------------------


async def test_redirects_are_not_followed_so_the_key_stays_home(
    msgflash_emulator: Emulator,
) -> None:
    elsewhere: list[str] = []

    async def other_origin(request: web.Request) -> web.Response:
        elsewhere.append(request.method)
        return web.json_response({"data": {}})

    async with serve_handler(other_origin) as other:
        for method in ("GET", "POST"):
            redirect = Fault.error(307, body=b"", headers={"Location": f"{other}/steal"})
            msgflash_emulator.faults.add(redirect, method=method, times=1)
        async with _client(msgflash_emulator) as client:
            with pytest.raises(exc.APIError) as got:
                await client.contacts.list()
            assert got.value.status == 307
            with pytest.raises(exc.APIError):
                await client.contacts.create(name="Ada", phone=PHONE)
            assert_pool_idle(client)
    assert elsewhere == [], "a request (and its x-api-key) followed the redirect"


# -- bodies too large or too slow ----------------------------------------------------

CAP = 256 * 1024


async def test_endless_body_is_cut_at_the_cap_and_not_retried(
    msgflash_emulator: Emulator,
) -> None:
    emu = msgflash_emulator
    emu.faults.add(Fault.stream(), method="GET", path=CONTACTS)  # chunked, never ends
    async with _client(emu, max_response_bytes=CAP) as client:
        with anyio.fail_after(20), pytest.raises(exc.ResponseTooLargeError) as info:
            await client.contacts.list()
        assert info.value.limit == CAP and info.value.request_sent
        assert info.value.path == CONTACTS and f"max_response_bytes={CAP:,}" in str(info.value)
        assert hits(emu, "GET", CONTACTS) == 1  # the same call would get the same body
        await assert_usable(client, emu)


@pytest.mark.parametrize("encoding", ["length", "chunked", "gzip"])
async def test_a_body_over_the_cap_raises_however_it_is_sent(encoding: str) -> None:
    import gzip

    big = b'{"data": {"contacts": [], "pad": "' + b" " * (4 * CAP) + b'"}}'

    async def handler(request: web.Request) -> web.StreamResponse:
        if encoding == "length":
            return web.Response(body=big, content_type="application/json")
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        if encoding == "gzip":  # a few KB on the wire, 1 MiB once inflated
            response.headers["Content-Encoding"] = "gzip"
            response.content_length = len(packed := gzip.compress(big))
            await response.prepare(request)
            await response.write(packed)
            return response
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(big), 65536):
            await response.write(big[start : start + 65536])
        return response

    async with serve_handler(handler) as url:
        client = MsgFlashClient(
            "msgf_live_" + "0" * 64, base_url=url, rate_limit=None, max_response_bytes=CAP
        )
        async with client:
            with pytest.raises(exc.ResponseTooLargeError):
                await client.contacts.list()
            with pytest.raises(exc.ResponseTooLargeError) as info:
                await client.contacts.create(name="Ada", phone=PHONE)
            assert info.value.request_sent  # a POST answered too large: outcome unknown
        roomy = MsgFlashClient("msgf_live_" + "0" * 64, base_url=url, rate_limit=None)
        async with roomy:  # the default cap (32 MiB) reads it
            assert (await roomy.contacts.list()).items == []


async def test_bodies_under_the_cap_read_as_before(msgflash_emulator: Emulator) -> None:
    emu = msgflash_emulator
    emu.seed_contacts(100)
    async with _client(emu, max_response_bytes=64 * 1024) as client:
        assert len((await client.contacts.list(limit=100)).items) == 100
        emu.faults.add(Fault.stream(64 * 1024), method="GET", path=CONTACTS)
        with pytest.raises(exc.DecodeError):  # exactly the cap: read, then not JSON
            await client.contacts.list()
        assert_pool_idle(client)


async def test_slow_drip_body_is_bounded_by_the_per_attempt_timeout(
    msgflash_emulator: Emulator,
) -> None:
    emu = msgflash_emulator
    emu.faults.add(Fault.stream(chunk=1, every=0.05), method="GET", path=CONTACTS, times=None)
    async with _client(emu, timeout=0.5, max_retries=RetryPolicy(max_retries=0)) as client:
        with anyio.fail_after(20), pytest.raises(exc.RequestTimeoutError):
            await client.contacts.list()
        assert hits(emu, "GET", CONTACTS) == 1
        await assert_usable(client, emu)
