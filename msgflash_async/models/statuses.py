"""WhatsApp statuses (stories): the request that publishes one and the reply.

A status is posted from an instance for its contacts to see, like a
WhatsApp story; it counts against the same monthly outbound quota as a
message. Two kinds exist: ``text`` (``content`` is the text, on an optional
``background_color``) and ``image`` (``content`` is a public image URL, with
an optional ``caption``). Build one with :meth:`OutgoingStatus.text_status`
or :meth:`OutgoingStatus.image_status`, which validate at once.
"""

from __future__ import annotations

import attrs
from attrs import frozen

from .._repr import tolerant_attrs_reprs
from ._enums import OpenEnum

__all__ = ["OutgoingStatus", "PublishedStatus", "StatusType"]


class StatusType(OpenEnum):
    """What a status shows."""

    TEXT = "text"
    IMAGE = "image"


def _status_type(value: StatusType | str) -> StatusType:
    return StatusType(value)


@frozen
class OutgoingStatus:
    """The body of ``POST /statuses``; unset (``None``) fields are left out."""

    instance_id: str
    type: StatusType = attrs.field(converter=_status_type)
    content: str
    caption: str | None = None
    background_color: str | None = None

    def validate(self) -> OutgoingStatus:
        """This status if it follows the documented rules, else ``ValidationError``."""
        from ._status_rules import validate_status

        validate_status(self)
        return self

    @classmethod
    def text_status(
        cls, instance_id: str, text: str, *, background_color: str | None = None
    ) -> OutgoingStatus:
        """A text status; ``background_color`` is a hex colour such as ``#25D366``."""
        return cls(instance_id, StatusType.TEXT, text, background_color=background_color).validate()

    @classmethod
    def image_status(
        cls, instance_id: str, image_url: str, *, caption: str | None = None
    ) -> OutgoingStatus:
        """An image status from a public http(s) URL, with an optional caption."""
        return cls(instance_id, StatusType.IMAGE, image_url, caption=caption).validate()


@frozen
class PublishedStatus:
    """The ``201`` reply: the instance it was posted from and WhatsApp's message id."""

    instance_id: str | None = None
    provider_message_id: str | None = None


# Last: converters above can leave a half-built object for a traceback to print.
tolerant_attrs_reprs(globals())
