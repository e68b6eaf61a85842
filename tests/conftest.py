"""Suite-wide guards: asyncio only, no leaked sessions, no secret in any log or error.

Every test runs under two watchers:
- the event loop's exception handler fails the test on aiohttp's
  "Unclosed client session" / "Unclosed connector" reports (ResourceWarnings
  are errors through ``filterwarnings`` in pyproject.toml);
- ``SecretWatch`` fails the test if a secret shows in a log record or an error.

What the watch knows: the literal API key, team key and team id of every
emulator (``EmulatorState``), the secret of every webhook endpoint it mints,
every value wrapped in ``Secret`` (what tests hand the client or a receiver),
and any key-shaped string (``SECRET_PATTERN``).

Where it looks: every record of every logger, propagating or not (it wraps
``Logger.callHandlers``), formatted in full by a plain ``logging.Formatter``
(traceback and chained exceptions included), with its ``extra`` fields; and
every exception the suite turns into text (each MsgFlashError, each exception
a ``pytest.raises`` catches, each one a record carries), walked down its
``__cause__``/``__context__`` chain: message, notes, repr and args of each.
Frame locals are test_secrets.py's job: it formats them for the failures that
matter, while here the caller's own frames would hold the key it passed.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import re
import threading
import traceback
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from types import TracebackType
from typing import Any

import pytest
from redis_server import run_redis_server

from msgflash_async import MsgFlashClient
from msgflash_async._exceptions import MsgFlashError
from msgflash_async._secret import Secret
from msgflash_async.testing import Emulator, EmulatorState
from msgflash_async.testing._webhooks import Endpoint

# Key shapes handed out by the emulator and used in tests; webhook secrets
# carry the "whsec_" prefix in the emulator.
SECRET_PATTERN = re.compile(r"msgf_(live|team)_[0-9a-f]{16,}|whsec_[0-9A-Za-z_-]{8,}")
# Shorter values wrapped in Secret ("s3cret") would match ordinary text.
MIN_SECRET_LENGTH = 8

_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
_FORMATTER = logging.Formatter()


@pytest.fixture
def anyio_backend() -> str:
    # aiohttp runs on asyncio only.
    return "asyncio"


def _text(show: Callable[[Any], object], value: Any) -> str:
    try:
        return str(show(value))
    except Exception as error:  # a broken __repr__ must not break the watch
        return f"<unprintable: {type(error).__name__}>"


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error``, its causes and contexts, and the members of exception groups."""
    seen: set[int] = set()
    stack = [error]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        members = getattr(current, "exceptions", None)  # an exception group's
        if isinstance(members, tuple):
            stack.extend(m for m in members if isinstance(m, BaseException))


def _record_text(record: logging.LogRecord) -> str:
    """The record as a handler would print it, traceback included, plus its extras."""
    shown = copy.copy(record)  # format() caches message and exc_text on the record
    text = _text(_FORMATTER.format, shown)
    extras = (f"{k}={_text(repr, v)}" for k, v in vars(record).items() if k not in _RECORD_FIELDS)
    return "\n".join([text, *extras])


