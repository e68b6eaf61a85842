"""``client.statuses``: publish a WhatsApp status (story) from an instance.

A status counts against the monthly outbound quota like a message. The
newest plan page no longer lists statuses, so expect
:class:`FeatureNotAvailableError` (``STATUSES_NOT_AVAILABLE_ON_PLAN``) on
many plans. Like a send, the POST is never repeated once it may have reached
the server: a lost answer leaves the outcome unknown.
"""

from __future__ import annotations

from .._converter import unstructure
from .._exceptions import ValidationError
from ..models.statuses import OutgoingStatus, PublishedStatus
from ._base import Resource, api_path

__all__ = ["Statuses"]

_PATH = api_path("statuses")


class Statuses(Resource):
    """Publish text and image statuses."""

    async def create(self, status: OutgoingStatus) -> PublishedStatus:
        """Publish ``status`` (validated first: ``ValidationError``, no request)."""
        if not isinstance(status, OutgoingStatus):
            raise ValidationError(
                f"expected an OutgoingStatus, got {type(status).__name__}", field="status"
            )
        body = unstructure(status.validate())
        return await self._post(_PATH, PublishedStatus, json=body)

    async def create_text(
        self, instance_id: str, text: str, *, background_color: str | None = None
    ) -> PublishedStatus:
        """Shorthand for ``create(OutgoingStatus.text_status(...))``."""
        status = OutgoingStatus.text_status(instance_id, text, background_color=background_color)
        return await self.create(status)

    async def create_image(
        self, instance_id: str, image_url: str, *, caption: str | None = None
    ) -> PublishedStatus:
        """Shorthand for ``create(OutgoingStatus.image_status(...))``."""
        return await self.create(
            OutgoingStatus.image_status(instance_id, image_url, caption=caption)
        )
