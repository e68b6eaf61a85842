"""HMAC-SHA256 signatures of webhook deliveries, without I/O or heavy imports.

MsgFlash signs the raw request body with the endpoint secret and sends
``X-MsgFlash-Signature: sha256=<hex>``. Verification accepts several secrets
at once so an endpoint can rotate its secret without dropping deliveries.
The emulator imports :func:`sign` from here to sign what it delivers.
"""

from __future__ import annotations

import hashlib
import hmac
import string
from collections.abc import Mapping, Sequence
from typing import Final, TypeAlias

from .._exceptions import ConfigurationError
from .._secret import Secret
from ._errors import InvalidSignatureError, MalformedSignatureError, MissingSignatureError

__all__ = [
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "SecretsLike",
    "get_header",
    "mask_secrets",
    "normalize_secrets",
    "sign",
    "verify_signature",
]

SIGNATURE_HEADER: Final = "X-MsgFlash-Signature"
EVENT_HEADER: Final = "X-MsgFlash-Event"

_PREFIX: Final = "sha256="
_HEX_DIGITS: Final = frozenset(string.hexdigits)
_DIGEST_LENGTH: Final = hashlib.sha256().digest_size * 2

SecretsLike: TypeAlias = str | Secret | Sequence[str | Secret]


def mask_secrets(secrets: SecretsLike) -> tuple[Secret, ...]:
    """One or several secrets as a tuple of :class:`Secret`, unchecked.

    Every entry point taking secrets rebinds its argument with this first,
    before anything can raise: an error carries the frames it passed
    through, and a traceback printed with locals would show a plain string.
    """
    items: Sequence[str | Secret] = [secrets] if isinstance(secrets, (str, Secret)) else secrets
    return tuple(s if isinstance(s, Secret) else Secret(s) for s in items)


def normalize_secrets(secrets: SecretsLike) -> tuple[Secret, ...]:
    """One or several secrets as a tuple of :class:`Secret`; empty ones are refused."""
    secrets = mask_secrets(secrets)
    if not secrets:
        raise ConfigurationError("at least one webhook secret is required")
    if not all(secrets):
        # An empty key usually means an unset environment variable.
        raise ConfigurationError("webhook secrets must not be empty")
    return secrets


def _digest(body: bytes, secret: Secret) -> str:
    return hmac.new(secret.reveal().encode(), body, hashlib.sha256).hexdigest()


def sign(body: bytes, secret: str | Secret) -> str:
    """The ``X-MsgFlash-Signature`` value MsgFlash would send for ``body``."""
    (key,) = normalize_secrets(secret)
    return _PREFIX + _digest(body, key)


def get_header(headers: Mapping[str, str], name: str) -> str | None:
    """A header value looked up without regard to case, from any mapping."""
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def _parse_header(value: str | None) -> str:
    if value is None:
        raise MissingSignatureError(f"the {SIGNATURE_HEADER} header is missing")
    value = value.strip()
    digest = value[len(_PREFIX) :].lower()
    if (
        value[: len(_PREFIX)].lower() != _PREFIX
        or len(digest) != _DIGEST_LENGTH
        or not _HEX_DIGITS.issuperset(digest)
    ):
        raise MalformedSignatureError(
            f"the {SIGNATURE_HEADER} header is not 'sha256=' followed by "
            f"{_DIGEST_LENGTH} hex digits"
        )
    return digest


def verify_signature(body: bytes, headers: Mapping[str, str], secrets: SecretsLike) -> None:
    """Check the signature of a delivery; raise a ``WebhookVerificationError`` if it fails.

    ``body`` must be the raw bytes as received: re-encoded JSON would not match.
    """
    secrets = mask_secrets(secrets)  # first: the errors raised below show this frame
    check_signature(body, headers, normalize_secrets(secrets))


def check_signature(body: bytes, headers: Mapping[str, str], keys: tuple[Secret, ...]) -> None:
    """:func:`verify_signature` for keys normalised once (a receiver's, per event)."""
    received = _parse_header(get_header(headers, SIGNATURE_HEADER))
    # Every secret is tried, so the time taken does not tell which one matched.
    matches = [hmac.compare_digest(_digest(body, key), received) for key in keys]
    if not any(matches):
        raise InvalidSignatureError(
            f"the {SIGNATURE_HEADER} header matches none of the configured secrets"
        )
