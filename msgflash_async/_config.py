"""The frozen configuration of a client: credentials, URL, timeouts, retries, limits."""

from __future__ import annotations

import math
import os
import random
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs

from ._exceptions import ConfigurationError, RateLimitError
from ._secret import Secret, SecretText
from ._validation import is_loopback

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "ClientConfig",
    "RetryPolicy",
    "Timeouts",
]

DEFAULT_BASE_URL = "https://srv.msgflash.com"
DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024
"""Answers larger than this (after decompression) raise ``ResponseTooLargeError``."""
PERSONAL_KEY_PATTERN = re.compile(r"msgf_live_[0-9a-f]{64}")
_TEAM_PREFIX = "msgf_team_"
# A base URL the user copied with the API prefix on it would be sent as
# /api/v1/api/v1/...: the prefix is dropped, the paths carry it themselves.
_API_PREFIX = "/api/v1"
_Validator = Callable[[Any, Any, Any], None]
# Keys and team ids are visible ASCII: anything else is a copy-paste slip at
# best and header injection at worst (a CR/LF would start a new header).
_HEADER_UNSAFE = re.compile(r"[^\x21-\x7e]")


def _positive(name: str, example: str) -> _Validator:
    """A validator: a finite number of seconds above zero (None passes)."""

    def check(_: object, __: Any, value: float | None) -> None:
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigurationError(f"{name} must be a number of seconds; pass e.g. {example}.")
        if not (math.isfinite(value) and value > 0):
            raise ConfigurationError(
                f"{name}={value!r} cannot work: pass a positive number of seconds, e.g. {example}."
            )

    return check


