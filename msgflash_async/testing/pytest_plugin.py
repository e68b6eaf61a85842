"""pytest plugin (entry point ``pytest11``): the ``msgflash_emulator`` fixtures.

``msgflash_emulator`` is a running :class:`~msgflash_async.testing.Emulator`
on a free loopback port, fresh for each test. It works under every asyncio
test runner, whichever one runs the test:

- anyio's plugin (``@pytest.mark.anyio``; the default ``anyio_backend`` is asyncio);
- pytest-asyncio in strict mode (``@pytest.mark.asyncio``) or auto mode (no mark).

The emulator must run on the test's own event loop, and each runner only
handles async fixtures it recognises (pytest-asyncio's strict mode ignores a
plain ``@pytest.fixture async def``). So the public fixture is synchronous
and asks for the async one that belongs to the runner of the test at hand.

``msgflash_env`` is the same emulator with ``MSGFLASH_API_KEY`` and
``MSGFLASH_BASE_URL`` pointing at it, for code under test that builds its own
``MsgFlashClient()`` from the environment.

The rate limit is off by default so unrelated tests never see a 429; pass
:class:`~msgflash_async.testing.Emulator` options through the marker::

    @pytest.mark.msgflash_emulator(rate_limit=10, job_rate=None)
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from ._server import Emulator

__all__ = ["msgflash_emulator", "msgflash_env", "pytest_configure"]

DEFAULTS: dict[str, Any] = {"rate_limit": None}

# pytest-asyncio runs a fixture on the loop of its ``loop_scope``; ours must share
# the test's loop, so there is one variant per scope a test loop can have.
LOOP_SCOPES = ("function", "class", "module", "package", "session")

NO_RUNNER = (
    "msgflash_emulator needs an async test run by anyio's pytest plugin "
    "(@pytest.mark.anyio) or by pytest-asyncio (@pytest.mark.asyncio, or "
    "asyncio_mode = auto): the emulator serves on the test's event loop."
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "msgflash_emulator(**options): Emulator options for the msgflash_emulator fixture",
    )


async def _serve(request: pytest.FixtureRequest) -> AsyncIterator[Emulator]:
    options = dict(DEFAULTS)
    marker = request.node.get_closest_marker("msgflash_emulator")
    if marker is not None:
        options.update(marker.kwargs)
    async with Emulator(**options) as emulator:
        yield emulator


@pytest.fixture
async def _msgflash_emulator_anyio(request: pytest.FixtureRequest) -> AsyncIterator[Emulator]:
    async for emulator in _serve(request):
        yield emulator


def _asyncio_fixture(scope: str) -> Callable[..., Any] | None:
    try:
        import pytest_asyncio
    except ImportError:
        return None

    name = f"_msgflash_emulator_asyncio_{scope}"

    @pytest_asyncio.fixture(loop_scope=scope, name=name)  # type: ignore[call-overload, misc, untyped-decorator, unused-ignore]
    async def serve(request: pytest.FixtureRequest) -> AsyncIterator[Emulator]:
        async for emulator in _serve(request):
            yield emulator

    fixture: Callable[..., Any] = serve
    return fixture


for _scope in LOOP_SCOPES:
    _fixture = _asyncio_fixture(_scope)
    if _fixture is not None:
        globals()[f"_msgflash_emulator_asyncio_{_scope}"] = _fixture


def _asyncio_loop_scope(request: pytest.FixtureRequest) -> str | None:
    """The loop scope pytest-asyncio runs this test in, or None if it does not run it."""
    if not request.config.pluginmanager.has_plugin("asyncio"):
        return None
    # Auto mode marks every coroutine test at collection, so the mark tells in both modes.
    marker = request.node.get_closest_marker("asyncio")
    if marker is None:
        return None
    if marker.kwargs.get("loop_scope"):
        return str(marker.kwargs["loop_scope"])
    scope = request.config.getini("asyncio_default_test_loop_scope")
    return str(scope or "function")


@pytest.fixture
def msgflash_emulator(request: pytest.FixtureRequest) -> Emulator:
    """A running :class:`~msgflash_async.testing.Emulator` on a free loopback port."""
    test = getattr(request.node, "function", None)
    if test is None or not inspect.iscoroutinefunction(test):
        raise pytest.UsageError(NO_RUNNER)
    if "anyio_backend" in request.fixturenames:
        backend = request.getfixturevalue("anyio_backend")
        name = backend if isinstance(backend, str) else backend[0]
        if name != "asyncio":
            pytest.skip(f"aiohttp (and so the emulator) runs on asyncio only, not {name}")
        emulator: Emulator = request.getfixturevalue("_msgflash_emulator_anyio")
        return emulator
    scope = _asyncio_loop_scope(request)
    if scope is None:
        raise pytest.UsageError(NO_RUNNER)
    emulator = request.getfixturevalue(f"_msgflash_emulator_asyncio_{scope}")
    return emulator


@pytest.fixture
def msgflash_env(msgflash_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """``msgflash_emulator``, with ``MSGFLASH_*`` variables pointing a client at it."""
    monkeypatch.setenv("MSGFLASH_API_KEY", msgflash_emulator.api_key)
    monkeypatch.setenv("MSGFLASH_BASE_URL", msgflash_emulator.base_url)
    monkeypatch.delenv("MSGFLASH_TEAM_ID", raising=False)
    return msgflash_emulator
