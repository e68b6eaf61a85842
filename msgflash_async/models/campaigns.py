"""Campaigns: one request that has the server send to many stored contacts.

:class:`NewCampaign` is the body of ``POST /campaigns``: who (a
:class:`Recipients`), what (a :class:`CampaignContent`, either a stored
template with global ``variables`` or direct content of one type), from
which instance, when (``schedule``) and how often (``repeat``).
:class:`Campaign` is what the API reports, with its :class:`CampaignStats`
and, on create and resume, the informational :class:`SafetyGuidance`.
The rules live in :mod:`._campaign_rules`; ``validate()`` applies them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
from attrs import frozen

from .._repr import tolerant_attrs_reprs
from ._enums import OpenEnum
from .messages import (
    Button,
    MessageType,
    SafetyDecision,
    copied_variables,
    optional_buttons,
    optional_message_type,
)

__all__ = [
    "Campaign",
    "CampaignContent",
    "CampaignRepeat",
    "CampaignStats",
    "CampaignStatus",
    "NewCampaign",
    "RecipientType",
    "Recipients",
    "SafetyGuidance",
]


class CampaignStatus(OpenEnum):
    """Where a campaign is; only the first three are documented (others are kept)."""

    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        """True for ``completed``, ``cancelled`` and ``failed``."""
        return self in _FINAL


_FINAL = frozenset({CampaignStatus.COMPLETED, CampaignStatus.CANCELLED, CampaignStatus.FAILED})


class CampaignRepeat(OpenEnum):
    """How often a campaign runs again (the docs print ``none`` as ``noe``; both read NONE)."""

    NONE = "none"
    DAILY = "daily"
    WEEKLY = "weekly"


class RecipientType(OpenEnum):
    """Who receives a campaign."""

    ALL = "all"
    TAGS = "tags"
    EXPLICIT = "explicit"
    GROUP = "group"


def _strings(value: Iterable[str]) -> tuple[str, ...]:
    # A lone string would become one recipient per character.
    return (value,) if isinstance(value, str) else tuple(value)


@frozen
class Recipients:
    """The audience: build it with a named constructor.

    :meth:`all_contacts`, :meth:`tags` (any of them), :meth:`contacts`
    (explicit contact ids) or :meth:`group` (a contact group's members).
    """

    type: RecipientType = attrs.field(converter=RecipientType)
    value: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    group_id: str | None = None

    @classmethod
    def all_contacts(cls) -> Recipients:
        """Every contact of the workspace."""
        return cls(RecipientType.ALL)

    @classmethod
    def tags(cls, tags: Iterable[str]) -> Recipients:
        """Contacts carrying any of ``tags``."""
        return cls(RecipientType.TAGS, _strings(tags)).validate()

    @classmethod
    def contacts(cls, contact_ids: Iterable[str]) -> Recipients:
        """These contacts, by id."""
        return cls(RecipientType.EXPLICIT, _strings(contact_ids)).validate()

    @classmethod
    def group(cls, group_id: str) -> Recipients:
        """The members of one contact group."""
        return cls(RecipientType.GROUP, group_id=group_id).validate()

    def validate(self) -> Recipients:
        from ._campaign_rules import validate_recipients

        validate_recipients(self)
        return self


@frozen
class CampaignContent:
    """What every recipient gets: a template (``template_id``) or direct content (``type``).

    Direct campaigns take ``text``, ``image``, ``video``, ``audio``,
    ``document``, ``voice_note`` and ``buttons`` (not ``location`` or
    ``contact``); ``body`` is the text, or a media caption.
    """

    template_id: str | None = None
    variables: dict[str, Any] | None = attrs.field(
        default=None, converter=copied_variables, hash=False
    )
    type: MessageType | None = attrs.field(default=None, converter=optional_message_type)
    body: str | None = None
    media_url: str | None = None
    title: str | None = None
    description: str | None = None
    footer: str | None = None
    buttons: tuple[Button, ...] | None = attrs.field(default=None, converter=optional_buttons)

    def validate(self) -> CampaignContent:
        from ._campaign_rules import validate_content

        validate_content(self)
        return self

    @classmethod
    def template(
        cls, template_id: str, *, variables: Mapping[str, Any] | None = None
    ) -> CampaignContent:
        """A stored template; ``variables`` fill its ``{{custom.*}}`` for everyone alike.

        ``{{contact.*}}`` placeholders are filled per recipient by the server.
        """
        return cls(template_id=template_id, variables=variables).validate()

    @classmethod
    def text(cls, body: str) -> CampaignContent:
        return cls(type=MessageType.TEXT, body=body).validate()

    @classmethod
    def image(cls, media_url: str, *, caption: str | None = None) -> CampaignContent:
        return cls(type=MessageType.IMAGE, media_url=media_url, body=caption).validate()

    @classmethod
    def video(cls, media_url: str, *, caption: str | None = None) -> CampaignContent:
        return cls(type=MessageType.VIDEO, media_url=media_url, body=caption).validate()

    @classmethod
    def audio(cls, media_url: str) -> CampaignContent:
        return cls(type=MessageType.AUDIO, media_url=media_url).validate()

    @classmethod
    def voice_note(cls, media_url: str) -> CampaignContent:
        return cls(type=MessageType.VOICE_NOTE, media_url=media_url).validate()

    @classmethod
    def document(cls, media_url: str, *, caption: str | None = None) -> CampaignContent:
        return cls(type=MessageType.DOCUMENT, media_url=media_url, body=caption).validate()

    @classmethod
    def buttons_message(
        cls,
        *,
        title: str,
        description: str,
        buttons: Iterable[Button],
        footer: str | None = None,
    ) -> CampaignContent:
        """One or two buttons under a title and a description."""
        return cls(
            type=MessageType.BUTTONS,
            title=title,
            description=description,
            footer=footer,
            buttons=tuple(buttons),
        ).validate()


def _repeat(value: CampaignRepeat | str | None) -> CampaignRepeat | None:
    return None if value is None else CampaignRepeat(value)


@frozen
class NewCampaign:
    """The body of ``POST /campaigns``; ``content`` is sent flat beside the other fields.

    ``schedule`` must be timezone-aware; ``repeat`` None or ``NONE`` runs once.
    """

    instance_id: str
    name: str
    schedule: dt.datetime
    recipients: Recipients
    content: CampaignContent
    repeat: CampaignRepeat | None = attrs.field(default=None, converter=_repeat)

    def validate(self) -> NewCampaign:
        from ._campaign_rules import validate_campaign

        validate_campaign(self)
        return self


@frozen
class CampaignStats:
    """Counts of a campaign's messages, read as cumulative milestones.

    ``planned`` recipients, of which ``queued`` were enqueued so far; a
    message counts in ``sent`` once it left, in ``delivered`` and ``read``
    when it got there (so ``read <= delivered <= sent``). The meaning of the
    counts is not documented: this is how the SDK (and its emulator) read them.
    The timestamps come with ``GET`` only.
    """

    planned: int = 0
    queued: int = 0
    sent: int = 0
    delivered: int = 0
    read: int = 0
    failed: int = 0
    cancelled: int = 0
    processing_started_at: dt.datetime | None = None
    last_enqueued_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    cancelled_at: dt.datetime | None = None

    @property
    def settled(self) -> int:
        """Messages done with: sent, failed or cancelled (at most ``planned``, when known)."""
        done = self.sent + self.failed + self.cancelled
        return min(done, self.planned) if self.planned else done

    @property
    def remaining(self) -> int:
        return max(self.planned - self.settled, 0)

    @property
    def percent(self) -> int:
        """Share of planned messages settled, 0 to 100 (100 when nothing is planned)."""
        return 100 if not self.planned else self.settled * 100 // self.planned


@frozen
class SafetyGuidance:
    """The anti-ban advice that may come with a create or a resume; it never blocks (V1).

    Only ``decision`` is documented; the other fields are read when present
    and ``raw`` keeps everything the server sent.
    """

    decision: SafetyDecision | None = None
    risk_level: str | None = None
    state: str | None = None
    score: float | None = None
    message: str | None = None
    recommendations: tuple[str, ...] = ()
    raw: dict[str, Any] = attrs.field(factory=dict, hash=False)

    @property
    def is_warning(self) -> bool:
        return self.decision is SafetyDecision.WARN


@frozen
class Campaign:
    """A campaign as the API reports it; everything but ``id`` may be absent."""

    id: str
    status: CampaignStatus | None = None
    name: str | None = None
    instance_id: str | None = None
    user_id: str | None = None
    template_id: str | None = None
    type: MessageType | None = None
    body: str | None = None
    media_url: str | None = None
    title: str | None = None
    description: str | None = None
    footer: str | None = None
    buttons: tuple[Button, ...] | None = None
    schedule: dt.datetime | None = None
    repeat: CampaignRepeat | None = None
    recipients: Recipients | None = None
    template_variables: dict[str, Any] | None = attrs.field(default=None, hash=False)
    stats: CampaignStats = CampaignStats()
    safety: SafetyGuidance | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None

    @property
    def mode(self) -> str | None:
        """``"template"`` when ``template_id`` is set, else ``"direct"`` when ``type`` is."""
        if self.template_id is not None:
            return "template"
        return "direct" if self.type is not None else None


# Last: converters above can leave a half-built object for a traceback to print.
tolerant_attrs_reprs(globals())
