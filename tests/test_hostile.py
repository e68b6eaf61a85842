"""Hostile input, from the server and from callers.

From the server: whatever JSON arrives, structuring gives the model or a
DecodeError, and deciphering any bytes under any status gives data or a
MsgFlashError, never another exception (property-based, with hypothesis).
From callers: invalid phones, ids built to change the request path, header
injection in credentials and oversized arguments are refused or neutralised
before anything reaches the server.
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import json
import pkgutil
import types
import typing
from collections.abc import AsyncIterator, Mapping, Sequence
from enum import Enum
from typing import Any

import attrs
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import msgflash_async.models as models_package
from msgflash_async import _exceptions as exc
from msgflash_async._client import MsgFlashClient
from msgflash_async._config import ClientConfig
from msgflash_async._converter import structure, structure_page
from msgflash_async._protocol import decipher, error_from_response, parse_retry_after
from msgflash_async._secret import Secret
from msgflash_async.models.contacts import Contact
from msgflash_async.testing import Emulator

SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PERSONAL = "msgf_live_" + "0123456789abcdef" * 4


def all_models() -> list[type]:
    """Every attrs class defined in a module of msgflash_async.models."""
    found = []
    for info in pkgutil.iter_modules(models_package.__path__):
        module = importlib.import_module(f"{models_package.__name__}.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if attrs.has(cls) and cls.__module__ == module.__name__:
                found.append(cls)
    return found


MODELS = all_models()
# Models whose wire form may also be a plain string: a lookup result element
# is a number or an object holding one (its shape is not documented).
STRING_FORMS = frozenset({"LookupNumber"})


def test_every_model_module_is_covered() -> None:
    modules = {cls.__module__.rsplit(".", 1)[1] for cls in MODELS}
    assert {"contacts", "jobs", "messages", "templates", "instances", "webhooks"} <= modules


# -- JSON strategies ---------------------------------------------------------------

HUGE = "x" * 1_000_000
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.just(None).map(lambda _: HUGE)  # mapped: keeps the strategy's repr short
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def to_camel(name: str) -> str:
    head, *rest = name.rstrip("_").split("_")
    return {"from_": "from", "type_": "type"}.get(name, head + "".join(p.title() for p in rest))


def plausible(tp: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values that fit ``tp`` on the wire (so the instance branch is reached too)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return st.one_of([plausible(a, depth) for a in args])
    if tp is type(None):
        return st.none()
    if tp is str or tp is Secret:
        return st.text(max_size=20)
    if tp is bool:
        return st.booleans()
    if tp is int:
        return st.integers(min_value=-(2**40), max_value=2**40)
    if tp is float:
        return st.floats(allow_nan=False, allow_infinity=False)
    if tp is dt.datetime:
        stamps = st.datetimes(timezones=st.just(dt.timezone.utc))
        return stamps.map(lambda d: d.isoformat().replace("+00:00", "Z")) | st.text(max_size=30)
    if inspect.isclass(tp) and issubclass(tp, Enum):
        # Known members, and unknown values the server may add one day.
        return st.sampled_from([m.value for m in tp]) | st.text(max_size=12)
    if origin in (list, tuple, Sequence) and args:
        return st.lists(plausible(args[0], depth + 1), max_size=3)
    if origin in (dict, Mapping) or tp in (dict, Mapping):
        return st.dictionaries(st.text(max_size=6), json_values, max_size=3)
    if attrs.has(tp) and depth < 2:
        return model_json(tp, depth + 1)
    return json_values


def model_json(cls: type, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts with the model's wire keys, any of them missing, plausible or hostile."""
    hints = typing.get_type_hints(cls)
    optional = {
        to_camel(f.name): plausible(hints[f.name], depth) | json_values for f in attrs.fields(cls)
    }
    return st.fixed_dictionaries({}, optional=optional)


def assert_model_or_decode_error(data: Any, cls: type) -> None:
    try:
        result = structure(data, cls)
    except exc.DecodeError as error:
        assert error.model  # names what it was decoding
        return
    assert isinstance(result, cls)


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
@SETTINGS
@given(data=st.data())
def test_model_shaped_json_gives_model_or_decode_error(cls: type, data: st.DataObject) -> None:
    assert_model_or_decode_error(data.draw(model_json(cls)), cls)


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
@settings(max_examples=8, deadline=None)
@given(payload=json_values)
def test_any_json_gives_model_or_decode_error(cls: type, payload: Any) -> None:
    assert_model_or_decode_error(payload, cls)
    as_string = isinstance(payload, str) and cls.__name__ in STRING_FORMS
    if not isinstance(payload, dict) and not as_string:  # never an instance of defaults alone
        with pytest.raises(exc.DecodeError):
            structure(payload, cls)


