"""Webhook events: what MsgFlash posts to your server, as typed values.

The payload is flat JSON keyed by ``event``. Only its first fields are
documented, so every field except ``event`` is optional and the whole payload
is kept in ``raw`` for anything the models do not name. An event name the SDK
does not know becomes an :class:`UnknownEvent`, never an error.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeAlias

import attrs
from attrs import frozen

from .._repr import tolerant_attrs_reprs
from .._secret import Secret
from ._enums import OpenEnum
from .instances import InstanceStatus
from .messages import MessageStatus

__all__ = [
    "InstanceConnected",
    "InstanceDisconnected",
    "InstanceEvent",
    "InstanceStatus",
    "MessageDelivered",
    "MessageEvent",
    "MessageFailed",
    "MessageRead",
    "MessageReceived",
    "MessageSent",
    "MessageStatus",
    "UnknownEvent",
    "WebhookEndpoint",
    "WebhookEvent",
    "WebhookEventType",
]


class WebhookEventType(OpenEnum):
    """The documented event names; others are kept as pseudo-members."""

    INSTANCE_CONNECTED = "instance.connected"
    INSTANCE_DISCONNECTED = "instance.disconnected"
    MESSAGE_SENT = "message.sent"
    MESSAGE_DELIVERED = "message.delivered"
    MESSAGE_READ = "message.read"
    MESSAGE_FAILED = "message.failed"
    MESSAGE_RECEIVED = "message.received"


def _message_status(value: str | None) -> MessageStatus | None:
    return None if value is None else MessageStatus(value)


def _instance_status(value: str | None) -> InstanceStatus | None:
    return None if value is None else InstanceStatus(value)


# The attrs converters keep enum fields enums whoever builds the event (the
# wire converter, a test, a user), and keep unknown values as pseudo-members.
# ``raw``, the whole payload, is left out of repr (it can be large) and of the
# hash (a dict is unhashable), but kept in equality.


@frozen
class MessageEvent:
    """Fields shared by every ``message.*`` event; all but ``event`` may be absent."""

    event: WebhookEventType = attrs.field(converter=WebhookEventType)
    message_id: str | None = None
    instance_id: str | None = None
    provider_message_id: str | None = None
    to: str | None = None
    from_: str | None = None
    status: MessageStatus | None = attrs.field(default=None, converter=_message_status)
    error: Any = attrs.field(default=None, hash=False)
    timestamp: dt.datetime | None = None
    raw: dict[str, Any] = attrs.field(factory=dict, repr=False, hash=False)


@frozen
class MessageSent(MessageEvent):
    """``message.sent``: the provider accepted the message."""


@frozen
class MessageDelivered(MessageEvent):
    """``message.delivered``: the message reached the recipient's phone."""


@frozen
class MessageRead(MessageEvent):
    """``message.read``: the recipient opened the message."""


@frozen
class MessageFailed(MessageEvent):
    """``message.failed``: the message will not be delivered; see ``error``."""


@frozen
class MessageReceived(MessageEvent):
    """``message.received``: an inbound message; its payload is not documented."""

    body: str | None = None
    text: str | None = None
    type_: str | None = None
    media_url: str | None = None


@frozen
class InstanceEvent:
    """Fields shared by ``instance.*`` events; the payload is not documented."""

    event: WebhookEventType = attrs.field(converter=WebhookEventType)
    instance_id: str | None = None
    status: InstanceStatus | None = attrs.field(default=None, converter=_instance_status)
    wa_number: str | None = None
    provider_state: str | None = None
    timestamp: dt.datetime | None = None
    raw: dict[str, Any] = attrs.field(factory=dict, repr=False, hash=False)


@frozen
class InstanceConnected(InstanceEvent):
    """``instance.connected``: the WhatsApp number is online."""


@frozen
class InstanceDisconnected(InstanceEvent):
    """``instance.disconnected``: the WhatsApp number went offline."""


@frozen
class UnknownEvent:
    """An event name this SDK does not know; everything is in ``raw``."""

    event: WebhookEventType = attrs.field(converter=WebhookEventType)
    raw: dict[str, Any] = attrs.field(factory=dict, repr=False, hash=False)


WebhookEvent: TypeAlias = (
    MessageSent
    | MessageDelivered
    | MessageRead
    | MessageFailed
    | MessageReceived
    | InstanceConnected
    | InstanceDisconnected
    | UnknownEvent
)


@frozen
class WebhookEndpoint:
    """A URL registered to receive events (``client.webhooks``).

    ``secret`` signs every delivery to this endpoint; the API returns it only
    in the reply to ``create()`` (list replies leave it out), so store it
    then: ``endpoint.secret.reveal()``. It never shows in ``repr``. The two
    documented create replies differ (one has ``created_at``, the other
    ``active``), hence both are optional.
    """

    id: str
    url: str | None = None
    events: tuple[WebhookEventType, ...] = ()
    secret: Secret | None = None
    active: bool | None = None
    created_at: dt.datetime | None = None


# Last: converters above can leave a half-built object for a traceback to print.
tolerant_attrs_reprs(globals())
