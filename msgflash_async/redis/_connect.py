"""The one place the optional ``redis`` package is imported, lazily.

``import msgflash_async`` must work without the extra: only building a Redis
object asks for it, and a missing package says how to install it.
"""

from __future__ import annotations

import hashlib
from types import ModuleType
from typing import Any

from .._secret import Secret

__all__ = ["INSTALL_HINT", "connection_errors", "from_url", "key_space", "require_redis"]

INSTALL_HINT = "Redis support needs the redis extra: pip install 'msgflash-async[redis]'"


def require_redis() -> ModuleType:
    """``redis.asyncio``, or an ImportError that names the extra to install."""
    try:
        import redis.asyncio as redis_asyncio
    except ImportError as exc:
        raise ImportError(INSTALL_HINT) from exc
    return redis_asyncio


def connection_errors() -> tuple[type[BaseException], ...]:
    """What a Redis call raises when the server cannot answer."""
    from redis.exceptions import RedisError

    return (RedisError, OSError, TimeoutError)


def from_url(url: str, **options: Any) -> Any:
    """An asyncio Redis client with short timeouts: a dead Redis must not hang sends."""
    redis_asyncio = require_redis()
    options.setdefault("socket_timeout", 2.0)
    options.setdefault("socket_connect_timeout", 2.0)
    return redis_asyncio.Redis.from_url(url, **options)


def key_space(prefix: str, api_key: str | Secret, purpose: str) -> str:
    """The key prefix of state shared by everyone on one API key, without the key.

    A hash of the key, never the key: anyone who can read Redis must not be
    able to send with it. The braces make a Redis Cluster hash tag, so the
    keys of one script live on one node.
    """
    secret = api_key.reveal() if isinstance(api_key, Secret) else api_key
    digest = hashlib.sha256(f"msgflash:{purpose}:{secret}".encode()).hexdigest()[:32]
    return f"{prefix}:{purpose}:{{{digest}}}"
