"""``client.account``: the account behind a personal key, and the legacy usage route."""

from __future__ import annotations

from ..models.billing import Account, BillingUsage
from ._base import Resource, api_path

__all__ = ["AccountResource"]

_ME = api_path("me")
_USAGE = api_path("usage")


class AccountResource(Resource):
    """``me()`` and the legacy ``usage()``; both need a personal key.

    With a team key the server answers ``403 TEAM_KEY_NOT_ALLOWED``
    (:class:`TeamKeyNotAllowedError`).
    """

    async def me(self) -> Account:
        """The account; its shape is not documented, so every field is kept as sent."""
        return await self._get(_ME, Account, key="user")

    async def usage(self) -> BillingUsage:
        """``GET /usage``, the legacy route: the same answer as ``billing.usage()``."""
        return await self._get(_USAGE, BillingUsage)
