"""From a verified body to a typed event; no I/O."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from .._converter import structure
from .._exceptions import DecodeError
from .._secret import Secret
from ..models.webhooks import (
    InstanceConnected,
    InstanceDisconnected,
    MessageDelivered,
    MessageFailed,
    MessageRead,
    MessageReceived,
    MessageSent,
    UnknownEvent,
    WebhookEvent,
    WebhookEventType,
)
from ._errors import WebhookPayloadError
from ._signature import SecretsLike, check_signature, mask_secrets, verify_signature

__all__ = ["event_from_dict", "parse_event", "verify_and_parse"]

_EVENT_CLASSES: Mapping[WebhookEventType, type[WebhookEvent]] = {
    WebhookEventType.MESSAGE_SENT: MessageSent,
    WebhookEventType.MESSAGE_DELIVERED: MessageDelivered,
    WebhookEventType.MESSAGE_READ: MessageRead,
    WebhookEventType.MESSAGE_FAILED: MessageFailed,
    WebhookEventType.MESSAGE_RECEIVED: MessageReceived,
    WebhookEventType.INSTANCE_CONNECTED: InstanceConnected,
    WebhookEventType.INSTANCE_DISCONNECTED: InstanceDisconnected,
}


def event_from_dict(payload: Mapping[str, Any]) -> WebhookEvent:
    """A decoded payload as its event class; unknown event names give :class:`UnknownEvent`."""
    name = payload.get("event")
    if not isinstance(name, str):
        raise WebhookPayloadError(
            "webhook payload has no string 'event' field", model="WebhookEvent", field="event"
        )
    cls = _EVENT_CLASSES.get(WebhookEventType(name), UnknownEvent)
    raw = dict(payload)
    # ``raw`` is ours, not the sender's: a payload key of that name is not structured.
    fields = {key: value for key, value in raw.items() if key != "raw"}
    try:
        event = structure(fields, cls)
    except DecodeError as exc:
        raise WebhookPayloadError(str(exc), model=exc.model, field=exc.field) from None
    return attrs.evolve(event, raw=raw)


def parse_event(body: bytes) -> WebhookEvent:
    """A raw (already verified) body as a typed event."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # JSONDecodeError, UnicodeDecodeError
        raise WebhookPayloadError("webhook body is not JSON", model="WebhookEvent") from None
    if not isinstance(payload, dict):
        raise WebhookPayloadError(
            f"webhook body is a JSON {type(payload).__name__}, not an object",
            model="WebhookEvent",
        )
    return event_from_dict(payload)


def verify_and_parse(body: bytes, headers: Mapping[str, str], secrets: SecretsLike) -> WebhookEvent:
    """Check the signature of a delivery, then parse it; nothing is parsed before the check.

    Raises a ``WebhookVerificationError`` (answer 401) or a
    :class:`WebhookPayloadError` (the body is signed but is not an event).
    """
    secrets = mask_secrets(secrets)  # first: the errors raised here show this frame
    verify_signature(body, headers, secrets)
    return parse_event(body)


def verified_event(
    body: bytes, headers: Mapping[str, str], keys: tuple[Secret, ...]
) -> WebhookEvent:
    """:func:`verify_and_parse` for keys normalised once: a receiver's per-event path."""
    check_signature(body, headers, keys)
    return parse_event(body)