class SecretWatch:
    """Known secrets, and the places the suite showed one of them."""

    def __init__(self) -> None:
        # Secrets known outside any test (module fixtures, import-time constants)
        # are checked everywhere; those of a test only until it ends, so the
        # search stays a handful of substring tests per record.
        self.lasting: dict[str, str] = {}
        self.current: dict[str, str] = {}
        self.test: str | None = None
        self.leaks: list[str] = []
        # Exceptions are read at the end of the test: subclasses fill their
        # attributes after MsgFlashError.__init__, chains grow as they rise.
        self.pending: list[tuple[BaseException, str]] = []

    def register(self, value: object, what: str) -> None:
        if isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH:
            known = self.current if self.test is not None else self.lasting
            if value not in self.lasting:
                known.setdefault(value, what)

    def begin(self, test: str) -> None:
        self.test, self.current = test, {}

    def end(self) -> None:
        self.test, self.current = None, {}

    def find(self, text: str) -> dict[str, str]:
        """The secrets in ``text``, each with what it is."""
        found = {s: what for s, what in (*self.lasting.items(), *self.current.items()) if s in text}
        for match in SECRET_PATTERN.finditer(text):
            found.setdefault(match.group(), "key-shaped string")
        return found

    def check_text(self, text: str, where: str) -> None:
        found = self.find(text)
        if not found:
            return
        for secret, what in found.items():
            text = text.replace(secret, f"<<{what}>>")
        start = max(text.find("<<") - 120, 0)
        seen = ", ".join(sorted(set(found.values())))
        self.leaks.append(
            f"[{self.test or 'outside any test'}] {seen} in {where}: "
            f"...{text[start : start + 300]!r}"
        )

    def check_record(self, record: logging.LogRecord) -> None:
        where = f"log record {record.name}:{record.levelname} ({record.pathname}:{record.lineno})"
        self.check_text(_record_text(record), where)
        if record.exc_info and record.exc_info[1] is not None:
            self.check_exception(record.exc_info[1], where)

    def check_exception(self, error: BaseException, where: str) -> None:
        # What a traceback prints of each chained exception, and its repr; not
        # the quoted source lines, which are the tests' code, not data.
        for link in _chain(error):
            parts = [
                _text(lambda e: "".join(traceback.format_exception_only(e)), link),
                _text(repr, link),
                _text(repr, link.args),
            ]
            self.check_text("\n".join(parts), f"{where}, {type(link).__qualname__}")

    def check_pending(self) -> None:
        pending, self.pending = self.pending, []
        for error, where in pending:
            self.check_exception(error, where)

    def take_leaks(self) -> list[str]:
        """The leaks seen so far (pending exceptions checked), forgotten here."""
        self.check_pending()
        leaks, self.leaks = self.leaks, []
        return leaks


# -- what the watch sees: wrapped once, at import ---------------------------

WATCH = SecretWatch()
_watches: list[SecretWatch] = [WATCH]  # plus local ones, see ``local_secret_watch``
_busy = threading.local()  # a repr that logs must not recurse into the watch


def _watched_records(call_handlers: Callable[..., None]) -> Callable[..., None]:
    def watching(self: logging.Logger, record: logging.LogRecord) -> None:
        if not getattr(_busy, "on", False):
            _busy.on = True
            try:
                for watch in list(_watches):
                    watch.check_record(record)
            finally:
                _busy.on = False
        call_handlers(self, record)

    return watching


