"""The API key and the team id never show: not in reprs, errors, nor tracebacks.

tests/conftest.py already fails any test whose log records or errors carry a
known secret or a key-shaped string; the last tests here prove that its watch
sees what it must. This file also adds the objects a user prints
or an error tracker serialises: the client, its config and session, a
Response, the request headers, every error a failed call raises, and that
error's traceback formatted *with the local variables of every frame*, the
chained aiohttp exceptions included.
"""

from __future__ import annotations

import logging
import socket
import sys
import traceback
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pytest

from msgflash_async import _exceptions as exc
from msgflash_async._client import MsgFlashClient
from msgflash_async._config import RetryPolicy
from msgflash_async._session import Response
from msgflash_async.testing import Emulator, Fault
from msgflash_async.webhooks import WebhookReceiver

if TYPE_CHECKING:
    from conftest import SecretWatch

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup  # type: ignore[import-not-found,unused-ignore]

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
    return "\n".join([str(error), repr(error), repr(error.args), "".join(formatted.format())])


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
        repr(team_client),
        str(team_client),
        repr(team_client.config),
        str(team_client.config),
        repr(session),
        str(session),
        repr(session._headers),
        str(session._headers),
        repr(session._json_headers),
        repr(vars(session)),
        repr(Response(200, {"a": 1})),
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


# -- the suite-wide watch (tests/conftest.py) catches what it must ------------
#
# Each hole below once passed silently. A local watch sees every log record
# while the test runs but knows only what the test registers, so the suite's
# watch stays quiet; where the suite's own watch must be the one to catch a
# leak, the test takes the leak back from it.


def _record(message: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord("tests.watch", logging.ERROR, __file__, 1, message, args, exc_info)


def _chained(secret: str) -> RuntimeError:
    """A RuntimeError whose own text is clean, caused by a KeyError naming ``secret``."""
    teams: dict[str, str] = {}
    try:
        try:
            teams[secret]
        except KeyError as missing:
            raise RuntimeError("lookup failed") from missing
    except RuntimeError as error:
        return error
    raise AssertionError("unreachable")


async def test_the_watch_knows_every_secret_an_emulator_mints(
    suite_secret_watch: SecretWatch, msgflash_emulator: Emulator
) -> None:
    async with MsgFlashClient(
        msgflash_emulator.api_key, base_url=msgflash_emulator.base_url, rate_limit=None
    ) as client:
        endpoint = await client.webhooks.create("https://example.com/hooks", ["message.sent"])
    assert endpoint.secret is not None
    whsec = endpoint.secret.reveal()
    found = suite_secret_watch.find(" ".join([*secrets_of(msgflash_emulator), whsec]))
    assert {found[s] for s in (*secrets_of(msgflash_emulator)[:3], whsec)} == {
        "Emulator.api_key",
        "Emulator.team_key",
        "Emulator.team_id",
        "webhook Endpoint.secret",
    }


async def test_a_team_id_in_a_log_line_fails_the_test(
    suite_secret_watch: SecretWatch,
    local_secret_watch: SecretWatch,
    msgflash_emulator: Emulator,
    request: pytest.FixtureRequest,
) -> None:
    team_id = msgflash_emulator.team_id
    assert local_secret_watch.find(team_id) == {}  # a uuid: no key shape to match
    logging.getLogger("tests.watch").debug("switching to team %s", team_id)
    (leak,) = suite_secret_watch.take_leaks()
    assert leak.startswith(f"[{request.node.nodeid}]")
    assert "Emulator.team_id in log record tests.watch:DEBUG" in leak
    assert f"{__file__}:" in leak and team_id not in leak  # where, not the secret again


def test_a_secret_in_a_chained_cause_is_caught(local_secret_watch: SecretWatch) -> None:
    secret = str(uuid.uuid4())
    local_secret_watch.register(secret, "team id")
    error = _chained(secret)
    assert secret not in f"{error}{error!r}"  # the top exception alone looks clean
    local_secret_watch.check_record(_record("send failed", exc=error))
    local_secret_watch.check_exception(error, "an error")
    leaks = local_secret_watch.take_leaks()
    # The formatted record (its traceback prints the cause), the record's exc_info
    # walked down its chain, and the error walked down its chain.
    assert len(leaks) == 3 and all("team id in" in leak for leak in leaks)
    assert any("log record tests.watch:ERROR" in leak and "KeyError" in leak for leak in leaks)
    assert any(
        leak.startswith("[outside any test] team id in an error, KeyError") for leak in leaks
    )


def test_a_secret_in_an_implicit_context_or_a_group_is_caught(
    local_secret_watch: SecretWatch,
) -> None:
    secret = str(uuid.uuid4())
    local_secret_watch.register(secret, "team id")
    try:
        try:
            raise ValueError(f"no team {secret}")
        except ValueError:
            # Not printed, but kept on the error, where an error tracker finds it.
            raise OSError("then the socket closed") from None
    except OSError as error:
        assert error.__suppress_context__
        suppressed = error
    local_secret_watch.check_exception(suppressed, "an error")
    group = BaseExceptionGroup("several", [OSError("clean"), LookupError(secret)])
    local_secret_watch.check_exception(group, "a group")
    leaks = local_secret_watch.take_leaks()
    assert [leak.split(": ")[0] for leak in leaks] == [
        "[outside any test] team id in an error, ValueError",
        "[outside any test] team id in a group, ExceptionGroup",  # its repr shows members
        "[outside any test] team id in a group, LookupError",
    ]


def test_records_of_a_non_propagating_logger_are_seen(
    local_secret_watch: SecretWatch, caplog: pytest.LogCaptureFixture
) -> None:
    secret = str(uuid.uuid4())
    local_secret_watch.register(secret, "team id")
    quiet = logging.getLogger("tests.watch.quiet")  # as uvicorn's dictConfig leaves its loggers
    quiet.propagate = False
    quiet.addHandler(logging.NullHandler())
    try:
        quiet.warning("team %s", secret)
        quiet.info("extra", extra={"team": secret})  # a JSON formatter would print it
    finally:
        quiet.propagate = True
        quiet.handlers.clear()
    assert caplog.records == []  # a handler on the root never saw them
    leaks = local_secret_watch.take_leaks()
    assert [leak.split(" (")[0] for leak in leaks] == [
        "[outside any test] team id in log record tests.watch.quiet:WARNING",
        "[outside any test] team id in log record tests.watch.quiet:INFO",
    ]


async def test_a_foreign_exception_caught_by_pytest_raises_is_checked(
    suite_secret_watch: SecretWatch, msgflash_emulator: Emulator
) -> None:
    with pytest.raises(ValueError):
        raise ValueError(f"unknown team {msgflash_emulator.team_id}")
    (leak,) = suite_secret_watch.take_leaks()
    assert "Emulator.team_id in an exception caught by pytest.raises, ValueError" in leak


def test_a_logged_webhook_secret_given_to_a_receiver_is_caught(
    suite_secret_watch: SecretWatch,
) -> None:
    secret = "not-key-shaped-" + uuid.uuid4().hex  # registered as the receiver wraps it
    WebhookReceiver(secret, None)
    logging.getLogger("tests.watch").info("signing with %s", secret)
    (leak,) = suite_secret_watch.take_leaks()
    assert "Secret._value in log record tests.watch:INFO" in leak
