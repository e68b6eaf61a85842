"""``client.webhooks``: register, list and remove the URLs MsgFlash posts events to.

The signing secret of an endpoint is returned once, in the reply to
``create()``; store it then (``endpoint.secret.reveal()``) and give it to a
``WebhookReceiver``. Receiving and verifying deliveries is
:mod:`msgflash_async.webhooks`; this module only manages endpoints.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final
from urllib.parse import urlsplit

import attrs

from .._converter import structure
from .._exceptions import DecodeError, ValidationError
from .._pagination import AsyncPaginator
from .._secret import Secret
from .._validation import is_loopback
from ..models.webhooks import WebhookEndpoint, WebhookEventType
from ._base import Resource, api_path, unwrap

__all__ = ["MAX_WEBHOOK_EVENTS", "Webhooks", "check_webhook_events", "check_webhook_url"]

MAX_WEBHOOK_EVENTS: Final = 50
"""Most event names one endpoint may subscribe to (documented as 1 to 50)."""


def check_webhook_url(value: object) -> str:
    """``value`` if it is an absolute HTTPS URL (plain HTTP only to a loopback host).

    The guide requires HTTPS; plain ``http://127.0.0.1``, ``http://localhost``
    and ``http://[::1]`` are let through for local testing against the emulator.
    """
    if not isinstance(value, str) or not value or value != value.strip():
        raise ValidationError(f"expected a URL string, got {value!r}", field="url")
    try:
        parts = urlsplit(value)
        host, _ = parts.hostname, parts.port  # .port raises ValueError when malformed
    except ValueError:
        raise ValidationError(f"not a valid URL: {value!r}", field="url") from None
    if not host:
        raise ValidationError(f"the URL has no host: {value!r}", field="url")
    scheme = parts.scheme.lower()
    if scheme == "https" or (scheme == "http" and is_loopback(host)):
        return value
    raise ValidationError(
        f"webhook URLs must use https:// (http:// only for a loopback host), got {value!r}",
        field="url",
    )


def check_webhook_events(events: Iterable[str | WebhookEventType]) -> list[str]:
    """The event names to send: 1 to 50, each a documented name, none repeated."""
    if isinstance(events, str):
        # A bare string is iterable too: "message.sent" would become 12 letters.
        raise ValidationError("events must be a list of event names, not a string", field="events")
    names = [event.value if isinstance(event, WebhookEventType) else event for event in events]
    if not 1 <= len(names) <= MAX_WEBHOOK_EVENTS:
        raise ValidationError(
            f"expected 1 to {MAX_WEBHOOK_EVENTS} events, got {len(names)}", field="events"
        )
    for name in names:
        if not isinstance(name, str) or not WebhookEventType(name).known:
            known = ", ".join(member.value for member in WebhookEventType)
            message = f"unknown event {name!r}; expected one of {known}"
            raise ValidationError(message, field="events")
    if len(set(names)) != len(names):
        raise ValidationError("events must not repeat a name", field="events")
    return names


def _take_secret(data: Any) -> Secret | None:
    """Move the one-time signing secret out of the reply into a :class:`Secret`.

    Done before anything else reads the reply: the dict is a local of the
    frames a ``DecodeError`` raised while structuring it carries, and a
    traceback printed with locals must not show the secret.
    """
    if not isinstance(data, dict) or "secret" not in data:
        return None
    value = data.pop("secret")
    if value is None or isinstance(value, str):
        return None if value is None else Secret(value)
    kind = type(value).__name__
    del value  # whatever it holds, the error below shows this frame
    raise DecodeError(
        f"response does not fit WebhookEndpoint: secret: expected a string, got a {kind}",
        model="WebhookEndpoint",
        field="secret",
    )


class Webhooks(Resource):
    """Create, list and delete webhook endpoints."""

    def list(self) -> AsyncPaginator[WebhookEndpoint]:
        """Every endpoint: ``await`` for them as one page, or ``async for`` each.

        The reply shape is not documented: a plain array and an object with a
        ``webhooks`` or ``items`` array are all read. Secrets are not listed.
        """
        return self._whole_list(api_path("webhooks"), WebhookEndpoint, ("webhooks", "items"))

    async def create(
        self, *, url: str, events: Iterable[str | WebhookEventType]
    ) -> WebhookEndpoint:
        """Register ``url`` for ``events``; the reply carries the signing secret, once.

        Both arguments are checked first (``ValidationError``, no request).
        Not retried once sent: a retry could register the URL twice.
        """
        body = {"url": check_webhook_url(url), "events": check_webhook_events(events)}
        response = await self._call("POST", api_path("webhooks"), json=body)
        data = unwrap(response.data, "webhook")
        secret = _take_secret(data)
        endpoint = structure(data, WebhookEndpoint)
        return endpoint if secret is None else attrs.evolve(endpoint, secret=secret)

    async def delete(self, webhook_id: str) -> None:
        """Remove an endpoint (``NotFoundError`` if it does not exist)."""
        await self._delete(api_path("webhooks", webhook_id))