def deeply_nested(depth: int) -> Any:
    value: Any = "leaf"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_deep_nesting_and_huge_strings_give_model_or_decode_error(cls: type) -> None:
    deep = deeply_nested(5000)
    assert_model_or_decode_error(deep, cls)
    everywhere = {to_camel(f.name): deep for f in attrs.fields(cls)}
    assert_model_or_decode_error(everywhere, cls)
    huge = {to_camel(f.name): HUGE for f in attrs.fields(cls)}
    assert_model_or_decode_error(huge, cls)


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("vip", "tags"),  # not three tags "v", "i", "p"
        ({"vip": 1}, "tags"),  # not the keys of an object
        (["vip", ["nested"]], "tags"),
    ],
)
def test_a_list_field_never_accepts_a_string_or_an_object(value: Any, field: str) -> None:
    with pytest.raises(exc.DecodeError) as info:
        structure({"id": "c1", "name": "A", "phone": "+1", "tags": value}, Contact)
    assert info.value.field.startswith(field)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"id": ["c1"], "name": "A"}, "id"),  # not the string "['c1']"
        ({"id": "g", "name": "A", "contactCount": True}, "contact_count"),  # not 1
        ({"id": "g", "name": "A", "contactCount": "12"}, "contact_count"),  # not 12
        ({"id": "g", "name": "A", "contactCount": 2.5}, "contact_count"),  # not 2
    ],
)
def test_scalars_are_not_coerced(payload: Any, field: str) -> None:
    from msgflash_async.models.contacts import ContactGroup

    with pytest.raises(exc.DecodeError) as info:
        structure(payload, ContactGroup)
    assert info.value.field == field


def test_unknown_enum_values_are_kept() -> None:
    from msgflash_async.models.jobs import BulkJob, BulkJobStatus

    job = structure({"id": "j", "status": "paused_by_admin"}, BulkJob)
    assert job.status.value == "paused_by_admin" and not job.status.known
    assert isinstance(job.status, BulkJobStatus)
    with pytest.raises(exc.DecodeError):
        structure({"id": "j", "status": 7}, BulkJob)


@SETTINGS
@given(payload=json_values)
def test_any_json_page_gives_page_or_decode_error(payload: Any) -> None:
    try:
        page = structure_page(payload, Contact, ("contacts", "items"))
    except exc.DecodeError:
        return
    assert all(isinstance(item, Contact) for item in page.items)


# -- deciphering raw answers ------------------------------------------------------


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


bodies = (
    st.binary(max_size=200)
    | json_values.map(dumps)
    | json_values.map(lambda v: dumps({"data": v}))
    | st.builds(
        lambda code, message, details: dumps(
            {"error": {"code": code, "message": message, "details": details}}
        ),
        json_values,
        json_values,
        json_values,
    )
)
statuses = st.integers(min_value=100, max_value=599) | st.integers(-5, 2000)
headers = st.dictionaries(st.sampled_from(["Retry-After", "Content-Type", "X-Other"]), st.text())


@SETTINGS
@given(status=statuses, headers=headers, body=bodies)
def test_decipher_gives_data_or_a_msgflash_error(
    status: int, headers: dict[str, str], body: bytes
) -> None:
    try:
        decipher(status, headers, body, method="GET", path="/api/v1/x")
    except exc.MsgFlashError as error:
        if not 200 <= status < 300:
            assert isinstance(error, exc.APIError) and error.status == status


@SETTINGS
@given(status=statuses, headers=headers, body=bodies)
def test_error_from_response_always_builds_an_api_error(
    status: int, headers: dict[str, str], body: bytes
) -> None:
    error = error_from_response(status, headers, body, method="POST", path="/api/v1/x")
    assert isinstance(error, exc.APIError) and error.status == status
    assert len(error.message) <= 1000 + 20
    str(error), repr(error)


