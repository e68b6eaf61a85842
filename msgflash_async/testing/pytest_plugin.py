"""pytest plugin (entry point ``pytest11``): the ``msgflash_emulator`` fixture.

The fixture is async, so it runs under anyio's pytest plugin: mark tests
``@pytest.mark.anyio`` and provide an ``anyio_backend`` fixture returning
``"asyncio"`` (aiohttp is asyncio-only). Each test gets a fresh emulator.
The rate limit is off by default so unrelated tests never see a 429; pass
:class:`~msgflash_async.testing.Emulator` options through the marker::

    @pytest.mark.msgflash_emulator(rate_limit=10, job_rate=None)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from ._server import Emulator

__all__ = ["msgflash_emulator", "pytest_configure"]

DEFAULTS: dict[str, Any] = {"rate_limit": None}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "msgflash_emulator(**options): Emulator options for the msgflash_emulator fixture",
    )


@pytest.fixture
async def msgflash_emulator(request: pytest.FixtureRequest) -> AsyncIterator[Emulator]:
    """A running :class:`~msgflash_async.testing.Emulator` on a free loopback port."""
    options = dict(DEFAULTS)
    marker = request.node.get_closest_marker("msgflash_emulator")
    if marker is not None:
        options.update(marker.kwargs)
    async with Emulator(**options) as emulator:
        yield emulator
