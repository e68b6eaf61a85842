"""The emulator's messages, templates and instances over real loopback HTTP."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import anyio
import pytest

from msgflash_async.testing import Emulator, Workspace

# The suite's ``emu`` (the plugin's emulator) with an instant message
# lifecycle; lifecycle tests set a pace through emu.settings.
pytestmark = [pytest.mark.anyio, pytest.mark.msgflash_emulator(rate_limit=None, message_step=None)]

SEND = "/api/v1/messages/send"
SCHEDULE = "/api/v1/messages/schedule"
MESSAGES = "/api/v1/messages"
TEMPLATES = "/api/v1/templates"
INSTANCES = "/api/v1/instances"
TO = "+33612345678"


@pytest.fixture
async def http(emu: Emulator) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(emu.base_url, headers=emu.headers()) as session:
        yield session


async def call(
    http: aiohttp.ClientSession,
    method: str,
    path: str,
    body: Any = None,
    params: dict[str, str] | None = None,
) -> tuple[int, Any]:
    async with http.request(method, path, json=body, params=params) as response:
        return response.status, await response.json()


def error_fields(reply: Any) -> set[str]:
    return {detail["field"] for detail in reply["error"]["details"]}


def text_body(emu: Emulator, **extra: Any) -> dict[str, Any]:
    return {"instanceId": emu.instance_id, "to": TO, "type": "text", "text": "Hello", **extra}


async def make_contact(http: aiohttp.ClientSession, **fields: Any) -> str:
    body = {"name": "Ada Lovelace", "phone": "+447700900123", **fields}
    status, reply = await call(http, "POST", "/api/v1/contacts", body)
    assert status == 201
    return str(reply["data"]["id"])


async def until(emu: Emulator, predicate: Any) -> None:
    """Wait (2 s at most) for the bus event after which ``predicate()`` holds."""
    published = asyncio.Event()
    unsubscribe = emu.events.subscribe(lambda _workspace, _payload: published.set())
    try:
        with anyio.fail_after(2.0):
            while not predicate():
                published.clear()
                await published.wait()
    finally:
        unsubscribe()


# -- send: the happy path --------------------------------------------------


async def test_send_answers_the_full_queued_message(emu: Emulator, http: Any) -> None:
    status, reply = await call(http, "POST", SEND, text_body(emu))
    assert status == 200
    message = reply["data"]
    assert message["status"] == "queued"
    assert message["instanceId"] == emu.instance_id
    assert (message["to"], message["body"], message["type"]) == (TO, "Hello", "text")
    assert message["direction"] == "outbound"
    assert message["providerMessageId"].startswith("BAE5")
    assert message["meta"]["workerSafety"] == {
        "decision": "allow",
        "riskLevel": "low",
        "state": "stable",
        "score": 72,
    }
    assert message["createdAt"].endswith("Z")


BUTTON_KINDS = [
    {"type": "reply", "displayText": "Yes", "id": "yes"},
    {"type": "url", "displayText": "Open", "url": "https://example.com"},
    {"type": "call", "displayText": "Call", "phoneNumber": "+33612345678"},
    {"type": "copy", "displayText": "Copy", "copyCode": "dGV4dA=="},
    {
        "type": "pix",
        "displayText": "Pay",
        "currency": "BRL",
        "name": "Shop",
        "keyType": "EMAIL",
        "key": "pay@example.com",
    },
]

TYPED_BODIES: list[dict[str, Any]] = [
    {"type": "text", "text": "hi"},
    {"type": "image", "mediaUrl": "https://x.test/a.png", "text": "caption"},
    {"type": "video", "mediaUrl": "https://x.test/a.mp4"},
    {"type": "audio", "mediaUrl": "https://x.test/a.mp3"},
    {"type": "voice_note", "mediaUrl": "https://x.test/a.ogg"},
    {"type": "document", "mediaUrl": "https://x.test/a.pdf", "text": "the doc"},
    {"type": "location", "latitude": 48.85, "longitude": 2.35, "locationName": "Paris"},
    *(
        {"type": "buttons", "title": "T", "description": "D", "footer": "F", "buttons": [b]}
        for b in BUTTON_KINDS
    ),
    {"type": "buttons", "title": "T", "description": "D", "buttons": BUTTON_KINDS[:2]},
]


@pytest.mark.parametrize("content", TYPED_BODIES, ids=lambda c: c["type"])
async def test_every_message_type_is_accepted(
    emu: Emulator, http: Any, content: dict[str, Any]
) -> None:
    status, reply = await call(
        http, "POST", SEND, {"instanceId": emu.instance_id, "to": TO, **content}
    )
    assert status == 200, reply
    assert reply["data"]["type"] == content["type"]
    assert reply["data"]["mediaUrl"] == content.get("mediaUrl")


async def test_contact_message_shares_a_stored_contact(emu: Emulator, http: Any) -> None:
    contact_id = await make_contact(http)
    body = {"instanceId": emu.instance_id, "to": TO, "type": "contact", "contactId": contact_id}
    status, reply = await call(http, "POST", SEND, body)
    assert status == 200
    assert reply["data"]["contactId"] == contact_id
    assert reply["data"]["body"] == "Ada Lovelace"


# -- send: validation --------------------------------------------------------

BUTTONS = {"type": "buttons", "title": "T", "description": "D"}
INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("no instanceId", {"instanceId": None}, "instanceId"),
    ("no to", {"to": None}, "to"),
    ("to not E.164", {"to": "0612345678"}, "to"),
    ("type and templateId", {"templateId": "t"}, "type"),
    ("neither type nor templateId", {"type": None}, "type"),
    ("unknown type", {"type": "sticker"}, "type"),
    ("text without text", {"text": None}, "text"),
    *(
        (f"{kind} without mediaUrl", {"type": kind, "text": None}, "mediaUrl")
        for kind in ("image", "video", "audio", "voice_note", "document")
    ),
    ("mediaUrl not http", {"type": "image", "mediaUrl": "ftp://x/a.png"}, "mediaUrl"),
    ("no latitude", {"type": "location", "longitude": 2.0}, "latitude"),
    ("latitude as text", {"type": "location", "latitude": "48", "longitude": 2.0}, "latitude"),
    ("latitude as bool", {"type": "location", "latitude": True, "longitude": 2.0}, "latitude"),
    ("latitude > 90", {"type": "location", "latitude": 91, "longitude": 2.0}, "latitude"),
    ("longitude < -180", {"type": "location", "latitude": 1, "longitude": -181}, "longitude"),
    ("contact without contactId", {"type": "contact"}, "contactId"),
    ("buttons without title", {**BUTTONS, "title": None, "buttons": BUTTON_KINDS[:1]}, "title"),
    (
        "buttons without description",
        {**BUTTONS, "description": None, "buttons": BUTTON_KINDS[:1]},
        "description",
    ),
    ("no buttons", {**BUTTONS, "buttons": []}, "buttons"),
    ("three buttons", {**BUTTONS, "buttons": BUTTON_KINDS[:3]}, "buttons"),
    ("button kind", {**BUTTONS, "buttons": [{"type": "x", "displayText": "a"}]}, "buttons[0].type"),
    ("button text", {**BUTTONS, "buttons": [{"type": "reply"}]}, "buttons[0].displayText"),
    ("url button", {**BUTTONS, "buttons": [{"type": "url", "displayText": "a"}]}, "buttons[0].url"),
    (
        "call button",
        {**BUTTONS, "buttons": [{"type": "call", "displayText": "a"}]},
        "buttons[0].phoneNumber",
    ),
    (
        "copy button",
        {**BUTTONS, "buttons": [{"type": "copy", "displayText": "a"}]},
        "buttons[0].copyCode",
    ),
    ("pix button", {**BUTTONS, "buttons": [{**BUTTON_KINDS[4], "key": ""}]}, "buttons[0].key"),
    ("variables not an object", {"variables": ["a"]}, "variables"),
]


@pytest.mark.parametrize(("change", "field"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
async def test_each_rule_is_a_validation_error(
    emu: Emulator, http: Any, change: dict[str, Any], field: str
) -> None:
    body = {k: v for k, v in {**text_body(emu), **change}.items() if v is not None}
    status, reply = await call(http, "POST", SEND, body)
    assert status == 400, reply
    assert reply["error"]["code"] == "VALIDATION_ERROR"
    assert field in error_fields(reply)
    assert emu.sent_count == 0


async def test_every_bad_field_is_reported_at_once(http: Any) -> None:
    status, reply = await call(http, "POST", SEND, {"to": "nope", "type": "text"})
    assert status == 400
    assert {"instanceId", "to", "text"} <= error_fields(reply)


async def test_lookups_fail_with_not_found_or_bad_request(emu: Emulator, http: Any) -> None:
    status, reply = await call(http, "POST", SEND, text_body(emu, instanceId="missing"))
    assert (status, reply["error"]["code"]) == (404, "NOT_FOUND")
    body = {"instanceId": emu.instance_id, "to": TO, "type": "contact", "contactId": "nobody"}
    assert (await call(http, "POST", SEND, body))[0] == 404
    body = {"instanceId": emu.instance_id, "to": TO, "templateId": "missing"}
    assert (await call(http, "POST", SEND, body))[0] == 404
    offline = emu.add_instance("Offline", status="disconnected")
    status, reply = await call(http, "POST", SEND, text_body(emu, instanceId=offline))
    assert (status, reply["error"]["code"]) == (400, "BAD_REQUEST")
    assert emu.sent_count == 0


# -- templates in sends ------------------------------------------------------


async def test_template_send_renders_all_four_namespaces(emu: Emulator, http: Any) -> None:
    contact_id = await make_contact(http, meta={"city": "Lyon"})
    template_id = emu.seed_template(
        "all",
        "Hi {{contact.firstName}} of {{contact.city}} ({{contact.phone}}), "
        "{{user.name}} <{{user.email}}> on {{instance.name}} {{instance.waNumber}}: "
        "{{custom.code}} {{ custom.app }}",
    )
    body = {
        "instanceId": emu.instance_id,
        "to": TO,
        "templateId": template_id,
        "contactId": contact_id,
        "variables": {"code": 1234, "custom.app": "Shop"},
    }
    status, reply = await call(http, "POST", SEND, body)
    assert status == 200, reply
    instance = emu.workspace().instances[emu.instance_id]
    assert reply["data"]["body"] == (
        "Hi Ada of Lyon (+447700900123), Emulator User <user@example.com> on "
        f"Main instance {instance.wa_number}: 1234 Shop"
    )
    assert reply["data"]["type"] == "text"
    assert emu.sent_messages[0]["body"] == reply["data"]["body"]


async def test_media_template_sends_its_media(emu: Emulator, http: Any) -> None:
    template_id = emu.seed_template(
        "pic", "For {{custom.name}}", type="image", media_url="https://x.test/a.png"
    )
    body = {
        "instanceId": emu.instance_id,
        "to": TO,
        "templateId": template_id,
        "variables": {"name": "Bo"},
    }
    status, reply = await call(http, "POST", SEND, body)
    assert status == 200
    assert (reply["data"]["type"], reply["data"]["mediaUrl"]) == ("image", "https://x.test/a.png")
    assert reply["data"]["body"] == "For Bo"


@pytest.mark.parametrize("contact_id", [None, "unknown-contact"])
async def test_contact_placeholders_need_a_known_contact(
    emu: Emulator, http: Any, contact_id: str | None
) -> None:
    template_id = emu.seed_template("hi", "Hi {{contact.name}}")
    body = {"instanceId": emu.instance_id, "to": TO, "templateId": template_id}
    if contact_id:
        body["contactId"] = contact_id
    status, reply = await call(http, "POST", SEND, body)
    assert (status, reply["error"]["code"]) == (400, "TEMPLATE_CONTEXT_UNAVAILABLE")


async def test_missing_custom_variables_are_listed(emu: Emulator, http: Any) -> None:
    template_id = emu.seed_template("code", "{{custom.code}} / {{custom.app}} / {{custom.code}}")
    body = {
        "instanceId": emu.instance_id,
        "to": TO,
        "templateId": template_id,
        "variables": {"app": "x"},
    }
    status, reply = await call(http, "POST", SEND, body)
    assert (status, reply["error"]["code"]) == (400, "TEMPLATE_VARIABLES_MISSING")
    assert error_fields(reply) == {"custom.code"}
    assert emu.sent_count == 0


@pytest.mark.parametrize("body", ["{{foo.bar}}", "{{code}}", "{{custom.x", "a }} b", "{{custom.}}"])
async def test_malformed_templates_are_refused_at_create(http: Any, body: str) -> None:
    status, reply = await call(http, "POST", TEMPLATES, {"name": "t", "type": "text", "body": body})
    assert (status, reply["error"]["code"]) == (400, "TEMPLATE_INVALID")


# -- plan knobs and destinations ---------------------------------------------


async def test_outbound_quota(emu: Emulator, http: Any) -> None:
    emu.settings.monthly_outbound_quota = 2
    assert (await call(http, "POST", SEND, text_body(emu, text=None)))[0] == 400  # not counted
    for _ in range(2):
        assert (await call(http, "POST", SEND, text_body(emu)))[0] == 200
    for path, extra in ((SEND, {}), (SCHEDULE, {"scheduledAt": _in(60)})):
        status, reply = await call(http, "POST", path, text_body(emu, **extra))
        assert (status, reply["error"]["code"]) == (429, "MONTHLY_OUTBOUND_QUOTA_EXCEEDED")
    assert emu.outbound_count == emu.sent_count == 2


async def test_inactive_subscription(emu: Emulator, http: Any) -> None:
    emu.settings.subscription_active = False
    for path in (SEND, SCHEDULE):
        status, reply = await call(http, "POST", path, text_body(emu))
        assert (status, reply["error"]["code"]) == (403, "SUBSCRIPTION_INACTIVE")


async def test_invalid_and_failing_numbers(emu: Emulator, http: Any) -> None:
    emu.settings.invalid_numbers.add("+15550001111")
    emu.settings.failing_numbers.add("+15550002222")
    status, reply = await call(http, "POST", SEND, text_body(emu, to="+15550001111"))
    assert (status, reply["error"]["code"]) == (422, "INVALID_DESTINATION")
    status, reply = await call(http, "POST", SEND, text_body(emu, to="+15550002222"))
    assert (status, reply["data"]["status"]) == (200, "queued")
    message = emu.message(reply["data"]["id"])
    assert message["status"] == "failed"
    assert message["error"]["code"] == "DELIVERY_FAILED"
    [event] = emu.events.payloads("message.failed")
    assert event["messageId"] == message["id"] and event["error"] == message["error"]


# -- lifecycle and events ------------------------------------------------------


async def test_lifecycle_publishes_each_step_without_polling(emu: Emulator, http: Any) -> None:
    emu.settings.message_step = 0.03
    emu.settings.unread_numbers.add("+15550003333")
    seen: list[tuple[Workspace, dict[str, Any]]] = []
    emu.events.subscribe(lambda workspace, payload: seen.append((workspace, payload)))
    _, first = await call(http, "POST", SEND, text_body(emu))
    _, second = await call(http, "POST", SEND, text_body(emu, to="+15550003333"))
    await until(emu, lambda: len(seen) == 5)  # nobody polls: the background task publishes
    by_message: dict[str, list[str]] = {}
    for workspace, payload in seen:
        assert workspace is emu.workspace()
        by_message.setdefault(payload["messageId"], []).append(payload["event"])
    assert by_message[first["data"]["id"]] == ["message.sent", "message.delivered", "message.read"]
    assert by_message[second["data"]["id"]] == ["message.sent", "message.delivered"]
    last = seen[-1][1]
    assert set(last) == {
        "event",
        "instanceId",
        "messageId",
        "providerMessageId",
        "to",
        "status",
        "timestamp",
    }
    _, got = await call(http, "GET", f"{MESSAGES}/{first['data']['id']}")
    assert got["data"]["status"] == "read"
    assert got["data"]["updatedAt"] >= got["data"]["createdAt"]
    assert emu.messages_in_flight == 0


async def test_switching_to_instant_finishes_messages_in_flight(emu: Emulator, http: Any) -> None:
    emu.settings.message_step = 0.02
    _, reply = await call(http, "POST", SEND, text_body(emu))
    emu.settings.message_step = None
    await until(emu, lambda: emu.message(reply["data"]["id"])["status"] == "read")
    assert [p["status"] for p in emu.events.payloads()] == ["sent", "delivered", "read"]


async def test_get_never_shows_an_unpublished_status(emu: Emulator, http: Any) -> None:
    emu.settings.message_step = 0.01
    _, sent = await call(http, "POST", SEND, text_body(emu))
    for _ in range(10):
        _, got = await call(http, "GET", f"{MESSAGES}/{sent['data']['id']}")
        published = [p["status"] for p in emu.events.payloads()]
        assert got["data"]["status"] == (published[-1] if published else "queued")
        await asyncio.sleep(0.005)


async def test_instant_mode_and_disconnect_failure(emu: Emulator, http: Any) -> None:
    _, reply = await call(http, "POST", SEND, text_body(emu))
    assert reply["data"]["status"] == "queued"  # the reply is taken before the steps
    assert emu.message(reply["data"]["id"])["status"] == "read"
    assert [p["status"] for p in emu.events.payloads()] == ["sent", "delivered", "read"]
    emu.settings.message_step = 5.0
    _, queued = await call(http, "POST", SEND, text_body(emu))
    emu.set_instance_status(emu.instance_id, "disconnected")
    assert emu.advance_messages() == 0  # nothing due yet
    assert emu.message(queued["data"]["id"])["status"] == "queued"
    emu.state.lifecycle.run_due(emu.state.clock() + 6.0)  # its "sent" step, offline
    message = emu.message(queued["data"]["id"])
    assert (message["status"], message["error"]["code"]) == ("failed", "INSTANCE_DISCONNECTED")


# -- schedule ------------------------------------------------------------------


def _in(seconds: float) -> str:
    moment = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=seconds)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "is required"),
        ("tomorrow", "ISO 8601"),
        ("2020-01-01T00:00:00Z", "future"),
    ],
)
async def test_schedule_needs_a_future_iso_time(
    emu: Emulator, http: Any, value: str | None, message: str
) -> None:
    body = text_body(emu) if value is None else text_body(emu, scheduledAt=value)
    status, reply = await call(http, "POST", SCHEDULE, body)
    assert status == 400
    [detail] = reply["error"]["details"]
    assert detail["field"] == "scheduledAt" and message in detail["message"]


async def test_scheduled_message_waits_then_runs(emu: Emulator, http: Any) -> None:
    status, reply = await call(http, "POST", SCHEDULE, text_body(emu, scheduledAt=_in(0.15)))
    assert status == 201
    message = reply["data"]
    assert message["status"] == "scheduled" and message["scheduledAt"].endswith("Z")
    assert emu.outbound_count == 0 and emu.sent_count == 1
    await until(emu, lambda: emu.message(message["id"])["status"] == "read")
    assert emu.outbound_count == 1


async def test_scheduled_message_rechecks_the_quota(emu: Emulator, http: Any) -> None:
    emu.settings.monthly_outbound_quota = 1
    _, reply = await call(http, "POST", SCHEDULE, text_body(emu, scheduledAt=_in(0.1)))
    assert (await call(http, "POST", SEND, text_body(emu)))[0] == 200  # uses the last slot
    await until(emu, lambda: emu.message(reply["data"]["id"])["status"] == "failed")
    error = emu.message(reply["data"]["id"])["error"]
    assert error["code"] == "MONTHLY_OUTBOUND_QUOTA_EXCEEDED"


# -- list and get ----------------------------------------------------------------


async def test_list_is_newest_first_with_cursor_and_filters(emu: Emulator, http: Any) -> None:
    other = emu.add_instance("Second")
    emu.settings.failing_numbers.add("+15550004444")
    ids = []
    for index in range(7):
        instance = other if index % 3 == 0 else emu.instance_id
        to = "+15550004444" if index == 5 else TO
        _, reply = await call(http, "POST", SEND, text_body(emu, instanceId=instance, to=to))
        ids.append(reply["data"]["id"])
    seen: list[str] = []
    params = {"limit": "3"}
    while True:
        _, page = await call(http, "GET", MESSAGES, params=params)
        data = page["data"]
        assert all(item["meta"] == {} for item in data["messages"])
        seen += [item["id"] for item in data["messages"]]
        if not data["hasMore"]:
            assert data["nextCursor"] is None
            break
        params["cursor"] = data["nextCursor"]
    assert seen == ids[::-1]
    _, by_instance = await call(http, "GET", MESSAGES, params={"instanceId": other})
    assert [m["id"] for m in by_instance["data"]["messages"]] == [ids[6], ids[3], ids[0]]
    _, failed = await call(http, "GET", MESSAGES, params={"status": "failed"})
    assert [m["id"] for m in failed["data"]["messages"]] == [ids[5]]


@pytest.mark.parametrize(
    "params", [{"limit": "101"}, {"limit": "0"}, {"status": "lost"}, {"cursor": "garbage"}]
)
async def test_list_rejects_bad_queries(http: Any, params: dict[str, str]) -> None:
    status, reply = await call(http, "GET", MESSAGES, params=params)
    assert (status, reply["error"]["code"]) == (400, "VALIDATION_ERROR")


async def test_get_full_message_and_unknown(emu: Emulator, http: Any) -> None:
    _, sent = await call(http, "POST", SEND, text_body(emu))
    status, got = await call(http, "GET", f"{MESSAGES}/{sent['data']['id']}")
    assert status == 200
    meta = got["data"]["meta"]
    assert meta["workerSafety"]["decision"] == "allow"
    assert meta["providerResult"]["providerMessageId"] == got["data"]["providerMessageId"]
    assert (await call(http, "GET", f"{MESSAGES}/nope"))[0] == 404


async def test_workspaces_are_separate(emu: Emulator, http: Any) -> None:
    await call(http, "POST", SEND, text_body(emu))
    async with aiohttp.ClientSession(emu.base_url, headers=emu.headers(team=True)) as team:
        _, listed = await call(team, "GET", MESSAGES)
        assert listed["data"]["messages"] == []
        status, _ = await call(team, "POST", SEND, text_body(emu))
        assert status == 404  # the personal instance is not the team's
        body = text_body(emu, instanceId=emu.team_instance_id)
        assert (await call(team, "POST", SEND, body))[0] == 200


async def test_sent_messages_record_and_duplicates(emu: Emulator, http: Any) -> None:
    for to in (TO, "+15550005555", TO):
        await call(http, "POST", SEND, text_body(emu, to=to))
    record = emu.sent_messages
    assert [m["to"] for m in record] == [TO, "+15550005555", TO]
    assert record[0]["request"] == text_body(emu)
    assert record[0]["body"] == "Hello" and record[0]["id"]
    assert emu.duplicate_recipients() == {TO: 2}


async def test_inbound_message_is_received(emu: Emulator, http: Any) -> None:
    message_id = emu.simulate_inbound("+15550006666", "hello there")
    [event] = emu.events.payloads("message.received")
    assert (event["messageId"], event["from"], event["body"]) == (
        message_id,
        "+15550006666",
        "hello there",
    )
    _, listed = await call(http, "GET", MESSAGES)
    [item] = listed["data"]["messages"]
    assert (item["direction"], item["status"], item["from"]) == (
        "inbound",
        "received",
        "+15550006666",
    )
    assert emu.sent_count == 0


# -- templates CRUD and preview ------------------------------------------------------


async def test_template_crud(http: Any) -> None:
    body = {"name": "Welcome", "type": "text", "body": "Hi {{contact.firstName}}, {{custom.code}}"}
    status, created = await call(http, "POST", TEMPLATES, body)
    assert status == 201
    template = created["data"]
    assert template["variables"] == ["contact.firstName", "custom.code"]
    assert template["mediaUrl"] is None and template["createdAt"]
    path = f"{TEMPLATES}/{template['id']}"
    assert (await call(http, "GET", path))[1]["data"] == template
    status, updated = await call(http, "PUT", path, {"body": "Bye {{user.name}}"})
    assert status == 200
    assert (updated["data"]["name"], updated["data"]["variables"]) == ("Welcome", ["user.name"])
    status, reply = await call(http, "PUT", path, {"body": "{{nope}}"})
    assert (status, reply["error"]["code"]) == (400, "TEMPLATE_INVALID")
    status, reply = await call(http, "PUT", path, {"type": "image"})
    assert status == 400 and error_fields(reply) == {"mediaUrl"}
    assert (await call(http, "DELETE", path))[1]["data"] == {"id": template["id"], "deleted": True}
    assert (await call(http, "GET", path))[0] == 404


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"type": "text", "body": "x"}, {"name"}),
        ({"name": "n", "body": "x"}, {"type"}),
        ({"name": "n", "type": "sticker"}, {"type"}),
        ({"name": "n", "type": "text"}, {"body"}),
        ({"name": "n", "type": "video", "body": "caption"}, {"mediaUrl"}),
    ],
)
async def test_template_create_validation(
    http: Any, body: dict[str, Any], fields: set[str]
) -> None:
    status, reply = await call(http, "POST", TEMPLATES, body)
    assert (status, reply["error"]["code"]) == (400, "VALIDATION_ERROR")
    assert error_fields(reply) == fields


async def test_template_list_pages(emu: Emulator, http: Any) -> None:
    ids = [emu.seed_template(f"t{i}", "x") for i in range(25)]
    _, first = await call(http, "GET", TEMPLATES)
    assert {k: first["data"][k] for k in ("total", "page", "limit", "totalPages")} == {
        "total": 25,
        "page": 1,
        "limit": 20,
        "totalPages": 2,
    }
    got = []
    for page in (1, 2, 3):
        _, reply = await call(http, "GET", TEMPLATES, params={"page": str(page), "limit": "10"})
        assert reply["data"]["totalPages"] == 3
        got += [t["id"] for t in reply["data"]["templates"]]
    assert got == ids[::-1]
    assert (await call(http, "GET", TEMPLATES, params={"limit": "101"}))[0] == 400


async def test_template_preview(emu: Emulator, http: Any) -> None:
    contact_id = await make_contact(http)
    template_id = emu.seed_template("p", "{{contact.firstName}} {{instance.name}} {{custom.a}}")
    path = f"{TEMPLATES}/{template_id}/preview"
    body = {"instanceId": emu.instance_id, "contactId": contact_id, "variables": {"a": "1"}}
    _, full = await call(http, "POST", path, body)
    assert full["data"] == {
        "rendered": "Ada Main instance 1",
        "missingVariables": [],
        "variables": ["contact.firstName", "instance.name", "custom.a"],
        "valid": True,
    }
    async with http.post(path) as response:  # no body at all
        empty = await response.json()
    assert empty["data"]["rendered"] == "{{contact.firstName}} {{instance.name}} {{custom.a}}"
    assert empty["data"]["missingVariables"] == ["contact.firstName", "instance.name", "custom.a"]
    assert empty["data"]["valid"] is False
    assert (await call(http, "POST", path, {"instanceId": "nope"}))[0] == 404
    assert (await call(http, "POST", f"{TEMPLATES}/nope/preview", {}))[0] == 404


# -- instances -------------------------------------------------------------------


async def test_instances_read_routes(emu: Emulator, http: Any) -> None:
    offline = emu.add_instance("Offline", status="disconnected", wa_number="+15550007777")
    _, listed = await call(http, "GET", INSTANCES)
    assert [i["id"] for i in listed["data"]] == [emu.instance_id, offline]
    assert set(listed["data"][1]) == {
        "id",
        "name",
        "waNumber",
        "status",
        "webhook",
        "meta",
        "deletedAt",
        "createdAt",
        "updatedAt",
    }
    _, got = await call(http, "GET", f"{INSTANCES}/{offline}")
    assert (got["data"]["waNumber"], got["data"]["status"]) == ("+15550007777", "disconnected")
    _, state = await call(http, "GET", f"{INSTANCES}/{emu.instance_id}/state")
    assert state["data"] == {
        "instanceId": emu.instance_id,
        "status": "connected",
        "providerState": "open",
    }
    _, state = await call(http, "GET", f"{INSTANCES}/{offline}/state")
    assert state["data"]["providerState"] == "close"
    await call(http, "POST", SEND, text_body(emu))
    _, health = await call(http, "GET", f"{INSTANCES}/{emu.instance_id}/health")
    assert health["data"]["healthy"] is True and health["data"]["warmup"]["sentToday"] == 1
    for suffix in ("", "/state", "/health"):
        assert (await call(http, "GET", f"{INSTANCES}/nope{suffix}"))[0] == 404


async def test_instance_status_changes_publish_events(emu: Emulator) -> None:
    emu.set_instance_status(emu.instance_id, "disconnected")
    emu.set_instance_status(emu.instance_id, "disconnected")  # no change: no event
    emu.set_instance_status(emu.instance_id, "connecting")  # no event for connecting
    emu.set_instance_status(emu.instance_id, "connected")
    events = emu.events.payloads()
    assert [(e["event"], e["status"]) for e in events] == [
        ("instance.disconnected", "disconnected"),
        ("instance.connected", "connected"),
    ]
    assert all(e["instanceId"] == emu.instance_id and e["timestamp"] for e in events)
    with pytest.raises(KeyError):
        emu.set_instance_status("nope", "connected")
    with pytest.raises(ValueError):
        emu.set_instance_status(emu.instance_id, "asleep")
