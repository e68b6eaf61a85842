"""Errors of webhook verification and parsing.

::

    WebhookVerificationError        (msgflash_async._exceptions) -> answer 401
    ├── MissingSignatureError       no X-MsgFlash-Signature header
    ├── MalformedSignatureError     not ``sha256=`` followed by 64 hex digits
    └── InvalidSignatureError       no configured secret produces this signature
    DecodeError                     (msgflash_async._exceptions)
    └── WebhookPayloadError         signed, but not a JSON object with a string ``event``

Messages never contain a secret, the expected digest or the received one.
"""

from __future__ import annotations

from .._exceptions import DecodeError, WebhookVerificationError

__all__ = [
    "InvalidSignatureError",
    "MalformedSignatureError",
    "MissingSignatureError",
    "WebhookPayloadError",
]


class MissingSignatureError(WebhookVerificationError):
    """The delivery carries no ``X-MsgFlash-Signature`` header."""


class MalformedSignatureError(WebhookVerificationError):
    """The signature header is not ``sha256=`` followed by 64 hex digits."""


class InvalidSignatureError(WebhookVerificationError):
    """The signature matches none of the configured secrets (forged, tampered or stale)."""


class WebhookPayloadError(DecodeError):
    """A correctly signed body that is not an event: not JSON, not an object, bad fields."""
