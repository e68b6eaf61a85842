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

import asyncio
import enum
import importlib
import inspect
import io
import logging
import pkgutil
import re
import socket
import sys
import traceback
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import attrs
import pytest
from anyio import fail_after as anyio_fail_after
from rich.console import Console
from rich.traceback import Traceback

import msgflash_async
from msgflash_async import _exceptions as exc
from msgflash_async._client import MsgFlashClient
from msgflash_async._config import RetryPolicy
from msgflash_async._secret import Secret
from msgflash_async._session import Response
from msgflash_async.testing import Emulator, Fault
from msgflash_async.webhooks import WebhookReceiver, sign, verify_and_parse, verify_signature

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


def with_locals(error: BaseException) -> str:
    """``error``'s traceback printed with every frame's locals, by the stdlib and by rich.

    Rich wraps long lines inside its panel, so its output is also given with
    the layout (whitespace, box drawing) taken out: a secret cut in two
    across lines is whole again there.
    """
    plain = traceback.TracebackException.from_exception(error, capture_locals=True)
    out = io.StringIO()
    Console(file=out, width=300, color_system=None).print(
        Traceback.from_exception(
            type(error),
            error,
            error.__traceback__,
            show_locals=True,
            locals_max_length=10_000,
            locals_max_string=10_000,
        )
    )
    fancy = out.getvalue()
    return "\n".join(["".join(plain.format()), fancy, re.sub(r"[\s\u2500-\u257f]", "", fancy)])


def everything_about(error: BaseException) -> str:
    """What a user or an error tracker may print of an exception."""
    return "\n".join([str(error), repr(error), repr(error.args), with_locals(error)])


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
        max_retries=FAST_RETRY,
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
        max_retries=FAST_RETRY,
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


# -- every error path, formatted with locals --------------------------------
#
# A timeout or a cancellation raised while a request is inside aiohttp keeps
# aiohttp's frames, whose locals hold the request headers: their values are
# masked (SecretText), so those frames print nothing secret. Errors the SDK
# raises itself never chain an aiohttp exception carrying ``request_info``,
# a webhook-create reply loses its secret before it is decoded, and every
# entry point that takes a credential masks it before anything can raise.


async def raised(call: Callable[[], Awaitable[Any]]) -> BaseException:
    """Whatever ``call`` raises, cancellation included, caught one frame away from the test."""
    try:
        await call()
    except BaseException as error:  # the test inspects it, never swallows its own cancel
        return error
    raise AssertionError("the call did not fail")


@pytest.fixture
async def slow_team_client(msgflash_emulator: Emulator) -> AsyncIterator[MsgFlashClient]:
    """A team client whose own timeouts never fire first: the caller's do."""
    async with MsgFlashClient(
        msgflash_emulator.team_key,
        team_id=msgflash_emulator.team_id,
        base_url=msgflash_emulator.base_url,
        rate_limit=None,
        max_retries=0,
        timeout=30,
    ) as client:
        yield client


async def _in_flight(emu: Emulator, path: str) -> None:
    """Wait until the emulator has received a request for ``path`` (it is held there)."""
    with anyio_fail_after(5):
        while not any(r.path == path for r in emu.requests):  # noqa: ASYNC110 (a plain list)
            await asyncio.sleep(0.01)


@pytest.mark.parametrize("how", ["asyncio.timeout", "task.cancel"])
async def test_a_timeout_or_cancellation_inside_aiohttp_never_shows_secrets(
    slow_team_client: MsgFlashClient, msgflash_emulator: Emulator, how: str
) -> None:
    client = slow_team_client
    contact = await client.contacts.create(name="Ada", phone="+33612345678")
    path = f"/api/v1/contacts/{contact.id}"
    msgflash_emulator.faults.add(Fault.delay(30.0), method="GET", times=None)

    async def under_timeout() -> None:
        # It expires once the request is held by the server: inside aiohttp.
        async with asyncio.timeout(None) as deadline:

            async def expire_in_flight() -> None:
                await _in_flight(msgflash_emulator, path)
                deadline.reschedule(asyncio.get_running_loop().time())

            helper = asyncio.create_task(expire_in_flight())
            try:
                await client.contacts.get(contact.id)
            finally:
                helper.cancel()

    async def cancelled() -> None:
        task = asyncio.create_task(client.contacts.get(contact.id))
        await _in_flight(msgflash_emulator, path)
        task.cancel()
        await task

    error = await raised(under_timeout if how == "asyncio.timeout" else cancelled)
    assert isinstance(error, TimeoutError if how == "asyncio.timeout" else asyncio.CancelledError)
    text = everything_about(error)
    assert "aiohttp" in text  # the frames of the request in flight are there, locals and all
    assert_hidden(text, msgflash_emulator)


