"""Suite-wide guards: asyncio only, no leaked sessions, no secret in any log or error.

Every test runs under three watchers:
- the event loop's exception handler fails the test on aiohttp's
  "Unclosed client session" / "Unclosed connector" reports (ResourceWarnings
  are errors through ``filterwarnings`` in pyproject.toml);
- a root log handler at DEBUG sees every record the SDK and the emulator
  emit, and fails the test if a record carries an API key, a team id or a
  webhook secret;
- every MsgFlashError created is checked the same way (message and repr).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from msgflash_async import MsgFlashClient
from msgflash_async._exceptions import MsgFlashError
from msgflash_async.testing import Emulator

# Key shapes handed out by the emulator and used in tests; webhook secrets
# carry the "whsec_" prefix in the emulator.
SECRET_PATTERN = re.compile(r"msgf_(live|team)_[0-9a-f]{16,}|whsec_[0-9A-Za-z_-]{8,}")


@pytest.fixture
def anyio_backend() -> str:
    # aiohttp runs on asyncio only.
    return "asyncio"


class _SecretWatch(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += repr(record.exc_info[1]) + str(record.exc_info[1])
        if SECRET_PATTERN.search(text):
            self.leaks.append(f"{record.name}: {text[:200]}")


_errors_seen: list[MsgFlashError] = []
_original_init = MsgFlashError.__init__


def _watching_init(self: MsgFlashError, *args: Any, **kwargs: Any) -> None:
    # Subclasses set their attributes after this runs: look at them later.
    _original_init(self, *args, **kwargs)
    _errors_seen.append(self)


def _leaked_errors() -> list[str]:
    texts = (f"{error}|{error!r}|{error.args!r}" for error in _errors_seen)
    return [text[:200] for text in texts if SECRET_PATTERN.search(text)]


MsgFlashError.__init__ = _watching_init  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _no_secret_leaks() -> Iterator[None]:
    watch = _SecretWatch()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(watch)
    root.setLevel(logging.DEBUG)
    _errors_seen.clear()
    try:
        yield
    finally:
        root.removeHandler(watch)
        root.setLevel(previous)
    assert not watch.leaks, f"a secret reached the logs: {watch.leaks}"
    leaked = _leaked_errors()
    _errors_seen.clear()
    assert not leaked, f"a secret reached an exception: {leaked}"


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


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    """An emulator with instant jobs and no rate limit; fails on emulator crashes."""
    async with Emulator(rate_limit=None, job_rate=None, job_start_delay=0.02) as emulator:
        yield emulator
        assert emulator.server_errors == []


@pytest.fixture
async def client(emu: Emulator) -> AsyncIterator[MsgFlashClient]:
    """A client on ``emu`` with client-side limiting off."""
    async with MsgFlashClient(emu.api_key, base_url=emu.base_url, rate_limit=None) as c:
        yield c
