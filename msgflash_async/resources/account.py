"""``client.account``: the account behind a personal key, and the legacy usage route."""

from __future__ import annotations

from .._converter import structure
from ..models.billing import Account, BillingUsage
from ._base import Resource, api_path, unwrap

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
        response = await self._call("GET", _ME)
        return structure(unwrap(response.data, "user"), Account)

    async def usage(self) -> BillingUsage:
        """``GET /usage``, the legacy route: the same answer as ``billing.usage()``."""
        return await self._get_model(_USAGE, BillingUsage)
