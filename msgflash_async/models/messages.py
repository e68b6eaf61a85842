"""Messages: what the API reports about one, and the request that sends one.

:class:`Message` keeps every documented field, but only ``id`` is required:
the send reply may be just ``{id, status}`` and list items carry an empty
``meta``. :class:`OutgoingMessage` is the body of ``POST /messages/send``
(and of ``/messages/schedule``, with ``scheduled_at``). Build it with the
named constructors (``OutgoingMessage.text_message(...)`` and friends),
which only accept the fields each type needs; ``validate()`` applies the
documented rules to a hand-built one, and ``messages.send()`` runs it before
any request. The rules themselves live in :mod:`._message_rules`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
from attrs import frozen

from .._repr import tolerant_attrs_reprs
from ._enums import OpenEnum

__all__ = [
    "Button",
    "ButtonType",
    "Message",
    "MessageDirection",
    "MessageMeta",
    "MessageStatus",
    "MessageType",
    "OutgoingMessage",
    "SafetyDecision",
    "WorkerSafety",
    "status_reached",
]


class MessageType(OpenEnum):
    """What a message carries; template mode renders into one of these."""

    TEXT = "text"
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    DOCUMENT = "document"
    VOICE_NOTE = "voice_note"
    LOCATION = "location"
    CONTACT = "contact"
    BUTTONS = "buttons"


class MessageDirection(OpenEnum):
    """``outbound`` is the only documented value; ``inbound`` is the likely other."""

    OUTBOUND = "outbound"
    INBOUND = "inbound"


class MessageStatus(OpenEnum):
    """Where a message is; the full list is not documented (unknown ones are kept).

    ``queued -> sent -> delivered -> read`` is the delivery lifecycle;
    ``failed`` and ``cancelled`` end it early; ``scheduled`` / ``planned``
    come before ``queued`` for scheduled and campaign messages.

    The list is open: the provider adds statuses (``played`` after ``read``,
    ``server_ack`` before ``sent``). An unknown status (``.known`` False)
    counts as progress past every known status seen before it, and since
    the SDK cannot place it against the one awaited, it ends a wait
    (``messages.wait_for_status()``, ``StatusTracker.wait_for()``), which
    returns it instead of waiting for a status that may never come.
    """

    SCHEDULED = "scheduled"
    PLANNED = "planned"
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        """True for ``read``, ``failed`` and ``cancelled``: nothing comes after them."""
        return self in _FINAL


_FINAL = frozenset({MessageStatus.READ, MessageStatus.FAILED, MessageStatus.CANCELLED})

# Rank in the delivery lifecycle; a later rank implies every earlier one.
_LIFECYCLE: dict[MessageStatus, int] = {
    MessageStatus.SCHEDULED: 0,
    MessageStatus.PLANNED: 0,
    MessageStatus.QUEUED: 1,
    MessageStatus.SENT: 2,
    MessageStatus.DELIVERED: 3,
    MessageStatus.READ: 4,
}


def status_reached(current: MessageStatus | str | None, target: MessageStatus | str) -> bool:
    """True when a message in ``current`` has got at least as far as ``target``.

    ``read`` counts as ``delivered`` (a webhook or a poll may skip a step);
    statuses outside the lifecycle (``failed``, unknown ones) only match
    themselves.
    """
    if current is None:
        return False
    now, goal = MessageStatus(current), MessageStatus(target)
    if now in _LIFECYCLE and goal in _LIFECYCLE:
        return _LIFECYCLE[now] >= _LIFECYCLE[goal]
    return now == goal


class SafetyDecision(OpenEnum):
    """The anti-ban worker's verdict on a send (V1: informational only)."""

    ALLOW = "allow"
    WARN = "warn"


@frozen
class WorkerSafety:
    """The sending-safety assessment stored in a message's ``meta``.

    ``risk_level`` (``low``, ``medium``, ...) and ``state`` (``stable``,
    ``warming``, ...) are only seen in examples, so they stay plain strings.
    """

    decision: SafetyDecision | None = None
    risk_level: str | None = None
    state: str | None = None
    score: float | None = None


@frozen
class MessageMeta:
    """Provider and safety details; empty in list items."""

    worker_safety: WorkerSafety | None = None
    provider_result: dict[str, Any] | None = attrs.field(default=None, hash=False)


