"""The session layer over real loopback HTTP against the emulator."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import AsyncIterator

import aiohttp
import anyio
import pytest
from aiohttp import web
from servers import serve_handler

from msgflash_async import _exceptions as exc
from msgflash_async._client import MsgFlashClient
from msgflash_async._config import RetryPolicy
from msgflash_async._protocol import api_path
from msgflash_async.testing import Emulator, Fault

pytestmark = pytest.mark.anyio

FAST_RETRY = RetryPolicy(max_retries=2, backoff_base=0.01, backoff_max=0.02)
CONTACTS = "/api/v1/contacts"


@pytest.fixture
async def client(msgflash_emulator: Emulator) -> AsyncIterator[MsgFlashClient]:
    async with MsgFlashClient(
        msgflash_emulator.api_key,
        base_url=msgflash_emulator.base_url,
        rate_limit=None,
        max_retries=FAST_RETRY,
    ) as client:
        yield client


def _hits(emu: Emulator, method: str, path: str) -> int:
    return sum(1 for r in emu.requests if r.method == method and r.path == path)


async def _get(client: MsgFlashClient, path: str = CONTACTS) -> object:
    return (await client._session.request("GET", path)).data


async def test_get_retries_502_then_succeeds(
    client: MsgFlashClient, msgflash_emulator: Emulator
) -> None:
    msgflash_emulator.faults.add(Fault.error(502, body=b"<html>Bad Gateway</html>"), times=2)
    data = await _get(client)
    assert isinstance(data, dict) and "contacts" in data
    assert _hits(msgflash_emulator, "GET", CONTACTS) == 3


async def test_non_json_502_raises_server_error_after_retries(
    client: MsgFlashClient, msgflash_emulator: Emulator
) -> None:
    html = b"<html><body><h1>502 Bad Gateway</h1>nginx</body></html>"
    msgflash_emulator.faults.add(Fault.error(502, body=html), times=None)
    with pytest.raises(exc.ServerError) as info:
        await _get(client)
    assert info.value.status == 502 and info.value.code is None
    assert "502 Bad Gateway" in info.value.message
    assert _hits(msgflash_emulator, "GET", CONTACTS) == 1 + FAST_RETRY.max_retries


async def test_get_retries_a_dropped_connection(
    client: MsgFlashClient, msgflash_emulator: Emulator
) -> None:
    msgflash_emulator.faults.add(Fault.drop(after_handler=True), method="GET", times=1)
    await _get(client)
    assert _hits(msgflash_emulator, "GET", CONTACTS) == 2


async def test_sent_post_is_never_repeated(
    client: MsgFlashClient, msgflash_emulator: Emulator
) -> None:
    ids = msgflash_emulator.seed_contacts(3)
    path = "/api/v1/contacts/bulk-delete"
    msgflash_emulator.faults.add(Fault.drop(after_handler=True), method="POST", path=path)
    with pytest.raises(exc.ConnectionLostError) as info:
        await client._session.request("POST", path, json={"contactIds": ids})
    assert info.value.request_sent
    assert _hits(msgflash_emulator, "POST", path) == 1
    # The server did process it: the contacts are gone, and the client still works.
    assert (await _get(client))["total"] == 0  # type: ignore[index]


async def test_post_5xx_is_not_retried(client: MsgFlashClient, msgflash_emulator: Emulator) -> None:
    msgflash_emulator.faults.add(Fault.error(503), method="POST")
    with pytest.raises(exc.ServerError):
        await client._session.request("POST", CONTACTS, json={"name": "a", "phone": "+33612345678"})
    assert _hits(msgflash_emulator, "POST", CONTACTS) == 1


async def test_rate_limit_429_is_retried_even_for_post(
    client: MsgFlashClient, msgflash_emulator: Emulator
) -> None:
    msgflash_emulator.faults.add(Fault.rate_limited(retry_after=0.01), method="POST")
    response = await client._session.request(
        "POST", CONTACTS, json={"name": "a", "phone": "+33612345678"}
    )
    assert response.status == 201
    assert _hits(msgflash_emulator, "POST", CONTACTS) == 2


async def test_retry_after_is_waited_out(
    client: MsgFlashClient, msgflash_emulator: Emulator
) -> None:
    # The client's own backoff is ~10 ms: only the header explains a longer wait.
    msgflash_emulator.faults.add(Fault.error(503, headers={"Retry-After": "0.3"}))
    started = time.monotonic()
    await _get(client)
    assert time.monotonic() - started >= 0.3
    assert _hits(msgflash_emulator, "GET", CONTACTS) == 2


async def test_retry_after_beyond_the_cap_raises_at_once(
    client: MsgFlashClient, msgflash_emulator: Emulator
) -> None:
    msgflash_emulator.faults.add(Fault.rate_limited(retry_after=3600), times=None)
    with pytest.raises(exc.RateLimitError) as info:
        await _get(client)
    assert info.value.headers["Retry-After"] == "3600"
    assert _hits(msgflash_emulator, "GET", CONTACTS) == 1


@pytest.mark.parametrize(
    "code", ["MONTHLY_API_REQUEST_QUOTA_EXCEEDED", "MONTHLY_OUTBOUND_QUOTA_EXCEEDED"]
)
async def test_quota_errors_are_never_retried(
    client: MsgFlashClient, msgflash_emulator: Emulator, code: str
) -> None:
    msgflash_emulator.faults.add(Fault.error(429, code), times=None)
    with pytest.raises(exc.QuotaExceededError):
        await _get(client)
    assert _hits(msgflash_emulator, "GET", CONTACTS) == 1


async def test_4xx_is_not_retried(client: MsgFlashClient, msgflash_emulator: Emulator) -> None:
    with pytest.raises(exc.NotFoundError) as info:
        await _get(client, api_path("contacts", "missing"))
    assert info.value.status == 404 and info.value.code == "NOT_FOUND"
    assert _hits(msgflash_emulator, "GET", "/api/v1/contacts/missing") == 1


async def test_per_attempt_timeout(msgflash_emulator: Emulator) -> None:
    msgflash_emulator.faults.add(Fault.delay(5.0), times=None)
    async with MsgFlashClient(
        msgflash_emulator.api_key,
        base_url=msgflash_emulator.base_url,
        rate_limit=None,
        timeout=0.2,
        max_retries=0,
    ) as client:
        with pytest.raises(exc.RequestTimeoutError):
            await _get(client)


async def test_deadline_bounds_the_whole_call(msgflash_emulator: Emulator) -> None:
    msgflash_emulator.faults.add(Fault.error(503), times=None)
    async with MsgFlashClient(
        msgflash_emulator.api_key,
        base_url=msgflash_emulator.base_url,
        rate_limit=None,
        deadline=0.3,
        max_retries=RetryPolicy(max_retries=100, backoff_base=0.05, backoff_max=0.05),
    ) as client:
        with pytest.raises(exc.DeadlineExceededError):
            await _get(client)


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_refused_connection_is_retried_even_for_post(
    caplog: pytest.LogCaptureFixture,
) -> None:
    key = "msgf_live_" + "1" * 64
    caplog.set_level(logging.DEBUG, logger="msgflash_async")
    async with MsgFlashClient(
        key, base_url=f"http://127.0.0.1:{_dead_port()}", rate_limit=None, max_retries=FAST_RETRY
    ) as client:
        with pytest.raises(exc.ConnectError) as info:
            await client._session.request("POST", CONTACTS, json={})
    assert not info.value.request_sent
    attempts = [
        r for r in caplog.records if r.name == "msgflash_async" and "POST" in r.getMessage()
    ]
    assert len(attempts) == 1 + FAST_RETRY.max_retries


async def test_one_debug_line_per_attempt_without_the_key(
    client: MsgFlashClient, msgflash_emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="msgflash_async")
    msgflash_emulator.faults.add(Fault.error(502), times=1)
    await _get(client)
    lines = [r.getMessage() for r in caplog.records if r.name == "msgflash_async"]
    assert len(lines) == 2
    assert "GET /api/v1/contacts -> 502 (attempt 1" in lines[0]
    assert "GET /api/v1/contacts -> 200 (attempt 2" in lines[1]
    assert all(msgflash_emulator.api_key not in line for line in lines)


async def test_wrong_shape_success_body_is_a_decode_error(
    client: MsgFlashClient, msgflash_emulator: Emulator
) -> None:
    msgflash_emulator.faults.add(Fault.body({"unexpected": 1}))
    with pytest.raises(exc.DecodeError):
        await _get(client)


async def test_bad_key_is_authentication_error(msgflash_emulator: Emulator) -> None:
    async with MsgFlashClient(
        "msgf_live_" + "f" * 64, base_url=msgflash_emulator.base_url, rate_limit=None
    ) as client:
        with pytest.raises(exc.AuthenticationError) as info:
            await _get(client)
    assert info.value.status == 401
    assert "f" * 64 not in str(info.value) and "f" * 64 not in repr(info.value)


async def test_team_key_with_team_id(msgflash_emulator: Emulator) -> None:
    async with MsgFlashClient(
        msgflash_emulator.team_key,
        team_id=msgflash_emulator.team_id,
        base_url=msgflash_emulator.base_url,
        rate_limit=None,
    ) as client:
        assert "contacts" in await _get(client)  # type: ignore[operator]


async def test_lifecycle_lazy_open_idempotent_close_and_use_after_close(
    msgflash_emulator: Emulator,
) -> None:
    client = MsgFlashClient(msgflash_emulator.api_key, base_url=msgflash_emulator.base_url)
    assert "closed" not in repr(client)
    await _get(client)  # no `async with`: the pool opens lazily in the running loop
    await client.aclose()
    await client.aclose()
    assert client.closed
    with pytest.raises(exc.ClientClosedError):
        await _get(client)


async def test_caller_session_is_used_and_never_closed(msgflash_emulator: Emulator) -> None:
    async with aiohttp.ClientSession() as http:
        async with MsgFlashClient(
            msgflash_emulator.api_key, base_url=msgflash_emulator.base_url, session=http
        ) as client:
            await _get(client)
        assert not http.closed


async def test_caller_session_still_gets_the_client_timeout(msgflash_emulator: Emulator) -> None:
    # The caller's session has aiohttp's 5-minute default; ours must apply.
    msgflash_emulator.faults.add(Fault.delay(5.0), times=None)
    async with (
        aiohttp.ClientSession() as http,
        MsgFlashClient(
            msgflash_emulator.api_key,
            base_url=msgflash_emulator.base_url,
            session=http,
            timeout=0.2,
            max_retries=0,
        ) as client,
    ):
        with pytest.raises(exc.RequestTimeoutError):
            await _get(client)


async def test_headers_on_the_wire() -> None:
    seen: list[dict[str, str]] = []

    async def echo(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.json_response({"data": {}})

    async with (
        serve_handler(echo) as base_url,
        MsgFlashClient("msgf_team_abc", team_id="team-1", base_url=base_url) as client,
    ):
        await client._session.request("POST", CONTACTS, json={"a": 1})
    headers = seen[0]
    assert headers["x-api-key"] == "msgf_team_abc" and headers["X-Team-Id"] == "team-1"
    assert "Authorization" not in headers
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith("msgflash-async/")
    assert "aiohttp/" in headers["User-Agent"] and "Python/" in headers["User-Agent"]


async def test_client_side_limiter_keeps_the_server_happy() -> None:
    async with Emulator(rate_limit=10) as emu:
        # 10 in 0.9 s at the server: arrival jitter on a loaded machine is tolerated,
        # while 15 calls with no client-side limiter would draw 5 x 429.
        emu.settings.rate_window = 0.9
        async with (
            MsgFlashClient(emu.api_key, base_url=emu.base_url) as client,
            anyio.create_task_group() as tg,
        ):
            for _ in range(15):
                tg.start_soon(_get, client)
        assert emu.rate_limited_count == 0
        assert emu.max_requests_in_any_window(0.9) <= 10
