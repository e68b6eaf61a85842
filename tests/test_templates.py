"""client.templates against the emulator, and the list shapes the docs left open."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp import web

from msgflash_async._client import MsgFlashClient
from msgflash_async._exceptions import NotFoundError, TemplateError, ValidationError
from msgflash_async.models.templates import Template, TemplateType
from msgflash_async.testing import Emulator, EmulatorState
from msgflash_async.testing._http import ok

pytestmark = pytest.mark.anyio

Pair = tuple[Emulator, MsgFlashClient]


def _shaped_list(total: int, shape: str) -> Callable[[web.Application, EmulatorState], None]:
    """A /templates list route answering in one of the shapes the SDK tolerates."""

    async def handler(request: web.Request) -> web.Response:
        page = int(request.query["page"])
        limit = int(request.query["limit"])
        start = (page - 1) * limit
        items = [{"id": f"t{i}", "name": f"n{i}"} for i in range(start, min(start + limit, total))]
        pages = max(1, -(-total // limit))
        if shape == "plain":
            return ok(items)
        if shape == "items":
            return ok({"items": items, "page": page})
        if shape == "hasMore":
            return ok({"templates": items, "hasMore": page < pages})
        return ok({"templates": items, "total": total, "page": page, "totalPages": pages})

    def install(app: web.Application, state: EmulatorState) -> None:
        app.router.add_get("/api/v1/templates", handler)

    return install


@pytest.fixture
async def shaped(request: pytest.FixtureRequest) -> AsyncIterator[Pair]:
    total, shape = request.param
    async with (
        Emulator(rate_limit=None, extra_routes=[_shaped_list(total, shape)]) as emu,
        MsgFlashClient(emu.api_key, base_url=emu.base_url, rate_limit=None) as client,
    ):
        yield emu, client


def _pages_asked(emu: Emulator) -> list[str]:
    return [r.query for r in emu.requests if r.path == "/api/v1/templates"]


@pytest.mark.parametrize(
    "shaped",
    [(45, "totalPages"), (45, "hasMore"), (45, "plain"), (45, "items"), (40, "plain")],
    indirect=True,
)
async def test_list_reads_every_shape(shaped: Pair) -> None:
    emu, client = shaped
    seen = [t async for t in client.templates.list(limit=20)]
    total = len(seen)
    assert [t.id for t in seen] == [f"t{i}" for i in range(total)]
    assert total in (40, 45)
    asked = _pages_asked(emu)
    # A short page ends the list; a full last page costs one empty page at most.
    assert len(asked) in (-(-total // 20), total // 20 + 1)
    assert all("limit=20" in q for q in asked)


@pytest.mark.parametrize("shaped", [(45, "totalPages")], indirect=True)
async def test_page_number_cursor_and_resume(shaped: Pair) -> None:
    emu, client = shaped
    first = await client.templates.list(limit=20)
    assert [t.id for t in first][:2] == ["t0", "t1"] and first.next_cursor == "2"
    paginator = client.templates.list(limit=20, max_items=25)
    assert len([t async for t in paginator]) == 25
    assert paginator.next_cursor == "3"
    rest = [t async for t in client.templates.list(limit=20, page=3)]
    assert [t.id for t in rest] == [f"t{i}" for i in range(40, 45)]
    assert len([t async for t in client.templates.list()]) == 45  # one page of 100
    assert "limit=100" in _pages_asked(emu)[-1]


@pytest.mark.parametrize("shaped", [(45, "totalPages")], indirect=True)
@pytest.mark.parametrize("stop_after", [5, 20, 25, 44])
async def test_resume_token_continues_after_the_last_template(
    shaped: Pair, stop_after: int
) -> None:
    _, client = shaped
    first = client.templates.list(limit=20)
    head = []
    async for template in first:
        head.append(template.id)
        if len(head) == stop_after:
            break
    token = first.resume_token
    assert token is not None
    tail = [t.id async for t in client.templates.list(resume=token)]
    assert head + tail == [f"t{i}" for i in range(45)]
    with pytest.raises(ValidationError, match="limit"):
        client.templates.list(resume=token, limit=50)
    with pytest.raises(ValidationError, match="either page or resume"):
        client.templates.list(resume=token, page=2)


async def test_bad_list_arguments_are_refused_before_any_request() -> None:
    async with MsgFlashClient("msgf_live_" + "0" * 64, base_url="http://127.0.0.1:9") as client:
        for kwargs in ({"limit": 0}, {"limit": 101}, {"page": 0}):
            with pytest.raises(ValidationError):
                client.templates.list(**kwargs)


async def test_check_is_local() -> None:
    async with MsgFlashClient("msgf_live_" + "0" * 64, base_url="http://127.0.0.1:9") as client:
        template = Template("t", body="Hi {{contact.firstName}}, code {{custom.code}}")
        check = client.templates.check(template, {"code": "1"})
        assert check.needs_contact == ("firstName",) and check.missing == ()
        assert client.templates.check(template, {"code": 1}, contact_id="c").ok
        assert client.templates.check("{{custom.x}}").missing == ("x",)


# -- against the emulator's template routes -----------------------------------


@pytest.fixture
async def live() -> AsyncIterator[Pair]:
    async with (
        Emulator(rate_limit=None) as emu,
        MsgFlashClient(emu.api_key, base_url=emu.base_url, rate_limit=None) as client,
    ):
        yield emu, client


async def test_crud(live: Pair) -> None:
    emu, client = live
    created = await client.templates.create(
        name="welcome", type="text", body="Hi {{contact.firstName}} {{custom.code}}"
    )
    assert created.type is TemplateType.TEXT and created.created_at is not None
    assert created.variable_names == ("contact.firstName", "custom.code")
    assert [r.status for r in emu.requests if r.method == "POST"] == [201]
    assert await client.templates.get(created.id) == created
    updated = await client.templates.update(created.id, body="Bye {{custom.x}}")
    assert updated.body == "Bye {{custom.x}}" and updated.variable_names == ("custom.x",)
    assert updated.name == "welcome"
    image = await client.templates.create(
        name="promo", type="image", media_url="https://cdn.example/p.png", body="Promo"
    )
    assert image.media_url == "https://cdn.example/p.png"
    assert [t.id async for t in client.templates.list()] == [image.id, created.id]
    await client.templates.delete(created.id)
    with pytest.raises(NotFoundError):
        await client.templates.get(created.id)
    with pytest.raises(NotFoundError):
        await client.templates.delete(created.id)


async def test_server_refuses_bad_placeholders(live: Pair) -> None:
    _, client = live
    with pytest.raises(TemplateError) as info:
        await client.templates.create(name="bad", type="text", body="Hi {{foo.bar}}")
    assert info.value.code == "TEMPLATE_INVALID"
    # The local check agrees with the server.
    assert client.templates.check("Hi {{foo.bar}}").invalid == ("{{foo.bar}}",)


async def test_create_and_update_are_checked_before_any_request(live: Pair) -> None:
    emu, client = live
    with pytest.raises(ValidationError, match="body"):
        await client.templates.create(name="t", type="text")
    with pytest.raises(ValidationError, match="media_url"):
        await client.templates.create(name="t", type="image", body="caption")
    with pytest.raises(ValidationError, match="name"):
        await client.templates.create(name="", type="text", body="x")
    with pytest.raises(ValidationError):
        await client.templates.update("t1")
    assert emu.requests == []


async def test_preview(live: Pair) -> None:
    emu, client = live
    contact_id = emu.seed_contacts(1, name_prefix="Awa")[0]
    template = await client.templates.create(
        name="otp", type="text", body="{{contact.firstName}}: {{custom.code}} via {{instance.name}}"
    )
    bare = await client.templates.preview(template.id)
    assert bare.valid is False
    assert set(bare.missing_names) == {"contact.firstName", "custom.code", "instance.name"}
    full = await client.templates.preview(
        template.id,
        instance_id=emu.workspace().default_instance.id,
        contact_id=contact_id,
        variables={"code": "42"},
    )
    assert full.valid is True and full.missing_names == ()
    assert full.rendered is not None and full.rendered.startswith("Awa: 42 via ")
    previews = [r for r in emu.requests if r.path.endswith("/preview")]
    assert previews[0].body in (b"{}", b"")
    # The local check says the same as the server for a send with this context.
    check = client.templates.check(template, {"custom.code": "42"}, contact_id=contact_id)
    assert check.ok
    assert client.templates.check(template, {}).missing == ("code",)