async def test_a_job_wait_timing_out_mid_poll_never_shows_secrets(
    slow_team_client: MsgFlashClient, msgflash_emulator: Emulator
) -> None:
    msgflash_emulator.settings.job_rate = 1.0  # the job outlives the test
    ids = msgflash_emulator.seed_contacts(100, team=True)  # 100 ids: a bulk job
    handle = await slow_team_client.contacts.bulk_delete(ids, poll_interval=0.01).submit()
    assert handle.job_id is not None
    msgflash_emulator.faults.add(Fault.delay(30.0), method="GET", times=None)  # every poll held
    # Polls every 10 ms, each held by the server: the wait expires mid-poll.
    error = await raised(lambda: handle.wait(timeout=1.0))
    assert isinstance(error, TimeoutError)
    text = everything_about(error)
    assert "aiohttp" in text
    assert_hidden(text, msgflash_emulator)


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n{}",
        b"HTTP/1.1 2OO OK\r\n\r\n",
        b"NOT HTTP AT ALL\r\n\r\n",
    ],
    ids=["bad-length", "bad-status", "garbage"],
)
async def test_a_malformed_http_answer_never_chains_the_request_headers(reply: bytes) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(reply)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with MsgFlashClient(
            WRONG_KEY, base_url=f"http://127.0.0.1:{port}", rate_limit=None, max_retries=0
        ) as client:
            error = await failure(lambda: client.contacts.list())
    finally:
        server.close()
        await server.wait_closed()
    assert isinstance(error, exc.TransportError)
    chain = [error.__cause__, error.__context__]
    assert all(link is None or not hasattr(link, "request_info") for link in chain)
    text = everything_about(error)
    assert WRONG_KEY not in text
    assert "RequestInfo" not in text  # the aiohttp exception is in neither message nor chain


WHSEC = "whsec_" + "k" * 32
WEBHOOK_REPLIES = {
    # JSON whose fields do not fit: the converter's DecodeError.
    "misfit": Fault.body({"data": {"id": "wh_1", "secret": WHSEC, "events": "message.sent"}}),
    "bad-secret": Fault.body({"data": {"id": "wh_1", "secret": {"value": WHSEC}}}),
    # Cut short: not JSON at all, the protocol's DecodeError quotes the start.
    "not-json": Fault.error(200, body=b'{"data": {"id": "wh_1", "secret": "' + WHSEC.encode()),
}


@pytest.mark.parametrize("reply", list(WEBHOOK_REPLIES))
async def test_a_webhook_create_reply_that_does_not_decode_never_shows_its_secret(
    msgflash_emulator: Emulator, local_secret_watch: SecretWatch, reply: str
) -> None:
    local_secret_watch.register(WHSEC, "webhook secret")
    msgflash_emulator.faults.add(WEBHOOK_REPLIES[reply], method="POST", path="/api/v1/webhooks")
    async with MsgFlashClient(
        msgflash_emulator.api_key, base_url=msgflash_emulator.base_url, rate_limit=None
    ) as client:
        error = await failure(
            lambda: client.webhooks.create(url="https://example.com/h", events=["message.sent"])
        )
    assert isinstance(error, exc.DecodeError)
    text = everything_about(error)
    assert WHSEC not in text and WHSEC[:16] not in text
    assert_hidden(text, msgflash_emulator)
    assert local_secret_watch.take_leaks() == []


def _configuration_error(build: Callable[[], object]) -> exc.ConfigurationError:
    try:
        build()
    except exc.ConfigurationError as error:
        return error
    raise AssertionError("no ConfigurationError")


