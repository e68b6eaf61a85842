"""The documented rules of a status body, checked before any request."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._exceptions import ValidationError
from .._validation import check_color
from ._message_rules import check_public_url
from .statuses import StatusType

if TYPE_CHECKING:
    from .statuses import OutgoingStatus

__all__ = ["validate_status"]


def validate_status(status: OutgoingStatus) -> None:
    """Raise :class:`ValidationError` for the first broken rule of ``status``."""
    _require_text(status.instance_id, "instance_id")
    kind = StatusType(status.type) if isinstance(status.type, str) else status.type
    if kind is StatusType.TEXT:
        _require_text(status.content, "content")
        if status.caption is not None:
            raise ValidationError("a caption goes with an image status", field="caption")
        if status.background_color is not None:
            check_color(status.background_color, "background_color")
    elif kind is StatusType.IMAGE:
        check_public_url(status.content, "content")
        if status.background_color is not None:
            raise ValidationError(
                "a background colour goes with a text status", field="background_color"
            )
        if status.caption is not None:
            _require_text(status.caption, "caption")
    else:
        raise ValidationError(
            f"expected 'text' or 'image', got {getattr(kind, 'value', kind)!r}", field="type"
        )


def _require_text(value: object, field: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"expected a non-empty string, got {value!r}", field=field)
