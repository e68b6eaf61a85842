"""Construction refuses set-ups that cannot work, with a message that says what to do."""

from __future__ import annotations

import pytest

from msgflash_async._config import ClientConfig, RetryPolicy
from msgflash_async._exceptions import ConfigurationError

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