@pytest.mark.parametrize("where", ["argument", "environment", "team id"])
async def test_a_configuration_error_never_shows_the_key(
    msgflash_emulator: Emulator, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """A key pasted with its trailing newline: refused, and shown nowhere."""
    url = msgflash_emulator.base_url
    # Held masked here: the lambdas' closures are locals of a frame the error shows.
    key, team = Secret(msgflash_emulator.team_key), Secret(msgflash_emulator.team_id)
    if where == "argument":
        error = _configuration_error(
            lambda: MsgFlashClient(key.reveal() + "\n", team_id=team.reveal(), base_url=url)
        )
    elif where == "environment":
        monkeypatch.setenv("MSGFLASH_API_KEY", key.reveal() + "\n")
        monkeypatch.setenv("MSGFLASH_TEAM_ID", team.reveal())
        error = _configuration_error(lambda: MsgFlashClient(base_url=url))
    else:
        error = _configuration_error(
            lambda: MsgFlashClient(key.reveal(), team_id=f" {team.reveal()}", base_url=url)
        )
    text = everything_about(error)  # formatting it does not crash on the half-built client
    assert "MsgFlashClient" in text and "self = <MsgFlashClient" in text
    assert_hidden(text, msgflash_emulator)


def test_a_refused_redis_limiter_option_never_shows_the_key() -> None:
    from msgflash_async.redis import RedisRateLimiter

    key = Secret(WRONG_KEY)  # masked in this frame, as a caller's settings object would be
    for build in (
        lambda: RedisRateLimiter(object(), key.reveal(), rate=0),
        lambda: RedisRateLimiter.from_url("redis://127.0.0.1:1", key.reveal(), rate=0),
    ):
        try:
            build()
        except ValueError as error:
            assert WRONG_KEY not in everything_about(error)
        else:
            raise AssertionError("no error")


def test_a_webhook_verification_error_never_shows_the_secret(
    local_secret_watch: SecretWatch,
) -> None:
    body = b'{"event": "message.sent"}'
    headers = {"X-MsgFlash-Signature": sign(body, "whsec_" + "o" * 32)}

    def check(call: Callable[[], object]) -> None:
        try:
            call()
        except (exc.WebhookVerificationError, ValueError) as error:
            assert WHSEC not in everything_about(error)
            return
        raise AssertionError("no error")

    local_secret_watch.register(WHSEC, "webhook secret")
    check(lambda: verify_signature(body, headers, WHSEC))
    check(lambda: verify_and_parse(body, headers, [WHSEC, "whsec_" + "p" * 32]))
    check(lambda: WebhookReceiver(WHSEC, None, handler_timeout=-1))
    check(lambda: WebhookReceiver([WHSEC, ""], None))
    assert local_secret_watch.take_leaks() == []


def _own_classes_with_repr() -> list[type]:
    found: dict[str, type] = {}
    for info in pkgutil.walk_packages(msgflash_async.__path__, "msgflash_async."):
        if info.name.endswith(("__main__", ".fastapi")) or ".cli" in info.name:
            continue
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            # attrs writes a repr reading every field; an attrs object is
            # half-built only when a field converter raises in __init__.
            converted = attrs.has(cls) and any(f.converter for f in attrs.fields(cls))
            own = "__repr__" in vars(cls) and (converted or not attrs.has(cls))
            # Enum members are all built with their class.
            checked = own and not issubclass(cls, enum.Enum)
            if cls.__module__ == module.__name__ and checked:
                found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return [found[name] for name in sorted(found)]


@pytest.mark.parametrize("cls", _own_classes_with_repr(), ids=lambda c: c.__qualname__)
def test_every_repr_works_on_a_half_built_object(cls: type) -> None:
    """A constructor that raised leaves ``self`` in its frame: printing it must not fail."""
    try:
        bare = object.__new__(cls)
    except TypeError:
        bare = cls.__new__(cls)  # str subclasses and the like
    assert isinstance(repr(bare), str)


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
        endpoint = await client.webhooks.create(
            url="https://example.com/hooks", events=["message.sent"]
        )
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
