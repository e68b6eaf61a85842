"""A throwaway redis-server for the fleet benchmarks (or ``MSGFLASH_REDIS_URL``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from msgflash_async.testing._redis_server import run_redis_server


@contextmanager
def redis_server() -> Iterator[str]:
    """A ``redis://`` URL: the given one, or a local redis-server started here."""
    given = os.environ.get("MSGFLASH_REDIS_URL")
    if given:
        yield given
        return
    with run_redis_server() as url:
        yield url
