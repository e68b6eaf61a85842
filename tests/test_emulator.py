"""The emulator over real loopback HTTP, driven by a raw aiohttp client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import anyio
import pytest

from msgflash_async.testing import Emulator, Fault, run_emulator
from msgflash_async.testing._http import decode_cursor, encode_cursor, iso_timestamp

# The pytest11 entry point only loads when the package is installed; import the
# fixture so this file also runs from a plain checkout.
from msgflash_async.testing.pytest_plugin import msgflash_emulator  # noqa: F401

pytestmark = pytest.mark.anyio

CONTACTS = "/api/v1/contacts"
GROUPS = "/api/v1/contacts/groups"
JOBS = "/api/v1/contacts/bulk-jobs"


class FakeClock:
    """Drives bulk-job progress by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def emu(clock: FakeClock) -> AsyncIterator[Emulator]:
    async with Emulator(rate_limit=None, clock=clock, job_start_delay=1.0, job_rate=100.0) as e:
        yield e
    assert e.server_errors == []


@pytest.fixture
async def http(emu: Emulator) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(emu.base_url, headers=emu.headers()) as session:
        yield session


async def call(
    http: aiohttp.ClientSession, method: str, path: str, **kwargs: Any
) -> tuple[int, Any]:
    async with http.request(method, path, **kwargs) as response:
        return response.status, await response.json()


async def create_contact(http: aiohttp.ClientSession, name: str, phone: str) -> dict[str, Any]:
    status, body = await call(http, "POST", CONTACTS, json={"name": name, "phone": phone})
    assert status == 201, body
    return dict(body["data"])


# -- helpers -------------------------------------------------------------------


def test_cursor_round_trip_and_timestamp_format() -> None:
    assert decode_cursor(encode_cursor("a|b", "id-1"), 2) == ("a|b", "id-1")
    assert iso_timestamp(1775037600.0) == "2026-04-01T10:00:00.000Z"


# -- contacts and envelopes -------------------------------------------------------


async def test_contact_crud_envelopes(http: aiohttp.ClientSession) -> None:
    created = await create_contact(http, "Ann", "+33612345678")
    assert set(created) == {
        "id",
        "name",
        "phone",
        "tags",
        "temperature",
        "meta",
        "createdAt",
        "updatedAt",
    }
    assert created["temperature"] is None and created["createdAt"].endswith("Z")
    path = f"{CONTACTS}/{created['id']}"
    assert await call(http, "GET", path) == (200, {"data": created})

    await call(http, "PUT", path, json={"tags": ["a", "b"], "meta": {"k": 1}})
    status, body = await call(http, "PUT", path, json={"tags": ["c"]})
    assert status == 200
    assert body["data"]["tags"] == ["c"] and body["data"]["meta"] == {"k": 1}

    assert await call(http, "DELETE", path) == (
        200,
        {"data": {"id": created["id"], "deleted": True}},
    )
    status, body = await call(http, "GET", path)
    assert (status, body["error"]["code"]) == (404, "NOT_FOUND")


