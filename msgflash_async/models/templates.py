"""Message templates: stored bodies with ``{{namespace.variable}}`` placeholders.

Only ``id`` is required: the shapes of the list, get and update answers were
not captured in the documentation. ``variables`` is computed by the server
from the body; its element shape is not documented either (names are the
likely form), so it is kept as sent and :attr:`Template.variable_names`
reads names out of it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs
from attrs import frozen

from ._enums import OpenEnum

__all__ = [
    "Template",
    "TemplateCreate",
    "TemplatePreview",
    "TemplatePreviewRequest",
    "TemplateType",
    "TemplateUpdate",
]


class TemplateType(OpenEnum):
    """What a template sends: text (``body`` required) or media (``media_url`` required)."""

    TEXT = "text"
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    DOCUMENT = "document"


def _names(items: tuple[Any, ...]) -> tuple[str, ...]:
    # Strings as they are; objects by their most likely name key.
    names = []
    for item in items:
        if isinstance(item, Mapping):
            item = next((item[k] for k in ("key", "name", "variable") if k in item), None)
        if isinstance(item, str):
            names.append(item)
    return tuple(names)


@frozen
class Template:
    """A stored template. ``body`` is the text (or caption) with placeholders."""

    id: str
    name: str | None = None
    type: TemplateType | None = None
    body: str | None = None
    media_url: str | None = None
    variables: tuple[Any, ...] = attrs.field(default=(), hash=False)
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None

    @property
    def variable_names(self) -> tuple[str, ...]:
        """The server's list of placeholders as strings (``custom.code``, ...)."""
        return _names(self.variables)


@frozen
class TemplatePreview:
    """A render without sending: the text, what it uses, what it lacks.

    ``valid`` is None when the server did not say.
    """

    rendered: str | None = None
    variables: tuple[Any, ...] = attrs.field(default=(), hash=False)
    missing_variables: tuple[Any, ...] = attrs.field(default=(), hash=False)
    valid: bool | None = None

    @property
    def missing_names(self) -> tuple[str, ...]:
        """``missing_variables`` as strings."""
        return _names(self.missing_variables)


# Request bodies: ``None`` fields are not sent.


@frozen
class TemplateCreate:
    name: str
    type: TemplateType
    body: str | None = None
    media_url: str | None = None


@frozen
class TemplateUpdate:
    name: str | None = None
    type: TemplateType | None = None
    body: str | None = None
    media_url: str | None = None


@frozen
class TemplatePreviewRequest:
    instance_id: str | None = None
    contact_id: str | None = None
    variables: Mapping[str, Any] | None = attrs.field(default=None, hash=False)
