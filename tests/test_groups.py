"""client.groups against the emulator over loopback."""

from __future__ import annotations

import pytest

from msgflash_async._client import MsgFlashClient
from msgflash_async._exceptions import NotFoundError, PlanLimitError, ValidationError
from msgflash_async.models.contacts import AddMembersResult, ContactGroup, RemoveMembersResult
from msgflash_async.testing import Emulator

pytestmark = pytest.mark.anyio

FAST = 0.02


async def test_create_get_update_delete(client: MsgFlashClient) -> None:
    group = await client.groups.create(name="VIP", description="Best customers", color="#25D366")
    assert isinstance(group, ContactGroup)
    assert (group.name, group.description, group.color, group.contact_count) == (
        "VIP",
        "Best customers",
        "#25D366",
        0,
    )
    assert (await client.groups.get(group.id)).name == "VIP"
    updated = await client.groups.update(group.id, color="#fff")
    assert (updated.color, updated.name, updated.description) == ("#fff", "VIP", "Best customers")
    await client.groups.delete(group.id)
    with pytest.raises(NotFoundError):
        await client.groups.get(group.id)


async def test_group_cap_is_a_plan_limit(emu: Emulator, client: MsgFlashClient) -> None:
    emu.settings.max_contact_groups = 1
    await client.groups.create(name="One")
    with pytest.raises(PlanLimitError) as info:
        await client.groups.create(name="Two")
    assert info.value.code == "MAX_CONTACT_GROUPS_REACHED"


async def test_bad_arguments_are_refused_before_any_request(
    emu: Emulator, client: MsgFlashClient
) -> None:
    group_id = emu.seed_group("G")
    before = len(emu.requests)
    with pytest.raises(ValidationError, match="color"):
        await client.groups.create(name="X", color="green")
    with pytest.raises(ValidationError, match="color"):
        await client.groups.update(group_id, color="#12345")
    with pytest.raises(ValidationError):
        await client.groups.update(group_id)
    with pytest.raises(ValidationError, match="search"):
        client.groups.list(search="")
    with pytest.raises(ValidationError, match="limit"):
        client.groups.list_members(group_id, limit=0)
    with pytest.raises(ValidationError, match="contact_ids"):
        client.groups.add_members(group_id, [])
    with pytest.raises(ValidationError, match="contact_ids"):
        client.groups.remove_members(group_id, "one-id")
    assert len(emu.requests) == before


async def test_list_and_search(emu: Emulator, client: MsgFlashClient) -> None:
    for i in range(120):
        emu.seed_group(f"Group {i}", description="north" if i % 2 else "south")
    assert len([g async for g in client.groups.list()]) == 120
    north = [g async for g in client.groups.list(search="north")]
    assert len(north) == 60 and all(g.description == "north" for g in north)
    page = await client.groups.list(limit=7)
    assert len(page.items) == 7 and page.total == 120


async def test_members_list_and_search(emu: Emulator, client: MsgFlashClient) -> None:
    awa = emu.seed_contacts(3, name_prefix="Awa")
    bob = emu.seed_contacts(3, name_prefix="Bob")
    group_id = emu.seed_group("G", contact_ids=[*awa, *bob])
    members = {c.id async for c in client.groups.list_members(group_id, limit=2)}
    assert members == {*awa, *bob}
    found = {c.id async for c in client.groups.list_members(group_id, search="bob")}
    assert found == set(bob)


async def test_add_and_remove_members_sync(emu: Emulator, client: MsgFlashClient) -> None:
    ids = emu.seed_contacts(5)
    group_id = emu.seed_group("G", contact_ids=ids[:1])
    added = await client.groups.add_members(group_id, [*ids, "ghost"], poll_interval=FAST)
    assert added == AddMembersResult(added=4, already_in_group=1, not_found=1, total=6)
    removed = await client.groups.remove_members(group_id, [ids[0], "ghost"])
    assert removed == RemoveMembersResult(removed=1, not_in_group=1)
    delete = [r for r in emu.requests if r.method == "DELETE"][-1]
    assert delete.json == {"contactIds": [ids[0], "ghost"]}  # DELETE with a JSON body


async def test_add_and_remove_members_as_jobs(emu: Emulator, client: MsgFlashClient) -> None:
    ids = emu.seed_contacts(150)
    group_id = emu.seed_group("G", contact_ids=ids[:10])
    op = client.groups.add_members(group_id, [*ids, "ghost"], poll_interval=FAST)
    handle = await op.submit()
    assert handle.job_id is not None
    added = await handle
    assert added == AddMembersResult(added=140, already_in_group=10, not_found=1, total=151)

    removed = await client.groups.remove_members(
        group_id, [*ids[:120], "ghost"], poll_interval=FAST
    )
    assert removed == RemoveMembersResult(removed=120, not_in_group=1)
    assert (await client.groups.get(group_id)).contact_count == 30