async def test_contact_validation_and_conflict(http: aiohttp.ClientSession) -> None:
    status, body = await call(http, "POST", CONTACTS, json={"name": "", "phone": "0612"})
    assert status == 400 and body["error"]["code"] == "VALIDATION_ERROR"
    assert {d["field"] for d in body["error"]["details"]} == {"name", "phone"}

    status, body = await call(
        http, "POST", CONTACTS, data=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert (status, body["error"]["code"]) == (400, "VALIDATION_ERROR")

    await create_contact(http, "Ann", "+33612345678")
    status, body = await call(http, "POST", CONTACTS, json={"name": "Bob", "phone": "+33612345678"})
    assert (status, body["error"]["code"]) == (409, "CONFLICT")

    for limit in ("0", "101", "x"):
        status, body = await call(http, "GET", CONTACTS, params={"limit": limit})
        assert (status, body["error"]["code"]) == (400, "VALIDATION_ERROR")
        assert body["error"]["details"][0]["field"] == "limit"


async def test_list_search_sort_and_total(emu: Emulator, http: aiohttp.ClientSession) -> None:
    emu.seed_contacts(5, name_prefix="Zed")
    await create_contact(http, "alice", "+33600000001")
    await create_contact(http, "Bob", "+33600000002")

    status, body = await call(http, "GET", CONTACTS, params={"search": "ALI"})
    assert status == 200
    assert [c["name"] for c in body["data"]["contacts"]] == ["alice"]
    assert body["data"]["total"] == 1

    _, body = await call(http, "GET", CONTACTS, params={"sort": "name_asc", "limit": 3})
    data = body["data"]
    assert [c["name"] for c in data["contacts"]] == ["alice", "Bob", "Zed 000000"]
    assert (data["total"], data["limit"], data["sort"], data["hasMore"]) == (7, 3, "name_asc", True)

    _, body = await call(http, "GET", CONTACTS)
    assert [c["name"] for c in body["data"]["contacts"]][:2] == ["Bob", "alice"]
    assert body["data"]["nextCursor"] is None


async def scan(http: aiohttp.ClientSession, sort: str, between_pages: Any = None) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "40", "sort": sort, **({"cursor": cursor} if cursor else {})}
        _, body = await call(http, "GET", CONTACTS, params=params)
        seen += [c["id"] for c in body["data"]["contacts"]]
        cursor = body["data"]["nextCursor"]
        if not body["data"]["hasMore"]:
            assert cursor is None
            return seen
        if between_pages is not None:
            await between_pages(len(seen))


@pytest.mark.parametrize("sort", ["createdAt_desc", "name_asc"])
async def test_cursor_is_stable_under_inserts_and_deletes(
    emu: Emulator, http: aiohttp.ClientSession, sort: str
) -> None:
    ids = emu.seed_contacts(200)
    order = ids[::-1] if sort == "createdAt_desc" else ids
    deleted: set[str] = set()

    async def churn(done: int) -> None:
        # Delete one row already returned and one still ahead; insert a new row.
        for victim in (order[done - 1], order[done + 5]):
            await call(http, "DELETE", f"{CONTACTS}/{victim}")
            deleted.add(victim)
        await create_contact(http, "Contact 000100a", f"+3370000{done:04d}")

    seen = await scan(http, sort, churn)
    assert len(seen) == len(set(seen))
    expected = [i for i in order if i not in deleted or i in seen]
    assert [i for i in seen if i in set(ids)] == expected


