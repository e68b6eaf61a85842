"""The tiny base every resource stands on: a session and the converter."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from .._converter import items_of, numbered_page, structure, structure_page
from .._exceptions import ValidationError
from .._pagination import AsyncPaginator, Page, ResumeToken
from .._protocol import api_path
from .._session import Params, Response, SendGuard, Session

__all__ = ["Resource", "api_path", "numbered_page", "page_number", "unwrap"]

T = TypeVar("T")


class Resource:
    """A group of API calls sharing the client's session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        idempotent: bool | None = None,
        guard: SendGuard | None = None,
    ) -> Response:
        return await self._session.request(
            method, path, params=params, json=json, idempotent=idempotent, guard=guard
        )

    async def _model(
        self,
        method: str,
        path: str,
        model: type[T],
        *,
        key: str | None = None,
        params: Params | None = None,
        json: Any = None,
        idempotent: bool | None = None,
        guard: SendGuard | None = None,
    ) -> T:
        """Send the call and structure its answer as ``model``.

        ``key`` names the wrapper a single object may come in
        (``{"contact": {...}}``); see :func:`unwrap`.
        """
        response = await self._call(
            method, path, params=params, json=json, idempotent=idempotent, guard=guard
        )
        data = response.data if key is None else unwrap(response.data, key)
        return structure(data, model)

    async def _get(
        self,
        path: str,
        model: type[T],
        *,
        key: str | None = None,
        params: Params | None = None,
        guard: SendGuard | None = None,
    ) -> T:
        return await self._model("GET", path, model, key=key, params=params, guard=guard)

    async def _post(
        self,
        path: str,
        model: type[T],
        *,
        key: str | None = None,
        json: Any = None,
        idempotent: bool | None = None,
        guard: SendGuard | None = None,
    ) -> T:
        """A POST; never retried once it may have reached the server unless ``idempotent``."""
        return await self._model(
            "POST", path, model, key=key, json=json, idempotent=idempotent, guard=guard
        )

    async def _put(self, path: str, model: type[T], *, key: str | None = None, json: Any) -> T:
        return await self._model("PUT", path, model, key=key, json=json)

    async def _delete(self, path: str, *, json: Any = None) -> None:
        await self._call("DELETE", path, json=json)

    def _whole_list(
        self, path: str, model: type[T], list_keys: tuple[str, ...]
    ) -> AsyncPaginator[T]:
        """A paginator over an endpoint that answers every item at once (one page)."""

        async def fetch(_: str | None) -> Page[T]:
            response = await self._call("GET", path)
            items = structure(items_of(response.data, list_keys), list[model])  # type: ignore[valid-type]
            return Page(items=items, total=len(items))

        return AsyncPaginator(fetch)

    def _cursor_list(
        self,
        path: str,
        model: type[T],
        list_keys: tuple[str, ...],
        *,
        params: dict[str, Any],
        cursor: str | ResumeToken | None,
        max_items: int | None,
        prefetch: bool,
    ) -> AsyncPaginator[T]:
        """A paginator over a cursor endpoint; ``params`` are the query to remember."""
        query = {k: v for k, v in params.items() if v is not None}

        async def fetch(next_cursor: str | None) -> Page[T]:
            sent = query if next_cursor is None else {**query, "cursor": next_cursor}
            response = await self._call("GET", path, params=sent)
            return structure_page(response.data, model, list_keys)

        return AsyncPaginator(
            fetch,
            cursor=cursor,
            max_items=max_items,
            prefetch=prefetch,
            query=query,
            endpoint=f"GET {path}",
        )


def page_number(cursor: str | None) -> int:
    """The page a page-numbered paginator's cursor stands for (1 when None)."""
    if cursor is None:
        return 1
    try:
        number = int(cursor)
    except ValueError:
        number = 0
    if number < 1:
        raise ValidationError(f"expected a page number >= 1, got {cursor!r}", field="cursor")
    return number


def unwrap(data: Any, key: str) -> Any:
    # Single-object answers are documented flat ({"data": {"id": ...}}) where
    # captured; tolerate {"data": {"contact": {...}}} where they were not.
    if isinstance(data, Mapping) and "id" not in data and isinstance(data.get(key), Mapping):
        return data[key]
    return data