@frozen
class Message:
    """One message as the API reports it; everything but ``id`` may be absent.

    ``body`` is the text actually sent (a template's rendered text in
    template mode). ``error`` is whatever the server put there: its shape
    when set is not documented.
    """

    id: str
    status: MessageStatus | None = None
    instance_id: str | None = None
    to: str | None = None
    type: MessageType | None = None
    direction: MessageDirection | None = None
    body: str | None = None
    media_url: str | None = None
    user_id: str | None = None
    contact_id: str | None = None
    campaign_id: str | None = None
    from_: str | None = None
    error: Any = attrs.field(default=None, hash=False)
    meta: MessageMeta | None = None
    provider_message_id: str | None = None
    scheduled_at: dt.datetime | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None

    @property
    def worker_safety(self) -> WorkerSafety | None:
        """``meta.worker_safety``, or None when the server sent none."""
        return None if self.meta is None else self.meta.worker_safety


class ButtonType(OpenEnum):
    """Kinds of buttons; each needs its own field (see :class:`Button`)."""

    REPLY = "reply"
    URL = "url"
    CALL = "call"
    COPY = "copy"
    PIX = "pix"


def _button_type(value: ButtonType | str) -> ButtonType:
    return ButtonType(value)


@frozen
class Button:
    """One button of a ``buttons`` message; build it with the named constructors.

    ``reply`` needs nothing more than its text (``id`` is echoed back when
    the recipient taps it), ``url`` needs ``url`` (an absolute http(s) URL),
    ``call`` needs ``phone_number``, ``copy`` needs ``copy_code``, and ``pix``
    (a Brazilian instant-payment key) needs ``currency``, ``name``,
    ``key_type`` and ``key``.
    """

    type: ButtonType = attrs.field(converter=_button_type)
    display_text: str
    id: str | None = None
    url: str | None = None
    phone_number: str | None = None
    copy_code: str | None = None
    currency: str | None = None
    name: str | None = None
    key_type: str | None = None
    key: str | None = None

    @classmethod
    def reply(cls, display_text: str, *, id: str | None = None) -> Button:
        """A quick-reply button; ``id`` identifies the answer in the inbound event."""
        return cls(ButtonType.REPLY, display_text, id=id)

    @classmethod
    def link(cls, display_text: str, url: str, *, id: str | None = None) -> Button:
        """A button that opens ``url`` (kind ``url``)."""
        return cls(ButtonType.URL, display_text, id=id, url=url)

    @classmethod
    def call(cls, display_text: str, phone_number: str, *, id: str | None = None) -> Button:
        """A button that calls ``phone_number``."""
        return cls(ButtonType.CALL, display_text, id=id, phone_number=phone_number)

    @classmethod
    def copy(cls, display_text: str, copy_code: str, *, id: str | None = None) -> Button:
        """A button that copies ``copy_code`` to the clipboard."""
        return cls(ButtonType.COPY, display_text, id=id, copy_code=copy_code)

    @classmethod
    def pix(
        cls,
        display_text: str,
        *,
        key: str,
        key_type: str,
        name: str,
        currency: str = "BRL",
        id: str | None = None,
    ) -> Button:
        """A Pix payment button (Pix is Brazilian, hence the ``BRL`` default)."""
        return cls(
            ButtonType.PIX,
            display_text,
            id=id,
            currency=currency,
            name=name,
            key_type=key_type,
            key=key,
        )


def optional_message_type(value: MessageType | str | None) -> MessageType | None:
    return None if value is None else MessageType(value)


def optional_buttons(value: Iterable[Button] | None) -> tuple[Button, ...] | None:
    return None if value is None else tuple(value)