async def test_renamed_contacts_are_listed_once_by_name(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    awa = await create_contact(http, "awa", "+33600000001")
    await create_contact(http, "bob", "+33600000002")
    path = f"{CONTACTS}/{awa['id']}"
    # Same key after case folding, then away and back: one index entry each time.
    for name in ("Awa", "Zoe", "Awa"):
        status, _ = await call(http, "PUT", path, json={"name": name, "phone": "+33600000001"})
        assert status == 200
    _, body = await call(http, "GET", CONTACTS, params={"sort": "name_asc"})
    assert [c["name"] for c in body["data"]["contacts"]] == ["Awa", "bob"]
    assert body["data"]["total"] == 2


# -- auth ---------------------------------------------------------------------------


async def test_auth_rules(emu: Emulator, http: aiohttp.ClientSession) -> None:
    url = emu.base_url + CONTACTS
    async with aiohttp.ClientSession() as bare:
        cases = [
            ({}, 401, "UNAUTHORIZED"),
            ({"x-api-key": "msgf_live_" + "0" * 64}, 401, "UNAUTHORIZED"),
            ({"Authorization": f"Bearer {emu.api_key}"}, 401, "UNAUTHORIZED"),
            ({"x-api-key": emu.api_key, "X-Team-Id": emu.team_id}, 403, "TEAM_KEY_REQUIRED"),
            ({"x-api-key": emu.team_key}, 401, "UNAUTHORIZED"),
            ({"x-api-key": emu.team_key, "X-Team-Id": "other"}, 401, "UNAUTHORIZED"),
        ]
        messages = set()
        for headers, status, code in cases:
            got_status, body = await call(bare, "GET", url, headers=headers)
            assert (got_status, body["error"]["code"]) == (status, code), headers
            if status == 401:
                messages.add(body["error"]["message"])
        assert len(messages) == 1  # a wrong team id reads exactly like a bad key

        await create_contact(http, "Personal", "+33600000001")
        status, body = await call(bare, "GET", url, headers=emu.headers(team=True))
        assert status == 200 and body["data"]["contacts"] == []  # separate workspace
    assert emu.api_key.startswith("msgf_live_") and len(emu.api_key) == 74


# -- groups ---------------------------------------------------------------------------


async def test_groups_crud_members_and_caps(emu: Emulator, http: aiohttp.ClientSession) -> None:
    emu.settings.max_contact_groups = 2
    status, body = await call(http, "POST", GROUPS, json={"name": "VIP", "color": "#25D366"})
    assert status == 201
    group = body["data"]
    assert (group["contactCount"], group["description"]) == (0, None)
    status, body = await call(http, "POST", GROUPS, json={"name": "vip"})
    assert (status, body["error"]["code"]) == (409, "CONFLICT")
    status, body = await call(http, "POST", GROUPS, json={"name": "X", "color": "green"})
    assert (status, body["error"]["details"][0]["field"]) == (400, "color")
    await call(http, "POST", GROUPS, json={"name": "Second", "description": "for vips"})
    status, body = await call(http, "POST", GROUPS, json={"name": "Third"})
    assert (status, body["error"]["code"]) == (403, "MAX_CONTACT_GROUPS_REACHED")

    _, body = await call(http, "GET", GROUPS, params={"search": "VIP"})
    assert body["data"]["total"] == 2 and body["data"]["hasMore"] is False

    ids = emu.seed_contacts(3)
    members = f"{GROUPS}/{group['id']}/members"
    status, body = await call(http, "POST", members, json={"contactIds": [*ids[:2], "missing"]})
    assert (status, body["data"]) == (
        200,
        {"added": 2, "alreadyInGroup": 0, "notFound": 1, "total": 3},
    )
    _, body = await call(http, "POST", members, json={"contactIds": ids})
    assert body["data"] == {"added": 1, "alreadyInGroup": 2, "notFound": 0, "total": 3}
    _, body = await call(http, "GET", members, params={"limit": "2"})
    assert len(body["data"]["contacts"]) == 2 and body["data"]["total"] == 3
    _, body = await call(http, "GET", members, params={"cursor": body["data"]["nextCursor"]})
    assert len(body["data"]["contacts"]) == 1 and body["data"]["hasMore"] is False

    _, body = await call(http, "GET", f"{CONTACTS}/{ids[0]}/groups")
    assert [g["name"] for g in body["data"]] == ["VIP"]
    status, body = await call(http, "DELETE", members, json={"contactIds": [ids[0], "zz"]})
    assert (status, body["data"]) == (200, {"removed": 1, "notInGroup": 1})
    _, body = await call(http, "GET", f"{GROUPS}/{group['id']}")
    assert body["data"]["contactCount"] == 2

    status, body = await call(http, "PUT", f"{GROUPS}/{group['id']}", json={"name": "Gold"})
    assert (status, body["data"]["name"]) == (200, "Gold")
    assert (await call(http, "DELETE", f"{GROUPS}/{group['id']}"))[0] == 200
    status, _ = await call(http, "GET", f"{GROUPS}/{group['id']}")
    assert status == 404


# -- bulk operations and jobs ------------------------------------------------------------


async def test_bulk_delete_sync_and_validation(emu: Emulator, http: aiohttp.ClientSession) -> None:
    ids = emu.seed_contacts(3)
    path = f"{CONTACTS}/bulk-delete"
    status, body = await call(http, "POST", path, json={"contactIds": [*ids[:2], "gone"]})
    assert (status, body["data"]) == (200, {"requested": 3, "deleted": 2, "notFound": ["gone"]})
    for bad in ([], ["x"] * 10_001, "nope", [1]):
        status, body = await call(http, "POST", path, json={"contactIds": bad})
        assert (status, body["error"]["code"]) == (400, "VALIDATION_ERROR")
        assert body["error"]["details"][0]["field"] == "contactIds"


async def test_bulk_job_progress_applies_effects(
    emu: Emulator, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    ids = emu.seed_contacts(300)
    status, body = await call(
        http, "POST", f"{CONTACTS}/bulk-delete", json={"contactIds": ids[:250]}
    )
    assert status == 202
    reply = body["data"]
    assert {k: reply[k] for k in ("mode", "status", "operation", "requestedCount", "progress")} == {
        "mode": "async",
        "status": "pending",
        "operation": "bulk_delete_contacts",
        "requestedCount": 250,
        "progress": 0,
    }
    assert "groupId" not in reply
    progress = f"{JOBS}/{reply['jobId']}/progress"

    clock.now += 2.0  # 1 s start delay, then 100 items/s
    _, body = await call(http, "GET", progress)
    job = body["data"]
    assert (job["status"], job["processedCount"], job["progress"]) == ("processing", 100, 40)
    assert job["summary"] == {"deleted": 100, "notFound": 0}
    _, body = await call(http, "GET", CONTACTS, params={"limit": "1"})
    assert body["data"]["total"] == 200  # effects land as the job advances

    clock.now += 10.0
    _, body = await call(http, "GET", f"{JOBS}/{reply['jobId']}")
    job = body["data"]
    assert (job["status"], job["progress"], job["summary"]["deleted"]) == ("done", 100, 250)
    assert job["completedAt"] is not None and job["error"] is None
    status, body = await call(http, "POST", f"{JOBS}/{reply['jobId']}/cancel")
    assert (status, body["error"]["code"]) == (400, "BAD_REQUEST")


async def test_group_job_cancel_and_failure(
    emu: Emulator, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    ids = emu.seed_contacts(200)
    group_id = emu.seed_group("Big")
    members = f"{GROUPS}/{group_id}/members"
    status, body = await call(http, "POST", members, json={"contactIds": ids})
    assert status == 202 and body["data"]["groupId"] == group_id
    job_id = body["data"]["jobId"]

    clock.now += 1.5
    status, body = await call(http, "POST", f"{JOBS}/{job_id}/cancel")
    assert (status, body["data"]["status"], body["data"]["processedCount"]) == (
        200,
        "cancelled",
        50,
    )
    clock.now += 10.0
    _, body = await call(http, "GET", f"{GROUPS}/{group_id}")
    assert body["data"]["contactCount"] == 50  # cancellation stopped the remaining work

    emu.fail_next_job("provider exploded", at=0.5)
    _, body = await call(http, "DELETE", members, json={"contactIds": ids})
    failing = body["data"]["jobId"]
    assert body["data"]["operation"] == "remove_from_group"
    clock.now += 10.0
    _, body = await call(http, "GET", f"{JOBS}/{failing}")
    job = body["data"]
    assert (job["status"], job["error"], job["processedCount"]) == (
        "failed",
        "provider exploded",
        100,
    )
    assert job["summary"] == {"removed": 50, "notInGroup": 50}

    _, body = await call(http, "GET", JOBS, params={"limit": "1"})
    assert [j["id"] for j in body["data"]["jobs"]] == [failing]
    _, body = await call(http, "GET", JOBS, params={"cursor": body["data"]["nextCursor"]})
    assert [j["id"] for j in body["data"]["jobs"]] == [job_id] and not body["data"]["hasMore"]
    status, _ = await call(http, "GET", f"{JOBS}/nope")
    assert status == 404


async def test_instant_jobs_knob() -> None:
    async with Emulator(rate_limit=None, job_rate=None, job_start_delay=0) as emu:
        ids = emu.seed_contacts(150)
        async with aiohttp.ClientSession(emu.base_url, headers=emu.headers()) as http:
            status, body = await call(
                http, "POST", f"{CONTACTS}/bulk-delete", json={"contactIds": ids}
            )
            assert (status, body["data"]["status"]) == (202, "pending")
            _, body = await call(http, "GET", f"{JOBS}/{body['data']['jobId']}/progress")
            assert body["data"]["status"] == "done"


# -- faults ------------------------------------------------------------------------------


async def test_error_faults_match_method_path_and_times(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    emu.faults.add(
        Fault.error(502, body=b"<html>bad gateway</html>"), method="GET", path=CONTACTS, times=2
    )
    emu.faults.add(Fault.rate_limited(retry_after=2), method="POST")
    for _ in range(2):
        async with http.get(CONTACTS) as response:
            assert response.status == 502
            assert response.content_type == "text/html"
            assert await response.read() == b"<html>bad gateway</html>"
    async with http.post(CONTACTS, json={}) as response:
        assert response.status == 429 and response.headers["Retry-After"] == "2"
        assert (await response.json())["error"]["code"] == "API_RATE_LIMIT_EXCEEDED"
    assert (await call(http, "GET", CONTACTS))[0] == 200
    assert emu.faults.pending() == 0 and emu.faults.injected == 3

    emu.faults.add(Fault.body({"data": {"unexpected": 1}}))
    assert await call(http, "GET", CONTACTS) == (200, {"data": {"unexpected": 1}})


@pytest.mark.parametrize("after_handler", [False, True])
async def test_drop_connection(
    emu: Emulator, http: aiohttp.ClientSession, after_handler: bool
) -> None:
    emu.faults.add(Fault.drop(after_handler=after_handler), method="POST", path=CONTACTS)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await http.post(CONTACTS, json={"name": "Ann", "phone": "+33612345678"})
    # The request reached the server exactly once; only after_handler created the contact.
    posts = [r for r in emu.requests if r.method == "POST"]
    assert len(posts) == 1 and posts[0].status is None and posts[0].fault == "drop"
    assert posts[0].json == {"name": "Ann", "phone": "+33612345678"}
    assert posts[0].params == {}
    assert len(emu.workspace().contacts) == (1 if after_handler else 0)


async def test_truncated_body(emu: Emulator, http: aiohttp.ClientSession) -> None:
    emu.seed_contacts(3)
    emu.faults.add(Fault.truncate())
    async with http.get(CONTACTS) as response:
        assert response.status == 200
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.read()


async def test_delay_trips_client_timeout_and_stop_is_prompt() -> None:
    emu = Emulator(rate_limit=None)
    await emu.start()
    emu.faults.add(Fault.delay(30.0))
    timeout = aiohttp.ClientTimeout(total=0.2)
    async with aiohttp.ClientSession(emu.base_url, headers=emu.headers(), timeout=timeout) as http:
        with pytest.raises(asyncio.TimeoutError):
            await http.get(CONTACTS)
    # A stop that waited for the pending 30 s delay would trip this generous bound.
    with anyio.fail_after(15):
        await emu.stop()
        await emu.stop()  # idempotent


async def test_latency_and_random_faults_are_seeded(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    emu.faults.latency = 0.05
    started = time.monotonic()
    await call(http, "GET", CONTACTS)
    assert time.monotonic() - started >= 0.05
    emu.faults.clear()

    async def statuses() -> list[int]:
        emu.faults.randomize(0.5, seed=7, choices=[Fault.error(503), Fault.error(500)])
        out = []
        for _ in range(20):
            async with http.get(CONTACTS) as response:
                out.append(response.status)
        return out

    first = await statuses()
    assert await statuses() == first
    assert {200, 500, 503} >= set(first) and len(set(first)) > 1


# -- rate limit, quota, records -------------------------------------------------------------


async def test_rate_limit_sliding_window(emu: Emulator, http: aiohttp.ClientSession) -> None:
    emu.settings.rate_limit = 10

    async def one() -> tuple[int, Any]:
        return await call(http, "GET", CONTACTS)

    results = await asyncio.gather(*(one() for _ in range(25)))
    limited = [body for status, body in results if status == 429]
    assert len(limited) == 15 == emu.rate_limited_count
    assert limited[0] == {
        "error": {"code": "API_RATE_LIMIT_EXCEEDED", "message": "Too many API requests"}
    }
    assert emu.max_requests_in_any_window(1.0) == 10
    # Team key has its own window.
    status, _ = await call(http, "GET", CONTACTS, headers=emu.headers(team=True))
    assert status == 200


async def test_monthly_quota_and_record_switch() -> None:
    async with Emulator(rate_limit=None, monthly_api_quota=2, record_requests=False) as emu:
        async with aiohttp.ClientSession(emu.base_url, headers=emu.headers()) as http:
            assert [(await call(http, "GET", CONTACTS))[0] for _ in range(2)] == [200, 200]
            status, body = await call(http, "GET", CONTACTS)
            assert (status, body["error"]["code"]) == (429, "MONTHLY_API_REQUEST_QUOTA_EXCEEDED")
        assert emu.requests == []


async def test_route_misses_use_the_envelope(http: aiohttp.ClientSession) -> None:
    status, body = await call(http, "GET", "/api/v1/nope")
    assert (status, body["error"]["code"]) == (404, "NOT_FOUND")
    status, body = await call(http, "PATCH", CONTACTS)
    assert (status, body["error"]["code"]) == (405, "METHOD_NOT_ALLOWED")


async def test_deep_pages_stay_fast() -> None:
    async with Emulator(rate_limit=None, record_requests=False) as emu:
        emu.seed_contacts(20_000)
        async with aiohttp.ClientSession(emu.base_url, headers=emu.headers()) as http:
            # Speed is the benchmarks' job; this only catches a scan so slow it hangs.
            with anyio.fail_after(20):
                _, body = await call(http, "GET", CONTACTS, params={"limit": "100"})
                for _ in range(20):
                    cursor = body["data"]["nextCursor"]
                    _, body = await call(
                        http, "GET", CONTACTS, params={"limit": "100", "cursor": cursor}
                    )
            assert len(body["data"]["contacts"]) == 100


async def test_pytest_plugin_fixture(msgflash_emulator: Emulator) -> None:  # noqa: F811
    assert msgflash_emulator.settings.rate_limit is None
    async with aiohttp.ClientSession(
        msgflash_emulator.base_url, headers=msgflash_emulator.headers()
    ) as http:
        assert (await call(http, "GET", CONTACTS))[0] == 200


async def test_run_emulator_serves_until_cancelled(capsys: pytest.CaptureFixture[str]) -> None:
    key = "msgf_live_" + "a" * 64
    task = asyncio.ensure_future(run_emulator("127.0.0.1", 0, api_key=key))
    output = ""
    for _ in range(200):
        await asyncio.sleep(0.01)
        output += capsys.readouterr().out
        if key in output:
            break
    assert "export MSGFLASH_BASE_URL=http://127.0.0.1:" in output and key in output
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_emulator_takes_its_settings_object_and_knobs_on_top() -> None:
    from msgflash_async.testing import EmulatorSettings

    given = EmulatorSettings(rate_limit=None, message_step=0, read_receipts=False)
    emu = Emulator(given, async_threshold=7, features=["webhooks"])
    assert emu.settings.rate_limit is None
    assert emu.settings.read_receipts is False
    assert emu.settings.async_threshold == 7
    assert emu.settings.features == {"webhooks"}
    assert emu.state.settings is emu.settings
    # The caller's object is copied, not changed.
    assert given.async_threshold == 100
    assert emu.settings is not given
    assert Emulator(features=None).settings.features == EmulatorSettings().features


def test_emulator_refuses_an_unknown_knob() -> None:
    with pytest.raises(TypeError, match="no_such_knob"):
        Emulator(no_such_knob=1)


async def test_a_settings_object_shapes_the_served_emulator() -> None:
    from msgflash_async.testing import EmulatorSettings

    async with (
        Emulator(EmulatorSettings(rate_limit=1)) as emu,
        aiohttp.ClientSession(emu.base_url, headers=emu.headers()) as http,
    ):
        statuses = []
        for _ in range(3):
            async with http.get("/api/v1/contacts") as response:
                statuses.append(response.status)
        assert statuses[0] == 200
        assert 429 in statuses
