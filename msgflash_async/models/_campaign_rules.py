"""The documented rules of a campaign body, checked before any request.

A campaign that the server would refuse costs a request; one it would
accept by mistake (the wrong audience, both content modes) costs a message
per recipient. So the documented rules are checked here: exactly one
content mode, the direct types a campaign allows, at most two buttons, at
least one tag or contact id, a ``group_id`` for a group, a timezone-aware
schedule and a known ``repeat``. Types and recipient kinds the SDK does not
know pass with the common checks only, so a new one needs no new SDK.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Final

from .._exceptions import ValidationError
from ._message_rules import MAX_BUTTONS, check_public_url, validate_button
from .campaigns import CampaignContent, Recipients, RecipientType
from .messages import MessageType

if TYPE_CHECKING:
    from .campaigns import NewCampaign

__all__ = ["CAMPAIGN_TYPES", "validate_campaign", "validate_content", "validate_recipients"]

CAMPAIGN_TYPES: Final = frozenset(
    {
        MessageType.TEXT,
        MessageType.IMAGE,
        MessageType.VIDEO,
        MessageType.AUDIO,
        MessageType.DOCUMENT,
        MessageType.VOICE_NOTE,
        MessageType.BUTTONS,
    }
)
"""Direct types a campaign may use: every message type but location and contact."""

_MEDIA: Final = CAMPAIGN_TYPES - {MessageType.TEXT, MessageType.BUTTONS}
_CAPTIONED: Final = frozenset({MessageType.IMAGE, MessageType.VIDEO, MessageType.DOCUMENT})
_BUTTON_FIELDS: Final = ("title", "description", "footer", "buttons")


def validate_campaign(campaign: NewCampaign) -> None:
    """Raise :class:`ValidationError` for the first broken rule of ``campaign``."""
    _require_text(campaign.instance_id, "instance_id")
    _require_text(campaign.name, "name")
    schedule = campaign.schedule
    if not isinstance(schedule, dt.datetime) or schedule.utcoffset() is None:
        raise ValidationError(
            "expected a timezone-aware datetime, e.g. datetime.now(timezone.utc)",
            field="schedule",
        )
    repeat = campaign.repeat
    if repeat is not None and not repeat.known:
        raise ValidationError(
            f"expected 'none', 'daily' or 'weekly', got {repeat.value!r}", field="repeat"
        )
    _expect(campaign.recipients, Recipients, "recipients")
    validate_recipients(campaign.recipients)
    _expect(campaign.content, CampaignContent, "content")
    validate_content(campaign.content)


def validate_recipients(recipients: Recipients) -> None:
    kind = recipients.type
    if kind in (RecipientType.TAGS, RecipientType.EXPLICIT):
        what = "tag" if kind is RecipientType.TAGS else "contact id"
        if not recipients.value:
            raise ValidationError(f"give at least one {what}", field="recipients.value")
        for index, item in enumerate(recipients.value):
            _require_text(item, f"recipients.value[{index}]")
        if recipients.group_id is not None:
            raise ValidationError(
                "group_id goes with a group audience", field="recipients.group_id"
            )
    elif kind is RecipientType.GROUP:
        _require_text(recipients.group_id, "recipients.group_id")
        if recipients.value:
            raise ValidationError("a group audience takes group_id only", field="recipients.value")
    elif kind is RecipientType.ALL and (recipients.value or recipients.group_id is not None):
        raise ValidationError("an 'all' audience takes no value", field="recipients.value")


def validate_content(content: CampaignContent) -> None:
    if (content.template_id is None) == (content.type is None):
        raise ValidationError(
            "give exactly one content mode: a template_id or a direct type", field="content"
        )
    if content.template_id is not None:
        _require_text(content.template_id, "template_id")
        for name in ("body", "media_url", *_BUTTON_FIELDS):
            if getattr(content, name) is not None:
                raise ValidationError(
                    "a template campaign takes its content from the template", field=name
                )
        _check_variables(content.variables)
        return
    kind = content.type
    assert kind is not None
    if content.variables is not None:
        raise ValidationError("variables fill a template's {{custom.*}}", field="variables")
    if kind in (MessageType.LOCATION, MessageType.CONTACT):
        raise ValidationError(f"a campaign cannot send {kind.value!r} messages", field="type")
    if not kind.known:
        return
    _check_direct(content, kind)


def _check_direct(content: CampaignContent, kind: MessageType) -> None:
    if kind is not MessageType.BUTTONS:
        for name in _BUTTON_FIELDS:
            if getattr(content, name) is not None:
                raise ValidationError(f"not used by a {kind.value!r} campaign", field=name)
    if kind not in _MEDIA and content.media_url is not None:
        raise ValidationError(f"not used by a {kind.value!r} campaign", field="media_url")
    if kind is MessageType.TEXT:
        _require_text(content.body, "body")
    elif kind in _MEDIA:
        check_public_url(content.media_url, "media_url")
        if content.body is not None and kind not in _CAPTIONED:
            raise ValidationError(f"a {kind.value!r} campaign has no caption", field="body")
    else:
        _require_text(content.title, "title")
        _require_text(content.description, "description")
        buttons = content.buttons or ()
        if not 1 <= len(buttons) <= MAX_BUTTONS:
            raise ValidationError(
                f"expected 1 to {MAX_BUTTONS} buttons, got {len(buttons)}", field="buttons"
            )
        for index, button in enumerate(buttons):
            validate_button(button, field=f"buttons[{index}]")


def _check_variables(variables: Any) -> None:
    for key in variables or {}:
        if not isinstance(key, str) or not key:
            raise ValidationError(f"keys must be non-empty strings, got {key!r}", field="variables")


def _expect(value: Any, cls: type, field: str) -> None:
    if not isinstance(value, cls):
        raise ValidationError(f"expected a {cls.__name__}, got {type(value).__name__}", field=field)


def _require_text(value: Any, field: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"expected a non-empty string, got {value!r}", field=field)
