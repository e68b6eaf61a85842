"""The API key and the team id never show: not in reprs, errors, nor tracebacks.

tests/conftest.py already fails any test whose log records or MsgFlashError
messages carry a key-shaped string. This file adds the objects a user prints
or an error tracker serialises: the client, its config and session, a
Response, the request headers, every error a failed call raises, and that
error's traceback formatted *with the local variables of every frame*, the
chained aiohttp exceptions included.
"""

from __future__ import annotations

import socket
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from msgflash_async import _exceptions as exc
from msgflash_async._client import MsgFlashClient
from msgflash_async._config import RetryPolicy
from msgflash_async._session import Response
from msgflash_async.testing import Emulator, Fault

pytestmark = pytest.mark.anyio

FAST_RETRY = RetryPolicy(max_retries=1, backoff_base=0.01, backoff_max=0.01)
WRONG_KEY = "msgf_live_" + "e" * 64


def secrets_of(emu: Emulator) -> list[str]:
    return [emu.api_key, emu.team_key, emu.team_id, WRONG_KEY]


def assert_hidden(text: str, emu: Emulator) -> None:
    for secret in secrets_of(emu):
        assert secret not in text


def everything_about(error: BaseException) -> str:
    """What a user or an error tracker may print of an exception."""
    formatted = traceback.TracebackException.from_exception(error, capture_locals=True)
    return "\n".join(
        [str(error), repr(error), repr(error.args), "".join(formatted.format())]
    )


async def failure(call: Callable[[], Awaitable[Any]]) -> BaseException:
    """The error ``call`` raises, caught one frame away from the test's locals."""
    try:
        await call()
    except exc.MsgFlashError as error:
        return error
    raise AssertionError("the call did not fail")


@pytest.fixture
async def team_client(msgflash_emulator: Emulator) -> AsyncIterator[MsgFlashClient]:
    # A team client sends both secrets: the key and the X-Team-Id.
    async with MsgFlashClient(
        msgflash_emulator.team_key,
        team_id=msgflash_emulator.team_id,
        base_url=msgflash_emulator.base_url,
        rate_limit=None,
        retry=FAST_RETRY,
        timeout=0.2,
    ) as client:
        yield client


async def test_reprs_never_show_the_key_or_team_id(
    team_client: MsgFlashClient, msgflash_emulator: Emulator
) -> None:
    await team_client.contacts.list(limit=1)  # the pool and its headers exist
    session = team_client._session
    shown = [
        repr(team_client), str(team_client), repr(team_client.config), str(team_client.config),
        repr(session), str(session), repr(session._headers), str(session._headers),
        repr(session._json_headers), repr(vars(session)), repr(Response(200, {"a": 1})),
        repr(team_client.contacts.__dict__),
    ]
    assert_hidden("\n".join(shown), msgflash_emulator)


async def test_a_401_error_and_its_traceback_never_show_the_key(
    msgflash_emulator: Emulator,
) -> None:
    async with MsgFlashClient(
        WRONG_KEY, base_url=msgflash_emulator.base_url, rate_limit=None
    ) as client:
        for call in (
            lambda: client.contacts.list(),
            lambda: client.contacts.create(name="Ada", phone="+33612345678"),
        ):
            error = await failure(call)
            assert isinstance(error, exc.AuthenticationError)
            assert_hidden(everything_about(error), msgflash_emulator)


FAULTS = {
    "drop": (Fault.drop(), exc.ConnectionLostError),
    "truncate": (Fault.truncate(), exc.ConnectionLostError),
    "slow": (Fault.delay(2.0), exc.RequestTimeoutError),
    "502": (Fault.error(502, body=b"<html>"), exc.ServerError),
}


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_transport_and_server_errors_never_show_secrets_in_tracebacks(
    team_client: MsgFlashClient, msgflash_emulator: Emulator, fault: str, method: str
) -> None:
    injected, expected = FAULTS[fault]
    msgflash_emulator.faults.add(injected, times=None)
    if method == "GET":
        error = await failure(lambda: team_client.contacts.list())
    else:
        error = await failure(lambda: team_client.contacts.create(name="A", phone="+33612345678"))
    assert isinstance(error, expected)
    assert_hidden(everything_about(error), msgflash_emulator)


async def test_deadline_error_never_shows_secrets_in_its_traceback(
    msgflash_emulator: Emulator,
) -> None:
    msgflash_emulator.faults.add(Fault.delay(2.0), times=None)
    async with MsgFlashClient(
        msgflash_emulator.team_key,
        team_id=msgflash_emulator.team_id,
        base_url=msgflash_emulator.base_url,
        rate_limit=None,
        deadline=0.1,
    ) as client:
        error = await failure(lambda: client.contacts.list())
    assert isinstance(error, exc.DeadlineExceededError)
    text = everything_about(error)
    # The chained exceptions are there, only their frames are not.
    assert_hidden(text, msgflash_emulator)
    assert_hidden(repr(error.__context__), msgflash_emulator)


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_connect_error_never_shows_the_key_in_its_traceback(
    msgflash_emulator: Emulator,
) -> None:
    async with MsgFlashClient(
        msgflash_emulator.api_key,
        base_url=f"http://127.0.0.1:{_dead_port()}",
        rate_limit=None,
        retry=FAST_RETRY,
    ) as client:
        error = await failure(lambda: client.contacts.list())
    assert isinstance(error, exc.ConnectError) and error.__cause__ is not None
    assert_hidden(everything_about(error), msgflash_emulator)


async def test_the_key_still_goes_on_the_wire(
    team_client: MsgFlashClient, msgflash_emulator: Emulator
) -> None:
    """Masking is only for display: the headers sent are the real ones."""
    assert (await team_client.contacts.list(limit=1)).total == 0
    headers = team_client._session._headers
    assert headers["x-api-key"] == msgflash_emulator.team_key
    assert dict(headers)["X-Team-Id"] == msgflash_emulator.team_id