def copied_variables(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    # A copy: the caller's dict may change after the message was built.
    return None if value is None else dict(value)


@frozen
class OutgoingMessage:
    """The body of a send: direct (``type``) or template (``template_id``) mode.

    Unset (``None``) fields are left out of the request. Prefer the named
    constructors, which take exactly what each type needs and validate at
    once; a hand-built message is validated by ``messages.send()``.
    ``media_url`` must be a public, absolute ``http://`` or ``https://`` URL.
    ``scheduled_at`` is set by ``messages.schedule()``, not by ``send()``.
    """

    instance_id: str | None  # None: the client's default instance, filled in at send
    to: str
    type: MessageType | None = attrs.field(default=None, converter=optional_message_type)
    template_id: str | None = None
    text: str | None = None
    media_url: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    location_name: str | None = None
    location_address: str | None = None
    contact_id: str | None = None
    variables: dict[str, Any] | None = attrs.field(
        default=None, converter=copied_variables, hash=False
    )
    title: str | None = None
    description: str | None = None
    footer: str | None = None
    buttons: tuple[Button, ...] | None = attrs.field(default=None, converter=optional_buttons)
    scheduled_at: dt.datetime | None = None

    def validate(self) -> OutgoingMessage:
        """This message if it follows the documented rules, else ``ValidationError``."""
        from ._message_rules import validate_outgoing

        validate_outgoing(self)
        return self

    # The builders take keywords only: two positional ids of the same type
    # (instance and recipient) are easy to swap. ``instance_id`` may be left
    # out when the client has a default (``MsgFlashClient(instance_id=...)``
    # or ``MSGFLASH_INSTANCE_ID``); the send fills it in.
    @classmethod
    def text_message(
        cls, *, instance_id: str | None = None, to: str, text: str, contact_id: str | None = None
    ) -> OutgoingMessage:
        """A plain text message (``contact_id`` links it to a stored contact)."""
        return cls(instance_id, to, MessageType.TEXT, text=text, contact_id=contact_id).validate()

    @classmethod
    def image_message(
        cls,
        *,
        instance_id: str | None = None,
        to: str,
        media_url: str,
        caption: str | None = None,
    ) -> OutgoingMessage:
        """An image from a public URL, with an optional caption."""
        return cls._media(MessageType.IMAGE, instance_id, to, media_url, caption)

    @classmethod
    def video_message(
        cls,
        *,
        instance_id: str | None = None,
        to: str,
        media_url: str,
        caption: str | None = None,
    ) -> OutgoingMessage:
        """A video from a public URL, with an optional caption."""
        return cls._media(MessageType.VIDEO, instance_id, to, media_url, caption)

    @classmethod
    def audio_message(
        cls, *, instance_id: str | None = None, to: str, media_url: str
    ) -> OutgoingMessage:
        """An audio file from a public URL."""
        return cls._media(MessageType.AUDIO, instance_id, to, media_url, None)

    @classmethod
    def voice_note_message(
        cls, *, instance_id: str | None = None, to: str, media_url: str
    ) -> OutgoingMessage:
        """A voice note (push-to-talk) from a public URL, typically ``.ogg``."""
        return cls._media(MessageType.VOICE_NOTE, instance_id, to, media_url, None)

    @classmethod
    def document_message(
        cls,
        *,
        instance_id: str | None = None,
        to: str,
        media_url: str,
        caption: str | None = None,
    ) -> OutgoingMessage:
        """A document from a public URL, with an optional caption."""
        return cls._media(MessageType.DOCUMENT, instance_id, to, media_url, caption)

    @classmethod
    def _media(
        cls,
        kind: MessageType,
        instance_id: str | None,
        to: str,
        media_url: str,
        caption: str | None,
    ) -> OutgoingMessage:
        return cls(instance_id, to, kind, media_url=media_url, text=caption).validate()

    @classmethod
    def location_message(
        cls,
        *,
        instance_id: str | None = None,
        to: str,
        latitude: float,
        longitude: float,
        name: str | None = None,
        address: str | None = None,
    ) -> OutgoingMessage:
        """A map pin; ``name`` and ``address`` label it."""
        return cls(
            instance_id,
            to,
            MessageType.LOCATION,
            latitude=latitude,
            longitude=longitude,
            location_name=name,
            location_address=address,
        ).validate()

    @classmethod
    def contact_message(
        cls, *, instance_id: str | None = None, to: str, contact_id: str
    ) -> OutgoingMessage:
        """Share a stored contact (by its id) as a contact card."""
        return cls(instance_id, to, MessageType.CONTACT, contact_id=contact_id).validate()

    @classmethod
    def buttons_message(
        cls,
        *,
        instance_id: str | None = None,
        to: str,
        title: str,
        description: str,
        buttons: Iterable[Button],
        footer: str | None = None,
    ) -> OutgoingMessage:
        """A message with one or two buttons under a title and a description."""
        return cls(
            instance_id,
            to,
            MessageType.BUTTONS,
            title=title,
            description=description,
            footer=footer,
            buttons=tuple(buttons),
        ).validate()

    @classmethod
    def template_message(
        cls,
        *,
        instance_id: str | None = None,
        to: str,
        template_id: str,
        contact_id: str | None = None,
        variables: Mapping[str, Any] | None = None,
    ) -> OutgoingMessage:
        """Render a stored template: ``variables`` fill ``{{custom.*}}``.

        ``contact_id`` gives the server the contact whose fields fill
        ``{{contact.*}}``; without it such a template fails with
        ``TEMPLATE_CONTEXT_UNAVAILABLE`` or ``TEMPLATE_VARIABLES_MISSING``.
        """
        return cls(
            instance_id,
            to,
            template_id=template_id,
            contact_id=contact_id,
            variables=variables,
        ).validate()


# Last: converters above can leave a half-built object for a traceback to print.
tolerant_attrs_reprs(globals())