def _at_least(name: str, low: int, example: str) -> _Validator:
    """A validator: an int (not a bool) of at least ``low``."""

    def check(_: object, __: Any, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigurationError(
                f"{name}={value!r} cannot work: pass an integer >= {low}, e.g. {example}."
            )

    return check


def _not_negative(name: str, example: str) -> _Validator:
    def check(_: object, __: Any, value: float) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
            raise ConfigurationError(
                f"{name}={value!r} cannot work: pass a number of seconds >= 0, e.g. {example}."
            )

    return check


@attrs.frozen
class Timeouts:
    """Per-attempt limits, in seconds; ``deadline`` bounds a whole call, retries included.

    Each must be a positive, finite number of seconds (``deadline=None``: no
    overall deadline); anything else is a :class:`ConfigurationError` here,
    not a confusing failure at the first request.
    """

    request: float = attrs.field(default=30.0, validator=_positive("timeout", "timeout=30"))
    connect: float = attrs.field(
        default=10.0, validator=_positive("connect_timeout", "connect_timeout=10")
    )
    deadline: float | None = attrs.field(
        default=None, validator=_positive("deadline", "deadline=60, or None for none")
    )


@attrs.frozen
class RetryPolicy:
    """Exponential backoff with full jitter, capped; ``Retry-After`` wins when sent.

    A server asking (``Retry-After``) for more than ``retry_after_max`` seconds
    is not retried at all: the error goes to the caller at once, rather than a
    call that looks hung, or a retry sooner than asked that is refused again.
    """

    max_retries: int = attrs.field(
        default=3, validator=_at_least("max_retries", 0, "max_retries=0 for no retries")
    )
    backoff_base: float = attrs.field(
        default=0.5, validator=_not_negative("backoff_base", "backoff_base=0.5")
    )
    backoff_max: float = attrs.field(
        default=8.0, validator=_not_negative("backoff_max", "backoff_max=8")
    )
    retry_after_max: float = attrs.field(
        default=60.0, validator=_not_negative("retry_after_max", "retry_after_max=60")
    )
    #: Retries of a 429 ``API_RATE_LIMIT_EXCEEDED``, a budget of its own: the
    #: server refused the request unprocessed, so a retry is safe for any
    #: call, and a batch of sends must ride out a busy second (another process
    #: on the same key) rather than report inputs rejected.
    rate_limit_retries: int = attrs.field(
        default=6,
        validator=_at_least("rate_limit_retries", 0, "rate_limit_retries=0 for no retries"),
    )

    def retries_for(self, error: Exception) -> int:
        """How many retries ``error``'s kind of failure gets."""
        if isinstance(error, RateLimitError):
            return self.rate_limit_retries
        return self.max_retries

    def delay(self, attempt: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait before retry number ``attempt`` (1-based); None: do not retry."""
        if retry_after is not None:
            return max(retry_after, 0.0) if retry_after <= self.retry_after_max else None
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return random.uniform(0, ceiling)


def _retry_policy(_: object, __: Any, value: object) -> None:
    if not isinstance(value, RetryPolicy):
        raise ConfigurationError(
            f"retry={value!r} cannot work: pass a RetryPolicy, e.g. "
            "retry=RetryPolicy(max_retries=5), or None for the default."
        )


@attrs.frozen
class ClientConfig:
    """Everything a client needs, validated once; secrets are never shown."""

    api_key: Secret
    base_url: str = DEFAULT_BASE_URL
    team_id: Secret | None = None
    timeouts: Timeouts = Timeouts()
    retry: RetryPolicy = attrs.field(default=RetryPolicy(), validator=_retry_policy)
    # Sized for the batch sender: enough connections to saturate the API at
    # its documented rate even with slow answers, not so many that a burst
    # opens hundreds of sockets.
    pool_size: int = attrs.field(default=64, validator=_at_least("pool_size", 1, "pool_size=64"))
    # The largest documented answer (a page of 100 contacts with their meta,
    # a 10,000-id bulk result) is well under 1 MiB: 32 MiB leaves room for
    # any legitimate page and still stops an endless or runaway body early.
    max_response_bytes: int = attrs.field(
        default=DEFAULT_MAX_RESPONSE_BYTES,
        validator=_at_least("max_response_bytes", 1, "max_response_bytes=32 * 1024 * 1024"),
    )
    verify_ssl: bool = True
    #: The instance a message without one is sent through (``MSGFLASH_INSTANCE_ID``).
    instance_id: str | None = None

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
        key, team, url = _settings(api_key, team_id, base_url, environ)
        env = os.environ if environ is None else environ
        if options.get("instance_id") is None and env.get("MSGFLASH_INSTANCE_ID"):
            options["instance_id"] = env["MSGFLASH_INSTANCE_ID"]
        # This frame shows in the traceback of a ConfigurationError: printed
        # with its locals, a plain key or the environment mapping would show.
        del api_key, team_id, environ, env
        _check_key(key, team)
        _check_base_url(url)
        return cls(
            api_key=Secret(str(key)),
            base_url=url,
            team_id=Secret(str(team)) if team else None,
            **options,  # type: ignore[arg-type]
        )


def _settings(
    api_key: str | Secret | None,
    team_id: str | Secret | None,
    base_url: str | None,
    environ: Mapping[str, str] | None,
) -> tuple[SecretText, SecretText | None, str]:
    """The key and team id (masked in any repr) and the base URL, from arguments or env."""
    env = os.environ if environ is None else environ
    key = SecretText(_reveal(api_key) or env.get("MSGFLASH_API_KEY", ""))
    team = _reveal(team_id) or env.get("MSGFLASH_TEAM_ID") or None
    url = _normalise_base_url(base_url or env.get("MSGFLASH_BASE_URL") or DEFAULT_BASE_URL)
    return key, None if team is None else SecretText(team), url


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
    if not PERSONAL_KEY_PATTERN.fullmatch(key):
        raise ConfigurationError(
            "The API key is malformed: a personal key is 'msgf_live_' followed by "
            "64 lowercase hex characters, a team key starts with 'msgf_team_'."
        )
    if team_id:
        raise ConfigurationError(
            "A personal key (msgf_live_...) cannot be used with a team id: drop "
            "team_id / MSGFLASH_TEAM_ID, or use a team key (msgf_team_...)."
        )


def _normalise_base_url(url: str) -> str:
    """``url`` without trailing slashes or the ``/api/v1`` every path already starts with."""
    url = url.rstrip("/")
    if url.endswith(_API_PREFIX):
        url = url[: -len(_API_PREFIX)].rstrip("/")
    return url


def _check_base_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        raise ConfigurationError(
            f"Refusing base URL {url!r}: no query string or fragment; pass the server "
            "root, e.g. 'https://srv.msgflash.com'."
        )
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname and is_loopback(parts.hostname):
        return
    raise ConfigurationError(
        f"Refusing base URL {url!r}: the API key must travel over https "
        "(plain http is allowed only to localhost / 127.0.0.1 / ::1, e.g. the emulator)."
    )
