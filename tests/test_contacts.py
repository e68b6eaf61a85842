"""client.contacts against the emulator over loopback."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from msgflash_async._client import MsgFlashClient
from msgflash_async._exceptions import ConflictError, NotFoundError, ValidationError
from msgflash_async.models.contacts import BulkDeleteResult, Contact, ContactSort
from msgflash_async.models.jobs import BulkJobStatus
from msgflash_async.testing import Emulator

pytestmark = pytest.mark.anyio

FAST = 0.02  # poll interval for tests
DEAD_URL = "http://127.0.0.1:9"  # nothing listens: any request would fail to connect


def queries(emu: Emulator, path: str) -> list[dict[str, list[str]]]:
    return [parse_qs(r.query) for r in emu.requests if r.path == path and r.method == "GET"]


async def test_create_get_update_delete(client: MsgFlashClient) -> None:
    created = await client.contacts.create(
        name="Awa", phone="+2250715516311", tags=["vip", "lead"], meta={"city": "Abidjan"}
    )
    assert isinstance(created, Contact)
    assert (created.name, created.phone) == ("Awa", "+2250715516311")
    fetched = await client.contacts.get(created.id)
    assert fetched.tags == ("vip", "lead") and fetched.meta == {"city": "Abidjan"}
    assert fetched.created_at is not None

    # PUT replaces tags and meta wholesale; fields not given stay.
    updated = await client.contacts.update(created.id, tags=["customer"], meta={})
    assert updated.tags == ("customer",) and updated.meta == {}
    assert updated.name == "Awa" and updated.phone == "+2250715516311"
    renamed = await client.contacts.update(created.id, name="Awa K.", phone="+33612345678")
    assert (renamed.name, renamed.phone, renamed.tags) == ("Awa K.", "+33612345678", ("customer",))

    await client.contacts.delete(created.id)
    with pytest.raises(NotFoundError):
        await client.contacts.get(created.id)


async def test_duplicate_phone_is_a_conflict(client: MsgFlashClient) -> None:
    await client.contacts.create(name="A", phone="+33612345678")
    with pytest.raises(ConflictError):
        await client.contacts.create(name="B", phone="+33612345678")


async def test_bad_arguments_are_refused_before_any_request(
    emu: Emulator, client: MsgFlashClient
) -> None:
    [contact_id] = emu.seed_contacts(1)
    before = len(emu.requests)
    with pytest.raises(ValidationError, match="phone"):
        await client.contacts.create(name="A", phone="0612345678")
    with pytest.raises(ValidationError, match="phone"):
        await client.contacts.update(contact_id, phone="+33 6 12 34 56 78")
    with pytest.raises(ValidationError, match="name"):
        await client.contacts.create(name="", phone="+33612345678")
    with pytest.raises(ValidationError, match="tags"):
        await client.contacts.create(name="A", phone="+33612345678", tags="vip")
    with pytest.raises(ValidationError):
        await client.contacts.update(contact_id)  # nothing to change
    with pytest.raises(ValidationError, match="search"):
        client.contacts.list(search="x" * 101)
    with pytest.raises(ValidationError, match="limit"):
        client.contacts.list(limit=101)
    with pytest.raises(ValidationError, match="contact_ids"):
        client.contacts.bulk_delete([])
    with pytest.raises(ValidationError, match="id"):
        await client.contacts.get("..")
    assert len(emu.requests) == before


async def test_validation_needs_no_server() -> None:
    async with MsgFlashClient("msgf_live_" + "0" * 64, base_url=DEAD_URL) as dead:
        with pytest.raises(ValidationError):
            await dead.contacts.create(name="A", phone="+0612345678")
        with pytest.raises(ValidationError):
            dead.contacts.bulk_delete(["a", ""])
        with pytest.raises(ValidationError):
            dead.contacts.list(search="")


async def test_list_streams_every_contact_in_pages_of_100(
    emu: Emulator, client: MsgFlashClient
) -> None:
    ids = emu.seed_contacts(250)
    emu.clear_requests()
    seen = [c.id async for c in client.contacts.list()]
    assert seen == ids[::-1]  # newest first
    sent = queries(emu, "/api/v1/contacts")
    assert len(sent) == 3
    assert all(q["limit"] == ["100"] and q["sort"] == ["createdAt_desc"] for q in sent)


async def test_await_gives_the_first_page(emu: Emulator, client: MsgFlashClient) -> None:
    emu.seed_contacts(30)
    page = await client.contacts.list(limit=10)
    assert len(page.items) == 10 and page.has_more and page.total == 30


async def test_search_and_sort(emu: Emulator, client: MsgFlashClient) -> None:
    emu.seed_contacts(5, name_prefix="Zed")
    emu.seed_contacts(5, name_prefix="Awa")
    found = [c.name async for c in client.contacts.list(search="awa", sort=ContactSort.NAME_ASC)]
    assert found == sorted(found) and len(found) == 5
    assert all(name.startswith("Awa") for name in found)
    names = [c.name async for c in client.contacts.list(sort="name_asc", max_items=6)]
    assert names == sorted(names) and names[0].startswith("Awa") and len(names) == 6


async def test_resume_from_a_cursor(emu: Emulator, client: MsgFlashClient) -> None:
    ids = emu.seed_contacts(45)
    first = await client.contacts.list(limit=20)
    assert first.next_cursor is not None
    rest = [c.id async for c in client.contacts.list(limit=20, cursor=first.next_cursor)]
    assert [c.id for c in first.items] + rest == ids[::-1]


async def test_resume_token_keeps_the_sort(emu: Emulator, client: MsgFlashClient) -> None:
    emu.seed_contacts(30)
    everything = [c.id async for c in client.contacts.list(sort="name_asc")]
    paginator = client.contacts.list(sort="name_asc", limit=10)
    head: list[str] = []
    async for page in paginator.pages():
        head.extend(c.id for c in page.items)
        break
    token = paginator.resume_token
    assert token is not None

    emu.clear_requests()
    tail = [c.id async for c in client.contacts.list(resume=token)]
    assert head + tail == everything
    assert all(q["sort"] == ["name_asc"] for q in queries(emu, "/api/v1/contacts"))

    before = len(emu.requests)
    with pytest.raises(ValidationError, match="sort"):
        client.contacts.list(resume=token, sort="createdAt_desc")
    with pytest.raises(ValidationError, match="resume"):
        client.contacts.list(resume=token, cursor="abc")
    assert len(emu.requests) == before


async def test_groups_of_a_contact(emu: Emulator, client: MsgFlashClient) -> None:
    [contact_id] = emu.seed_contacts(1)
    emu.seed_group("VIP", contact_ids=[contact_id])
    emu.seed_group("Other")
    groups = [g.name async for g in client.contacts.list_groups(contact_id)]
    assert groups == ["VIP"]


async def test_bulk_delete_sync_and_async_give_the_same_result_type(
    emu: Emulator, client: MsgFlashClient
) -> None:
    few = emu.seed_contacts(10)
    small = await client.contacts.bulk_delete([*few, "missing-1"], poll_interval=FAST)
    assert small == BulkDeleteResult(
        requested=11, deleted=10, not_found=1, not_found_ids=("missing-1",)
    )

    many = emu.seed_contacts(150)
    op = client.contacts.bulk_delete([*many, "missing-2"], poll_interval=FAST)
    handle = await op.submit()
    assert handle.job_id is not None
    big = await op
    assert isinstance(big, BulkDeleteResult)
    assert (big.requested, big.deleted, big.not_found) == (151, 150, 1)
    assert len(emu.workspace().contacts) == 0


async def test_sync_handle_has_no_job_id(emu: Emulator, client: MsgFlashClient) -> None:
    ids = emu.seed_contacts(3)
    handle = await client.contacts.bulk_delete(ids, poll_interval=FAST).submit()
    assert handle.job_id is None and handle.done
    assert (await handle).deleted == 3


async def test_more_than_10000_ids_are_split_and_merged(
    emu: Emulator, client: MsgFlashClient
) -> None:
    real = emu.seed_contacts(20)
    fake = [f"no-such-contact-{i}" for i in range(20_100)]
    emu.clear_requests()
    op = client.contacts.bulk_delete([*real, *fake], poll_interval=FAST)
    handle = await op.submit()
    last = None
    async for snapshot in handle.progress():
        assert snapshot.requested == 20_120
        last = snapshot
    assert last is not None and last.status is BulkJobStatus.DONE and last.percent == 100
    result = await handle
    assert result == BulkDeleteResult(requested=20_120, deleted=20, not_found=20_100)
    assert len(handle.job_ids) == 3
    posts = [r for r in emu.requests if r.method == "POST"]
    assert [len(r.json["contactIds"]) for r in posts] == [10_000, 10_000, 120]
