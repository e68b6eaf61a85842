"""``client.campaigns``: create, read, pause and resume server-side campaigns.

A campaign is one request that has the server send to a whole audience of
stored contacts (all, by tags, explicit ids, a group), at a scheduled time,
optionally every day or week. Each message still counts against the monthly
outbound quota; only the API requests are saved. ``create()`` is a POST
without an idempotency key: it is never retried once it may have reached the
server, since a second campaign would message everyone twice. List, cancel,
update and delete are not part of the documented API.
"""

from __future__ import annotations

import datetime as dt

from .._campaign_handle import DEFAULT_CAMPAIGN_POLL, CampaignHandle
from .._converter import structure, unstructure
from .._exceptions import (
    BadRequestError,
    CampaignStateError,
    ServerValidationError,
    ValidationError,
)
from .._stall import DEFAULT_STALL_TIMEOUT
from .._validation import check_positive
from ..models.campaigns import (
    Campaign,
    CampaignContent,
    CampaignRepeat,
    NewCampaign,
    Recipients,
    RecipientType,
)
from ..models.contacts import Contact, ContactGroup
from ._base import Resource, api_path, unwrap
from .billing import check_outbound_quota

__all__ = ["Campaigns"]

_PATH = api_path("campaigns")


class Campaigns(Resource):
    """Server-side campaigns and handles that follow them."""

    async def create(
        self,
        *,
        name: str,
        instance_id: str,
        recipients: Recipients,
        content: CampaignContent,
        schedule: dt.datetime,
        repeat: CampaignRepeat | str | None = None,
        check_quota: bool | int = False,
    ) -> Campaign:
        """Create and schedule a campaign; it starts at ``schedule`` (timezone-aware).

        Everything is checked first (``ValidationError``, no request): one
        content mode, at least one tag or id, a group id for a group, at
        most two buttons. The answer may carry ``safety`` guidance
        (informational). Follow it with ``client.campaigns.handle(c.id)``.

        ``check_quota=True`` first reads the usage and raises
        :class:`InsufficientQuotaError` (nothing created) when the audience
        cannot fit the remaining monthly outbound quota. The audience is
        counted for explicit ids, a group (its ``contact_count``) and all
        contacts (the list's ``total``); for tags pass the expected count
        instead (``check_quota=5000``). With a team key the check is skipped
        with a warning: usage is for personal keys only.
        """
        campaign = NewCampaign(
            instance_id=instance_id,
            name=name,
            schedule=schedule,
            recipients=recipients,
            content=content,
            repeat=repeat,
        ).validate()
        if check_quota is not False:
            size = await self._audience_size(campaign.recipients, check_quota)
            await check_outbound_quota(self._session, size)
        return await self._post(_PATH, Campaign, key="campaign", json=unstructure(campaign))

    async def get(self, campaign_id: str) -> Campaign:
        """The campaign with its stats and their timestamps."""
        return await self._get(api_path("campaigns", campaign_id), Campaign, key="campaign")

    async def pause(self, campaign_id: str) -> Campaign:
        """Stop enqueueing messages (those already queued still go).

        Raises :class:`CampaignStateError` when the campaign cannot be paused
        now (it is not ``scheduled`` or ``running``).
        """
        return await self._transition(campaign_id, "pause")

    async def resume(self, campaign_id: str) -> Campaign:
        """Resume a ``paused`` campaign; read ``campaign.safety`` for the advice.

        The safety guidance never blocks (V1) but says when sending now is
        risky for the number. :class:`CampaignStateError` when not paused.
        """
        return await self._transition(campaign_id, "resume")

    def handle(
        self,
        campaign: str | Campaign,
        *,
        poll_interval: float = DEFAULT_CAMPAIGN_POLL,
        stall_timeout: float | None = DEFAULT_STALL_TIMEOUT,
    ) -> CampaignHandle:
        """A handle on a campaign by id (or the :class:`Campaign` itself), from any process.

        ``await handle`` returns the completed campaign; ``handle.progress()``
        streams its stats with a rate; ``handle.wait(timeout=...)``. A status
        the SDK does not know whose counts stop moving for ``stall_timeout``
        seconds (None: never) raises :class:`CampaignStalledError`.
        """
        campaign_id = campaign.id if isinstance(campaign, Campaign) else campaign
        api_path("campaigns", campaign_id)  # refuses an unusable id now
        check_positive(poll_interval, "poll_interval")
        if stall_timeout is not None and not stall_timeout > 0:
            raise ValidationError("must be > 0 seconds, or None", field="stall_timeout")
        return CampaignHandle(
            campaign_id, self.get, interval=poll_interval, stall_timeout=stall_timeout
        )

    async def _audience_size(self, recipients: Recipients, given: bool | int) -> int:
        """How many messages the campaign will send, for the quota preflight."""
        if given is not True:
            if isinstance(given, bool) or not isinstance(given, int) or given < 0:
                raise ValidationError(
                    f"expected True or a count >= 0, got {given!r}", field="check_quota"
                )
            return given
        kind = recipients.type
        if kind is RecipientType.EXPLICIT:
            return len(set(recipients.value))
        total: int | None = None
        if kind is RecipientType.GROUP and recipients.group_id is not None:
            path = api_path("contacts", "groups", recipients.group_id)
            total = (await self._get(path, ContactGroup, key="group")).contact_count
        elif kind is RecipientType.ALL:
            first = await self._cursor_list(
                api_path("contacts"),
                Contact,
                ("contacts", "items"),
                params={"limit": 1},
                cursor=None,
                max_items=None,
                prefetch=False,
            )
            total = first.total
        if total is None:
            raise ValidationError(
                f"the size of a {kind.value!r} audience cannot be read: pass the expected "
                "count, e.g. check_quota=5000",
                field="check_quota",
            )
        return total

    async def _transition(self, campaign_id: str, verb: str) -> Campaign:
        path = api_path("campaigns", campaign_id, verb)
        try:
            response = await self._call("POST", path)
        except BadRequestError as exc:
            if isinstance(exc, ServerValidationError):
                raise
            raise CampaignStateError(
                exc.message,
                status=exc.status,
                code=exc.code,
                details=exc.details,
                method=exc.method,
                path=exc.path,
                headers=exc.headers,
            ) from exc
        return structure(unwrap(response.data, "campaign"), Campaign)
