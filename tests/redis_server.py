"""A real ``redis-server`` for the tests: started on a free loopback port, stopped after.

The suite never fakes Redis for behaviour that crosses processes. Where the
binary is missing the Redis tests skip with a one-line hint, except under
``MSGFLASH_REQUIRE_REDIS=1`` (set by ``.ci/run``), where a missing server fails
them instead: CI must run them for real.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from msgflash_async.testing import _redis_server

REQUIRED = os.environ.get("MSGFLASH_REQUIRE_REDIS") == "1"


@contextmanager
def run_redis_server() -> Iterator[str]:
    """The shared launcher, with a missing binary turned into a skip (or a CI failure)."""
    if _redis_server.redis_server_binary() is None:
        if REQUIRED:
            pytest.fail(_redis_server.MISSING_HINT)
        pytest.skip(_redis_server.MISSING_HINT)
    with _redis_server.run_redis_server() as url:
        yield url
