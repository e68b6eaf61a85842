"""The frozen configuration of a client: credentials, URL, timeouts, retries, limits."""

from __future__ import annotations

import ipaddress
import os
import random
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

import attrs

from ._exceptions import ConfigurationError
from ._secret import Secret

__all__ = ["DEFAULT_BASE_URL", "ClientConfig", "RetryPolicy", "Timeouts"]

DEFAULT_BASE_URL = "https://srv.msgflash.com"
_PERSONAL_KEY = re.compile(r"msgf_live_[0-9a-f]{64}")
_TEAM_PREFIX = "msgf_team_"
# Keys and team ids are visible ASCII: anything else is a copy-paste slip at
# best and header injection at worst (a CR/LF would start a new header).
_HEADER_UNSAFE = re.compile(r"[^\x21-\x7e]")


@attrs.frozen
class Timeouts:
    """Per-attempt limits, in seconds; ``deadline`` bounds a whole call, retries included."""

    request: float = 30.0
    connect: float = 10.0
    deadline: float | None = None


@attrs.frozen
class RetryPolicy:
    """Exponential backoff with full jitter, capped; ``Retry-After`` wins when sent.

    A server asking (``Retry-After``) for more than ``retry_after_max`` seconds
    is not retried at all: the error goes to the caller at once, rather than a
    call that looks hung, or a retry sooner than asked that is refused again.
    """

    max_retries: int = 3
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    retry_after_max: float = 60.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait before retry number ``attempt`` (1-based); None: do not retry."""
        if retry_after is not None:
            return max(retry_after, 0.0) if retry_after <= self.retry_after_max else None
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return random.uniform(0, ceiling)


@attrs.frozen
class ClientConfig:
    """Everything a client needs, validated once; secrets are never shown."""

    api_key: Secret
    base_url: str = DEFAULT_BASE_URL
    team_id: Secret | None = None
    timeouts: Timeouts = Timeouts()
    retry: RetryPolicy = RetryPolicy()
    # Sized for the batch sender: enough connections to saturate the API at
    # its documented rate even with slow answers, not so many that a burst
    # opens hundreds of sockets.
    pool_size: int = 64
    verify_ssl: bool = True

    @classmethod
    def build(
        cls,
        api_key: str | Secret | None = None,
        *,
        base_url: str | None = None,
        team_id: str | Secret | None = None,
        environ: Mapping[str, str] | None = None,
        **options: object,
    ) -> ClientConfig:
        """Validate arguments, falling back to ``MSGFLASH_*`` environment variables."""
        env = os.environ if environ is None else environ
        key = _reveal(api_key) or env.get("MSGFLASH_API_KEY", "")
        team = _reveal(team_id) or env.get("MSGFLASH_TEAM_ID") or None
        url = (base_url or env.get("MSGFLASH_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        _check_key(key, team)
        _check_base_url(url)
        return cls(
            api_key=Secret(key),
            base_url=url,
            team_id=Secret(team) if team else None,
            **options,  # type: ignore[arg-type]
        )


def _reveal(value: str | Secret | None) -> str:
    if isinstance(value, Secret):
        return value.reveal()
    return value or ""


def _check_key(key: str, team_id: str | None) -> None:
    if not key:
        raise ConfigurationError(
            "No API key: pass api_key=... or set MSGFLASH_API_KEY "
            "(create one at app.msgflash.com -> API Keys)."
        )
    if _HEADER_UNSAFE.search(key) or (team_id and _HEADER_UNSAFE.search(team_id)):
        raise ConfigurationError(
            "The API key or team id contains whitespace, control characters or "
            "non-ASCII characters (a newline?); copy it again without surrounding whitespace."
        )
    if key.startswith(_TEAM_PREFIX):
        if not team_id:
            raise ConfigurationError(
                "A team key (msgf_team_...) needs its team id: pass team_id=... "
                "or set MSGFLASH_TEAM_ID."
            )
        return
    if not _PERSONAL_KEY.fullmatch(key):
        raise ConfigurationError(
            "The API key is malformed: a personal key is 'msgf_live_' followed by "
            "64 lowercase hex characters, a team key starts with 'msgf_team_'."
        )
    if team_id:
        raise ConfigurationError(
            "A personal key (msgf_live_...) cannot be used with a team id: drop "
            "team_id / MSGFLASH_TEAM_ID, or use a team key (msgf_team_...)."
        )


def _check_base_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
        return
    raise ConfigurationError(
        f"Refusing base URL {url!r}: the API key must travel over https "
        "(plain http is allowed only to localhost / 127.0.0.1 / ::1, e.g. the emulator)."
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