@SETTINGS
@given(value=st.text(max_size=40) | st.sampled_from(["nan", "inf", "-inf", "1e400", "-3"]))
def test_retry_after_is_none_or_a_finite_delay(value: str) -> None:
    delay = parse_retry_after({"Retry-After": value})
    assert delay is None or (0.0 <= delay < float("inf"))


@pytest.mark.parametrize("depth", [900, 1000, 5000])
def test_deeply_nested_bodies_are_errors_not_crashes(depth: int) -> None:
    nested = b"[" * depth + b"]" * depth
    try:
        data = decipher(200, {}, b'{"data": ' + nested + b"}", method="GET", path="/x")
    except exc.DecodeError:
        pass  # too deep for the JSON parser
    else:
        with pytest.raises(exc.DecodeError):
            structure(data, Contact)
    message = b'{"error": {"code": "X", "message": ' + nested + b"}}"
    error = error_from_response(500, {}, message, method="GET", path="/x")
    assert isinstance(error, exc.ServerError)


# -- arguments from callers -------------------------------------------------------

pytest_anyio = pytest.mark.anyio


@pytest.fixture
async def client(msgflash_emulator: Emulator) -> AsyncIterator[MsgFlashClient]:
    async with MsgFlashClient(
        msgflash_emulator.api_key, base_url=msgflash_emulator.base_url, rate_limit=None
    ) as client:
        yield client


@pytest_anyio
@pytest.mark.parametrize(
    "phone",
    [
        "",
        "33612345678",
        "+0612345678",
        "+33 6 12 34 56 78",
        "+336123",
        "+3361234567890123",
        "+33612345678\n",
        "+33612345678; DROP",
        "+٣٣٦١٢٣٤٥٦٧٨",
        33612345678,
    ],
)
async def test_invalid_phones_are_refused_before_any_request(
    client: MsgFlashClient, msgflash_emulator: Emulator, phone: Any
) -> None:
    with pytest.raises(exc.ValidationError) as info:
        await client.contacts.create(name="Ada", phone=phone)
    assert info.value.field == "phone"
    assert not msgflash_emulator.requests


HOSTILE_IDS = [
    "../groups",
    "..%2Fgroups",
    "a/b",
    "x/groups",
    "a?b=1",
    "a#frag",
    "a b",
    "%2F",
    "%2e%2e",
    "...",
    "a;b",
    "a\\b",
    "a\nb",
    "a\rX-Evil: 1",
    "%",
    "a%00",
    "ünï🙂",
    "\u202e",
    "a&limit=1",
]


@pytest_anyio
@pytest.mark.parametrize("contact_id", HOSTILE_IDS)
async def test_hostile_ids_stay_one_path_segment(
    client: MsgFlashClient, msgflash_emulator: Emulator, contact_id: str
) -> None:
    with pytest.raises(exc.NotFoundError) as info:
        await client.contacts.get(contact_id)
    # The one-contact route answered (a route miss says "Route not found"),
    # for the id exactly as given, with no query string split off.
    assert info.value.code == "NOT_FOUND" and info.value.message == "Contact not found"
    record = msgflash_emulator.requests[-1]
    assert record.path == "/api/v1/contacts/" + contact_id and record.query == ""
    assert len(msgflash_emulator.requests) == 1


@pytest_anyio
@pytest.mark.parametrize("contact_id", HOSTILE_IDS)
async def test_hostile_ids_reach_the_server_as_one_raw_segment(contact_id: str) -> None:
    """A bare server shows the raw path: one segment, which decodes to the id."""
    seen: list[tuple[str, str, str]] = []

    async def one(request: web.Request) -> web.Response:
        seen.append(("one", request.raw_path, request.match_info["id"]))
        return web.json_response({"data": {"id": "c", "name": "n", "phone": "+1"}})

    async def other(request: web.Request) -> web.Response:
        seen.append(("other", request.raw_path, ""))
        return web.json_response({"error": {"code": "NOT_FOUND", "message": "?"}}, status=404)

    app = web.Application()
    app.router.add_get("/api/v1/contacts/{id}", one)
    app.router.add_route("*", "/{tail:.*}", other)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        async with MsgFlashClient(PERSONAL, base_url=url, rate_limit=None) as client:
            await client.contacts.get(contact_id)
    finally:
        await runner.cleanup()
    ((route, raw_path, matched),) = seen
    assert route == "one" and matched == contact_id
    prefix, _, segment = raw_path.rpartition("/")
    assert prefix == "/api/v1/contacts" and "?" not in segment and "#" not in segment


