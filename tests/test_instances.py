"""client.instances against the emulator: list (a plain array), get, state."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from msgflash_async._client import MsgFlashClient
from msgflash_async._exceptions import NotFoundError
from msgflash_async.models.instances import Instance, InstanceStatus
from msgflash_async.testing import Emulator

pytestmark = pytest.mark.anyio

Pair = tuple[Emulator, MsgFlashClient]


@pytest.fixture
async def live() -> AsyncIterator[Pair]:
    async with (
        Emulator(rate_limit=None) as emu,
        MsgFlashClient(emu.api_key, base_url=emu.base_url, rate_limit=None) as client,
    ):
        yield emu, client


async def test_list_get_state(live: Pair) -> None:
    emu, client = live
    main = emu.workspace().default_instance
    offline = emu.workspace().add_instance(
        "Backup", wa_number="2250715516311", status="disconnected"
    )
    page = await client.instances.list()
    assert [i.id for i in page] == [main.id, offline.id] and not page.has_more
    streamed = [i async for i in client.instances.list()]
    assert streamed == list(page.items)
    assert all(isinstance(i, Instance) for i in streamed)

    got = await client.instances.get(offline.id)
    assert got.name == "Backup" and got.wa_number == "2250715516311"
    assert got.status is InstanceStatus.DISCONNECTED and not got.connected
    assert got.deleted_at is None and got.created_at is not None and got.meta == {}

    state = await client.instances.state(main.id)
    assert state.instance_id == main.id and state.connected
    assert state.provider_state == "open"
    assert (await client.instances.state(offline.id)).status is InstanceStatus.DISCONNECTED


async def test_unknown_instance(live: Pair) -> None:
    _, client = live
    with pytest.raises(NotFoundError):
        await client.instances.get("missing")
    with pytest.raises(NotFoundError):
        await client.instances.state("missing")


async def test_ids_are_quoted_in_the_path(live: Pair) -> None:
    emu, client = live
    with pytest.raises(NotFoundError) as info:
        await client.instances.get("a/b?c")
    # One path segment reached the instance route (not a missing route, no query).
    assert "Instance" in info.value.message
    assert emu.requests[-1].path == "/api/v1/instances/a/b?c" and emu.requests[-1].query == ""