def _registering(
    init: Callable[..., None], fields: Iterable[str], what: str
) -> Callable[..., None]:
    def registering(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        for field in fields:
            WATCH.register(getattr(self, field), f"{what}.{field}")

    return registering


def _remembering(init: Callable[..., None]) -> Callable[..., None]:
    def remembering(self: MsgFlashError, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        WATCH.pending.append((self, "a MsgFlashError created"))

    return remembering


def _watched_raises(exit_: Callable[..., bool]) -> Callable[..., bool]:
    def watching(
        self: Any,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        __tracebackhide__ = True
        if error is not None:
            WATCH.pending.append((error, "an exception caught by pytest.raises"))
        return exit_(self, kind, error, tb)

    return watching


def _install() -> None:
    logging.Logger.callHandlers = _watched_records(logging.Logger.callHandlers)  # type: ignore[method-assign]
    EmulatorState.__init__ = _registering(  # type: ignore[method-assign]
        EmulatorState.__init__, ("api_key", "team_key", "team_id"), "Emulator"
    )
    Endpoint.__init__ = _registering(Endpoint.__init__, ("secret",), "webhook Endpoint")  # type: ignore[method-assign]
    Secret.__init__ = _registering(Secret.__init__, ("_value",), "Secret")  # type: ignore[method-assign]
    MsgFlashError.__init__ = _remembering(MsgFlashError.__init__)  # type: ignore[method-assign]
    from _pytest import raises  # pytest >= 8.4; older ones lose only this source

    for cls in (raises.RaisesExc, raises.RaisesGroup):
        cls.__exit__ = _watched_raises(cls.__exit__)  # type: ignore[method-assign]


_install()


def _assert_no_leaks(when: str) -> None:
    leaks = WATCH.take_leaks()
    assert not leaks, f"a secret was shown {when}:\n" + "\n".join(leaks)


@pytest.fixture(autouse=True)
def _no_secret_leaks(request: pytest.FixtureRequest) -> Iterator[None]:
    _assert_no_leaks(f"outside any test, before {request.node.nodeid}")
    root = logging.getLogger()
    previous = root.level
    root.setLevel(logging.DEBUG)  # loggers left at NOTSET now create every record
    WATCH.begin(request.node.nodeid)
    try:
        yield
        _assert_no_leaks(f"by {request.node.nodeid}")
    finally:
        root.setLevel(previous)
        WATCH.end()


@pytest.fixture
def local_secret_watch() -> Iterator[SecretWatch]:
    """A fresh watch that sees every log record, for tests of the watch itself."""
    watch = SecretWatch()
    _watches.append(watch)
    try:
        yield watch
    finally:
        _watches.remove(watch)


@pytest.fixture
def suite_secret_watch() -> SecretWatch:
    """The watch guarding the whole suite (to check what it registered)."""
    return WATCH


def pytest_sessionfinish(session: pytest.Session) -> None:
    # Module and session fixtures tear down after the last test's check.
    leaks = WATCH.take_leaks()
    if leaks:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            shown = "a secret was shown after the last test:\n" + "\n".join(leaks)
            reporter.write_line(shown, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def _no_unclosed_sessions(request: pytest.FixtureRequest) -> Iterator[None]:
    reports: list[str] = []
    if "anyio_backend" not in request.fixturenames:
        yield
        return
    original = asyncio.BaseEventLoop.call_exception_handler

    def record(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        message = str(context.get("message", ""))
        if "Unclosed" in message:
            reports.append(message)
        original(loop, context)  # type: ignore[arg-type]

    asyncio.BaseEventLoop.call_exception_handler = record  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        asyncio.BaseEventLoop.call_exception_handler = original  # type: ignore[method-assign]
    assert not reports, f"leaked aiohttp resources: {reports}"


# The suite's emulator is the pytest plugin's ``msgflash_emulator``; ``emu`` is
# its short name here, with instant jobs unless a module or test marks other
# options (``@pytest.mark.msgflash_emulator(...)``), failing on emulator crashes.
EMU_OPTIONS: dict[str, Any] = {"rate_limit": None, "job_rate": None, "job_start_delay": 0.02}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "emu" in fixtures and item.get_closest_marker("msgflash_emulator") is None:
            item.add_marker(pytest.mark.msgflash_emulator(**EMU_OPTIONS))


@pytest.fixture
def emu(msgflash_emulator: Emulator) -> Iterator[Emulator]:
    """The plugin's emulator (instant jobs, no rate limit); fails on emulator crashes."""
    yield msgflash_emulator
    assert msgflash_emulator.server_errors == []


@pytest.fixture
async def client(emu: Emulator) -> AsyncIterator[MsgFlashClient]:
    """A client on ``emu`` with client-side limiting off."""
    async with MsgFlashClient(emu.api_key, base_url=emu.base_url, rate_limit=None) as c:
        yield c


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real ``redis-server`` of the suite's own (see tests/redis_server.py)."""
    with run_redis_server() as url:
        yield url


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[Any]:
    """An asyncio Redis client on a flushed database, closed after the test."""
    redis_asyncio = pytest.importorskip("redis.asyncio", reason="pip install -e '.[redis]'")
    client = redis_asyncio.Redis.from_url(redis_url)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()
