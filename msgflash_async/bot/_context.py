"""What a bot handler is handed: the event, who sent it, and ways to answer.

:class:`BotEvent` wraps one webhook event with the bot's client, the
sender's state and conversation, and what the filters and middlewares found
(``data``: the regex ``match``, the command ``args``, an injected database
session, ...). Its ``reply*`` methods send to the sender through the
instance the event came in on.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypedDict

from .._exceptions import ValidationError
from .._repr import tolerant_repr
from ..models.messages import Button, Message, MessageStatus, MessageType, OutgoingMessage
from ..models.webhooks import (
    InstanceEvent,
    MessageEvent,
    MessageReceived,
    WebhookEvent,
    WebhookEventType,
)
from ._state import StateContext, StateStorage

if TYPE_CHECKING:
    from .._client import MsgFlashClient
    from ._conversation import Conversation, Hub

__all__ = ["BotEvent", "UNKNOWN", "event_kind"]

UNKNOWN = "unknown"
"""The kind handlers of events this SDK does not know are registered under."""

_KNOWN = frozenset(WebhookEventType)


def event_kind(event: WebhookEvent) -> str:
    """The event name, or :data:`UNKNOWN` for names the SDK does not know."""
    return event.event.value if event.event in _KNOWN else UNKNOWN


def _sender_of(event: WebhookEvent) -> str | None:
    # Inbound: who wrote. A status: the number it concerns, so it queues with that sender.
    if isinstance(event, MessageReceived):
        return event.from_
    if isinstance(event, MessageEvent):
        return event.to
    return None


class _Target(TypedDict):
    instance_id: str
    to: str


class BotEvent:
    """One event as a handler sees it."""

    def __init__(
        self, event: WebhookEvent, *, client: MsgFlashClient, storage: StateStorage, hub: Hub
    ) -> None:
        self.event = event
        self.client = client
        self.data: dict[str, Any] = {}
        """Values from filters (``match``, ``command``, ``args``) and middlewares."""
        self.kind = event_kind(event)
        self.sender = _sender_of(event)
        instance = getattr(event, "instance_id", None)
        self.instance_id: str | None = instance if isinstance(instance, str) else None
        self.hub = hub
        self._storage = storage
        self._state: StateContext | None = None
        self._conversation: Conversation | None = None

    @tolerant_repr
    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.event!r})"

    # -- what the event says --------------------------------------------------------

    @property
    def sender_key(self) -> Hashable:
        """What orders events: one lane per (instance, number), one per instance for its own."""
        if self.sender is not None:
            return (self.instance_id, self.sender)
        if isinstance(self.event, InstanceEvent) and self.instance_id is not None:
            return ("instance", self.instance_id)
        return None  # unknown events: no order to keep

    @property
    def text(self) -> str | None:
        """The inbound message's text (``text``, else ``body``), or None."""
        event = self.event
        if isinstance(event, MessageReceived):
            return event.text if event.text is not None else event.body
        return None

    @property
    def message_type(self) -> MessageType | None:
        """The inbound message's type; a text when the payload does not say."""
        event = self.event
        if not isinstance(event, MessageReceived):
            return None
        return MessageType(event.type_) if event.type_ else MessageType.TEXT

    @property
    def media_url(self) -> str | None:
        """The inbound media message's URL, or None."""
        return self.event.media_url if isinstance(self.event, MessageReceived) else None

    @property
    def message_id(self) -> str | None:
        return self.event.message_id if isinstance(self.event, MessageEvent) else None

    @property
    def match(self) -> re.Match[str] | None:
        """What the :func:`regex` filter matched."""
        found = self.data.get("match")
        return found if isinstance(found, re.Match) else None

    @property
    def args(self) -> str:
        """The text after the command, for the :func:`command` filter ("" if none)."""
        return str(self.data.get("args", ""))

    # -- state and conversation -------------------------------------------------------

    @property
    def state(self) -> StateContext:
        """The sender's conversation state (read lazily, once per event)."""
        if self._state is None:
            who = self.sender or "-"
            self._state = StateContext(self._storage, f"{self.instance_id or '-'}:{who}")
        return self._state

    @property
    def conversation(self) -> Conversation:
        """Ask the sender a question, wait for a message status (in a handler only)."""
        if self._conversation is None:
            raise RuntimeError("a conversation exists only inside a bot handler")
        return self._conversation

    @conversation.setter
    def conversation(self, value: Conversation) -> None:
        self._conversation = value

    # -- answering ------------------------------------------------------------------

    def _target(self) -> _Target:
        if self.instance_id is None or self.sender is None:
            raise ValidationError(f"a {self.kind} event has no sender to reply to", field="to")
        return {"instance_id": self.instance_id, "to": self.sender}

    async def send(self, message: OutgoingMessage) -> Message:
        """Send a message you built; its status is then followed from the webhook stream."""
        sent = await self.client.messages.send(message)
        self.hub.tracker.record(sent.id, sent.status or MessageStatus.QUEUED)
        return sent

    async def reply(self, text: str) -> Message:
        """Send ``text`` to the sender through the instance the event came in on."""
        return await self.send(OutgoingMessage.text_message(**self._target(), text=text))

    async def reply_image(self, media_url: str, *, caption: str | None = None) -> Message:
        return await self.send(
            OutgoingMessage.image_message(**self._target(), media_url=media_url, caption=caption)
        )

    async def reply_video(self, media_url: str, *, caption: str | None = None) -> Message:
        return await self.send(
            OutgoingMessage.video_message(**self._target(), media_url=media_url, caption=caption)
        )

    async def reply_document(self, media_url: str, *, caption: str | None = None) -> Message:
        return await self.send(
            OutgoingMessage.document_message(**self._target(), media_url=media_url, caption=caption)
        )

    async def reply_audio(self, media_url: str) -> Message:
        return await self.send(OutgoingMessage.audio_message(**self._target(), media_url=media_url))

    async def reply_voice_note(self, media_url: str) -> Message:
        return await self.send(
            OutgoingMessage.voice_note_message(**self._target(), media_url=media_url)
        )

    async def reply_location(
        self,
        latitude: float,
        longitude: float,
        *,
        name: str | None = None,
        address: str | None = None,
    ) -> Message:
        message = OutgoingMessage.location_message(
            **self._target(), latitude=latitude, longitude=longitude, name=name, address=address
        )
        return await self.send(message)

    async def reply_contact(self, contact_id: str) -> Message:
        return await self.send(
            OutgoingMessage.contact_message(**self._target(), contact_id=contact_id)
        )

    async def reply_buttons(
        self, *, title: str, description: str, buttons: Iterable[Button], footer: str | None = None
    ) -> Message:
        message = OutgoingMessage.buttons_message(
            **self._target(), title=title, description=description, buttons=buttons, footer=footer
        )
        return await self.send(message)

    async def reply_template(
        self,
        template_id: str,
        *,
        contact_id: str | None = None,
        variables: Mapping[str, Any] | None = None,
    ) -> Message:
        message = OutgoingMessage.template_message(
            **self._target(), template_id=template_id, contact_id=contact_id, variables=variables
        )
        return await self.send(message)
