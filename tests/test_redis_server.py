"""The suite's own redis-server answers, and the fixture hands out a clean database."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.anyio


async def test_redis_server_round_trip(redis_client: Any) -> None:
    await redis_client.set("msgflash:probe", "1")
    assert await redis_client.get("msgflash:probe") == b"1"


async def test_each_test_starts_on_an_empty_database(redis_client: Any) -> None:
    assert await redis_client.dbsize() == 0
