"""The documented rules of a send body, checked before any request.

A refused message costs no request, no rate-limit slot and no monthly
outbound quota. Only what the documentation states (or what can only be a
mistake, like a map pin on a text message) is refused; types the SDK does
not know are passed through with the common checks only, so a new type on
the server does not need a new SDK.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from .._exceptions import ValidationError
from .._validation import check_phone
from .messages import Button, ButtonType, MessageType

if TYPE_CHECKING:
    from .messages import OutgoingMessage

__all__ = ["MAX_BUTTONS", "check_public_url", "validate_button", "validate_outgoing"]

MAX_BUTTONS: Final = 2
"""Buttons one ``buttons`` message may carry."""

_MEDIA: Final = frozenset(
    {
        MessageType.IMAGE,
        MessageType.VIDEO,
        MessageType.AUDIO,
        MessageType.VOICE_NOTE,
        MessageType.DOCUMENT,
    }
)

# Fields that belong to one family of types: setting them on another type is
# a mistake the server would silently ignore (or refuse after a request).
_FAMILIES: Final[dict[str, frozenset[MessageType]]] = {
    "media_url": _MEDIA,
    "latitude": frozenset({MessageType.LOCATION}),
    "longitude": frozenset({MessageType.LOCATION}),
    "location_name": frozenset({MessageType.LOCATION}),
    "location_address": frozenset({MessageType.LOCATION}),
    "title": frozenset({MessageType.BUTTONS}),
    "description": frozenset({MessageType.BUTTONS}),
    "footer": frozenset({MessageType.BUTTONS}),
    "buttons": frozenset({MessageType.BUTTONS}),
}

# What each button kind needs besides its display text.
_BUTTON_NEEDS: Final[dict[ButtonType, tuple[str, ...]]] = {
    ButtonType.REPLY: (),
    ButtonType.URL: ("url",),
    ButtonType.CALL: ("phone_number",),
    ButtonType.COPY: ("copy_code",),
    ButtonType.PIX: ("currency", "name", "key_type", "key"),
}


def validate_outgoing(message: OutgoingMessage) -> None:
    """Raise :class:`ValidationError` for the first broken rule of ``message``."""
    if message.instance_id is not None:  # None: the client's default, checked at send
        _require_text(message.instance_id, "instance_id")
    check_phone(message.to, "to")
    if message.type is None and message.template_id is None:
        raise ValidationError("give a message type or a template_id", field="type")
    if message.type is not None and message.template_id is not None:
        raise ValidationError(
            "give either a message type or a template_id, not both", field="template_id"
        )
    if message.variables is not None:
        _check_variables(message.variables)
    if message.template_id is not None:
        _check_template_mode(message)
    else:
        _check_direct_mode(message)


def _check_template_mode(message: OutgoingMessage) -> None:
    _require_text(message.template_id, "template_id")
    # The template supplies the content; anything else would be ignored.
    for name in ("text", *_FAMILIES):
        if getattr(message, name) is not None:
            raise ValidationError(
                "a template message takes its content from the template", field=name
            )


def _check_direct_mode(message: OutgoingMessage) -> None:
    kind = message.type
    assert kind is not None
    if message.variables is not None:
        raise ValidationError(
            "variables fill {{custom.*}} placeholders: template messages only",
            field="variables",
        )
    if not kind.known:
        return
    for name, kinds in _FAMILIES.items():
        if getattr(message, name) is not None and kind not in kinds:
            raise ValidationError(f"not used by a {kind.value!r} message", field=name)
    if kind is MessageType.TEXT:
        _require_text(message.text, "text")
    elif kind in _MEDIA:
        check_public_url(message.media_url, "media_url")
    elif kind is MessageType.LOCATION:
        _check_coordinate(message.latitude, "latitude", 90.0)
        _check_coordinate(message.longitude, "longitude", 180.0)
    elif kind is MessageType.CONTACT:
        _require_text(message.contact_id, "contact_id")
    elif kind is MessageType.BUTTONS:
        _check_buttons(message)


def _check_buttons(message: OutgoingMessage) -> None:
    _require_text(message.title, "title")
    _require_text(message.description, "description")
    buttons = message.buttons or ()
    if not 1 <= len(buttons) <= MAX_BUTTONS:
        raise ValidationError(
            f"expected 1 to {MAX_BUTTONS} buttons, got {len(buttons)}", field="buttons"
        )
    for index, button in enumerate(buttons):
        validate_button(button, field=f"buttons[{index}]")


def validate_button(button: Button, *, field: str = "button") -> None:
    """Raise :class:`ValidationError` if ``button`` lacks what its kind needs."""
    if not isinstance(button, Button):
        raise ValidationError(f"expected a Button, got {type(button).__name__}", field=field)
    _require_text(button.display_text, f"{field}.display_text")
    for name in _BUTTON_NEEDS.get(button.type, ()):
        if not isinstance(getattr(button, name), str) or not getattr(button, name):
            raise ValidationError(
                f"a {button.type.value!r} button needs {name}", field=f"{field}.{name}"
            )
    if button.type is ButtonType.URL:
        check_public_url(button.url, f"{field}.url")


def check_public_url(value: Any, field: str) -> None:
    """Raise :class:`ValidationError` unless ``value`` is an absolute http(s) URL with a host.

    The server fetches media and opens link buttons from the public web, so
    ``ftp://...``, a bare path or a word cannot work; it answers them with
    ``400 VALIDATION_ERROR``, after a request. Spaces and control characters
    are refused too: they have to be percent-encoded in a URL.
    """
    _require_text(value, field)
    if any(char.isspace() or ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        raise ValidationError(
            f"a URL has no spaces or control characters (percent-encode them), got {value!r}",
            field=field,
        )
    try:
        parts = urlsplit(value)
        host, _ = parts.hostname, parts.port  # .port raises ValueError when malformed
    except ValueError:
        raise ValidationError(f"not a valid URL: {value!r}", field=field) from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise ValidationError(
            f"expected an absolute http:// or https:// URL with a host, got {value!r}",
            field=field,
        )


def _check_coordinate(value: Any, field: str, limit: float) -> None:
    if value is None:
        raise ValidationError("a location message needs coordinates", field=field)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValidationError(f"expected a number, got {value!r}", field=field)
    if not -limit <= value <= limit:
        raise ValidationError(f"must be between -{limit:g} and {limit:g}, got {value}", field=field)


def _check_variables(variables: Mapping[str, Any]) -> None:
    for key in variables:
        if not isinstance(key, str) or not key:
            raise ValidationError(f"keys must be non-empty strings, got {key!r}", field="variables")


def _require_text(value: Any, field: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"expected a non-empty string, got {value!r}", field=field)