@pytest_anyio
@pytest.mark.parametrize(
    "contact_id", ["", ".", "..", "\ud800", "groups", "Bulk-Jobs", "bulk-delete"]
)
async def test_unusable_ids_are_refused_before_any_request(
    client: MsgFlashClient, msgflash_emulator: Emulator, contact_id: str
) -> None:
    """Empty and dot segments would be normalised away, a lone surrogate cannot be
    encoded, and an id spelled like a sibling route would reach that route."""
    with pytest.raises(exc.ValidationError):
        await client.contacts.get(contact_id)
    with pytest.raises(exc.ValidationError):
        await client.contacts.delete(contact_id)
    assert not msgflash_emulator.requests


@pytest.mark.parametrize(
    ("key", "team_id"),
    [
        (PERSONAL + "\n", None),
        (PERSONAL + "\r\nX-Evil: 1", None),
        ("msgf_team_abc\r\nX-Evil: 1", "team-1"),
        ("msgf_team_abc", "team-1\r\nX-Evil: 1"),
        ("msgf_team_abc", "team-1\n"),
        ("msgf_team_abc", "team\x00"),
        ("msgf_team_a b", "team-1"),
        ("msgf_team_abc", "tëam"),
        ("msgf_team_abc", "team\u2028x"),
    ],
)
def test_header_injection_in_credentials_is_refused_at_construction(
    key: str, team_id: str | None
) -> None:
    with pytest.raises(exc.ConfigurationError) as info:
        MsgFlashClient(key, team_id=team_id, base_url="http://127.0.0.1:1")
    assert "abc" not in str(info.value) and "team-1" not in str(info.value)


@pytest_anyio
async def test_oversized_search_is_refused_before_any_request(
    client: MsgFlashClient, msgflash_emulator: Emulator
) -> None:
    assert (await client.contacts.list(search="a" * 100)).total == 0  # the documented limit
    msgflash_emulator.clear_requests()
    for call in (client.contacts.list, client.groups.list):
        with pytest.raises(exc.ValidationError) as info:
            call(search="a" * 101)
        assert info.value.field == "search" and "100" in str(info.value)
    with pytest.raises(exc.ValidationError):
        client.contacts.list(search="")
    assert not msgflash_emulator.requests


@pytest_anyio
@pytest.mark.parametrize("meta", [{"x": object()}, {"n": 2**80}, {1: "non-string key"}])
async def test_unsendable_meta_is_a_validation_error_before_any_request(
    client: MsgFlashClient, msgflash_emulator: Emulator, meta: dict[Any, Any]
) -> None:
    with pytest.raises(exc.ValidationError) as info:
        await client.contacts.create(name="Ada", phone="+33612345678", meta=meta)
    assert info.value.field == "json"
    assert not msgflash_emulator.requests


def test_config_rejects_secret_shaped_garbage_without_echoing_it() -> None:
    with pytest.raises(exc.ConfigurationError) as info:
        ClientConfig.build(api_key="msgf_live_" + "Z" * 64, environ={})
    assert "Z" * 64 not in str(info.value)


@pytest_anyio
async def test_oversized_ids_and_bodies_are_refused_before_any_request(
    client: MsgFlashClient, msgflash_emulator: Emulator
) -> None:
    with pytest.raises(exc.ValidationError) as info:
        await client.contacts.get("x" * 100_000)
    assert info.value.field == "id" and "100000 characters" in str(info.value)
    assert len(str(info.value)) < 200, "the error does not echo the whole input"
    huge = {"blob": "a" * (5 * 1024 * 1024)}
    with pytest.raises(exc.ValidationError) as info:
        await client.contacts.create(name="Ada", phone="+33612345678", meta=huge)
    assert info.value.field == "json" and "bytes" in str(info.value)
    with pytest.raises(exc.ValidationError):
        await client.messages.send_text(
            instance_id=msgflash_emulator.instance_id,
            to="+33612345678",
            text="a" * (5 * 1024 * 1024),
        )
    assert not msgflash_emulator.requests
    # The largest documented body (10,000 ids) still goes out.
    handle = await client.contacts.bulk_delete([f"{i:036d}" for i in range(10_000)]).submit()
    assert handle.job_id is not None
    await handle.cancel()
