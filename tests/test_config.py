"""Construction refuses set-ups that cannot work, with a message that says what to do."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from servers import serve_handler

from msgflash_async import MsgFlashClient
from msgflash_async._config import ClientConfig, RetryPolicy
from msgflash_async._exceptions import ConfigurationError, NotFoundError
from msgflash_async._ratelimit import NoRateLimit
from msgflash_async.testing import Emulator

PERSONAL = "msgf_live_" + "0123456789abcdef" * 4


def build(**kwargs: object) -> ClientConfig:
    return ClientConfig.build(environ={}, **kwargs)  # type: ignore[arg-type]


def test_no_key_says_where_to_get_one() -> None:
    with pytest.raises(ConfigurationError, match="MSGFLASH_API_KEY"):
        build()


@pytest.mark.parametrize(
    "key",
    [
        "msgf_live_abc",
        "msgf_live_" + "A" * 64,
        "msgf_live_" + "g" * 64,
        "sk_live_123",
        "msgf_live_",
    ],
)
def test_malformed_personal_keys_are_refused(key: str) -> None:
    with pytest.raises(ConfigurationError, match="64 lowercase hex"):
        build(api_key=key)


def test_team_key_needs_team_id_and_personal_key_refuses_one() -> None:
    with pytest.raises(ConfigurationError, match="team id"):
        build(api_key="msgf_team_abc")
    with pytest.raises(ConfigurationError, match="personal key"):
        build(api_key=PERSONAL, team_id="team-1")
    config = build(api_key="msgf_team_abc", team_id="team-1")
    assert config.team_id is not None and config.team_id.reveal() == "team-1"


@pytest.mark.parametrize("url", ["http://srv.msgflash.com", "ftp://x", "srv.msgflash.com"])
def test_plain_http_refused_except_loopback(url: str) -> None:
    with pytest.raises(ConfigurationError, match="https"):
        build(api_key=PERSONAL, base_url=url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost", "http://[::1]:9"])
def test_loopback_http_is_allowed(url: str) -> None:
    assert build(api_key=PERSONAL, base_url=url).base_url == url


@pytest.mark.parametrize("key", [PERSONAL + "\n", "msgf_team_a\r\nX-Evil: 1"])
def test_header_injection_refused(key: str) -> None:
    with pytest.raises(ConfigurationError, match="control characters"):
        build(api_key=key, team_id="t")


def test_environment_fallbacks() -> None:
    env = {
        "MSGFLASH_API_KEY": "msgf_team_zz",
        "MSGFLASH_TEAM_ID": "team-9",
        "MSGFLASH_BASE_URL": "http://127.0.0.1:1/",
    }
    config = ClientConfig.build(environ=env)
    assert config.api_key.reveal() == "msgf_team_zz"
    assert config.base_url == "http://127.0.0.1:1"


def test_secrets_never_in_repr() -> None:
    config = build(api_key="msgf_team_secretvalue", team_id="team-secret")
    assert "secretvalue" not in repr(config) and "team-secret" not in repr(config)
    assert "secretvalue" not in str(config)


def test_backoff_is_full_jitter_and_capped() -> None:
    policy = RetryPolicy(backoff_base=0.5, backoff_max=4.0)
    delays = [policy.delay(attempt) for attempt in range(1, 10) for _ in range(20)]
    assert all(d is not None and 0 <= d <= 4.0 for d in delays)
    # Retry-After wins over the backoff, up to retry_after_max; beyond, no retry.
    assert policy.delay(1, retry_after=30.0) == 30.0
    assert policy.delay(1, retry_after=60.0) == 60.0
    assert policy.delay(1, retry_after=61.0) is None
    assert RetryPolicy(retry_after_max=120).delay(1, retry_after=90.0) == 90.0


# -- settings that cannot work, and what the client and emulator agree on ---------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/api/v1",
        "http://127.0.0.1:8080/api/v1/",
        "http://127.0.0.1:8080/api/v1//",
    ],
)
def test_base_url_with_the_api_prefix_is_normalised(url: str) -> None:
    assert build(api_key=PERSONAL, base_url=url).base_url == "http://127.0.0.1:8080"
    env = {"MSGFLASH_API_KEY": PERSONAL, "MSGFLASH_BASE_URL": url}
    assert ClientConfig.build(environ=env).base_url == "http://127.0.0.1:8080"
    # A proxy path in front of the API is kept; only the API's own prefix goes.
    proxied = build(api_key=PERSONAL, base_url="http://127.0.0.1:8080/proxy/api/v1")
    assert proxied.base_url == "http://127.0.0.1:8080/proxy"


@pytest.mark.parametrize("url", ["https://srv.msgflash.com?x=1", "https://srv.msgflash.com#top"])
def test_base_url_with_a_query_or_fragment_is_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match="server root"):
        build(api_key=PERSONAL, base_url=url)


@pytest.mark.anyio
async def test_client_pointed_at_the_api_prefix_reaches_the_routes() -> None:
    async with (
        Emulator(rate_limit=None) as emu,
        MsgFlashClient(emu.api_key, base_url=emu.base_url + "/api/v1/", rate_limit=None) as client,
    ):
        emu.seed_contacts(2)
        page = await client.contacts.list()
        assert len(page.items) == 2
        assert [r.path for r in emu.requests] == ["/api/v1/contacts"]


@pytest.mark.anyio
async def test_api_errors_name_the_path_actually_requested() -> None:
    seen: list[str] = []

    async def route_not_found(request: web.Request) -> web.Response:
        seen.append(request.path)
        body = {"error": {"code": "NOT_FOUND", "message": "Route not found"}}
        return web.json_response(body, status=404)

    async with serve_handler(route_not_found) as url:
        client = MsgFlashClient(PERSONAL, base_url=url + "/proxy", rate_limit=None)
        async with client:
            with pytest.raises(NotFoundError) as info:
                await client.contacts.get("c1")
    assert seen == ["/proxy/api/v1/contacts/c1"]
    assert info.value.path == "/proxy/api/v1/contacts/c1"
    assert "(GET /proxy/api/v1/contacts/c1)" in str(info.value)


@pytest.mark.parametrize(
    ("options", "named", "hint"),
    [
        ({"timeout": 0}, "timeout=0", "positive number of seconds"),
        ({"timeout": -1.5}, "timeout=-1.5", "e.g. timeout=30"),
        ({"timeout": float("nan")}, "timeout=nan", "positive number of seconds"),
        ({"timeout": "30"}, "timeout='30'", "or a Timeouts"),
        ({"deadline": -5}, "deadline=-5", "or None for none"),
        ({"deadline": 0.0}, "deadline=0.0", "positive number of seconds"),
        ({"max_retries": -1}, "max_retries=-1", "integer >= 0"),
        ({"max_retries": 1.5}, "max_retries=1.5", "integer >= 0"),
        ({"pool_size": 0}, "pool_size=0", "integer >= 1"),
        ({"pool_size": -3}, "pool_size=-3", "e.g. pool_size=64"),
        ({"rate_limit": -1}, "rate_limit=-1", "0 or None for no client-side limit"),
        ({"rate_limit": float("nan")}, "rate_limit=nan", "positive number"),
        ({"rate_limit": "10"}, "rate_limit='10'", "requests per second"),
        ({"max_retries": "fast"}, "max_retries='fast'", "RetryPolicy"),
        ({"max_response_bytes": 0}, "max_response_bytes=0", "integer >= 1"),
    ],
)
def test_settings_that_cannot_work_are_refused_with_what_to_pass(
    options: dict[str, Any], named: str, hint: str
) -> None:
    with pytest.raises(ConfigurationError) as info:
        MsgFlashClient(PERSONAL, base_url="http://127.0.0.1:1", **options)
    assert named in str(info.value) and hint in str(info.value)


def test_retry_policy_refuses_negative_numbers() -> None:
    for field in ("max_retries", "backoff_base", "backoff_max", "retry_after_max"):
        with pytest.raises(ConfigurationError, match=f"{field}=-1"):
            RetryPolicy(**{field: -1})  # type: ignore[arg-type]
    assert RetryPolicy(max_retries=0, backoff_base=0).delay(1) == 0.0


@pytest.mark.anyio
async def test_rate_limit_zero_means_off_in_the_client_and_the_emulator() -> None:
    unlimited = MsgFlashClient(PERSONAL, base_url="http://127.0.0.1:1", rate_limit=0)
    assert isinstance(unlimited.rate_limiter, NoRateLimit)
    async with (
        Emulator(rate_limit=0) as emu,
        MsgFlashClient(emu.api_key, base_url=emu.base_url, rate_limit=0) as client,
    ):
        for _ in range(15):  # more than the default 10 per second, at once
            await client.contacts.list(limit=1)
        assert emu.rate_limited_count == 0 and len(emu.requests) == 15
