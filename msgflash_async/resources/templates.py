"""``client.templates``: stored message bodies with placeholders.

The list is paginated by page number (``page``, ``limit`` up to 100), unlike
the cursor lists; the paginator hides that by using the next page number as
its cursor, so ``async for`` and ``resume_token`` work the same way. The list
answer's shape was not captured in the documentation: the items are read
from ``templates``, ``items`` or a plain array, and the end is
``page >= totalPages``, else ``hasMore``, else a short page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._converter import unstructure
from .._exceptions import ValidationError
from .._pagination import AsyncPaginator, Page, ResumeToken
from .._validation import MAX_PAGE_SIZE, check_limit, check_text
from ..models.templates import (
    Template,
    TemplateCreate,
    TemplatePreview,
    TemplatePreviewRequest,
    TemplateType,
    TemplateUpdate,
)
from ..templating import TemplateCheck, check_variables
from ._base import Resource, api_path, numbered_page, page_number

__all__ = ["MAX_PAGE_SIZE", "Templates", "template_page"]


_LIST_KEYS = ("templates", "items", "data")


def template_page(data: Any, page: int, limit: int) -> Page[Template]:
    """One page of the list, with the next page number as its cursor."""
    return numbered_page(data, Template, _LIST_KEYS, page, limit)


_page_number = page_number


def _resumed(resume: str, page: int | None, limit: int | None) -> tuple[ResumeToken, int]:
    """The token to start from and the page size it was taken with."""
    if page is not None:
        raise ValidationError("pass either page or resume, not both", field="resume")
    token = ResumeToken.decode(resume)
    size = token.query.get("limit")
    if not isinstance(size, int) or not 1 <= size <= MAX_PAGE_SIZE:
        raise ValidationError("not a resume token of templates.list", field="resume")
    if limit is not None and limit != size:
        raise ValidationError(
            f"limit={limit} differs from the resumed list's {size}: page numbers "
            "count pages of that size",
            field="limit",
        )
    return token, size


class Templates(Resource):
    """Create, read, update, delete, list and preview templates."""

    def list(
        self,
        *,
        limit: int | None = None,
        page: int | None = None,
        max_items: int | None = None,
        prefetch: bool = False,
        resume: str | None = None,
    ) -> AsyncPaginator[Template]:
        """Templates, streamed page by page: ``async for t in client.templates.list()``.

        ``limit`` is the page size (1 to 100; 100 unless given, to need the
        fewest requests); ``page`` starts further in (1-based). ``await`` the
        paginator for one page. ``resume`` takes a ``paginator.resume_token``
        and continues right after the last template handed out; it restores
        the page size too (page numbers count pages of that size).
        """
        size = check_limit(limit, MAX_PAGE_SIZE) or MAX_PAGE_SIZE
        start: str | ResumeToken | None = None if page is None else str(page)
        if resume is not None:
            start, size = _resumed(resume, page, limit)
        _page_number(start.page if isinstance(start, ResumeToken) else start)
        path = api_path("templates")

        async def fetch(cursor: str | None) -> Page[Template]:
            number = _page_number(cursor)
            response = await self._call("GET", path, params={"page": number, "limit": size})
            return template_page(response.data, number, size)

        return AsyncPaginator(
            fetch,
            cursor=start,
            max_items=max_items,
            prefetch=prefetch,
            query={"limit": size},
            endpoint=f"GET {path}",
        )

    async def create(
        self,
        *,
        name: str,
        type: TemplateType | str,
        body: str | None = None,
        media_url: str | None = None,
    ) -> Template:
        """Store a template; a text template needs ``body``, a media one ``media_url``.

        The server computes ``variables`` from the body.
        """
        kind = TemplateType(type)
        _check_content(kind, body, media_url)
        request = TemplateCreate(check_text(name, "name"), kind, body, media_url)
        # A POST: never retried once it may have reached the server.
        return await self._post(
            api_path("templates"), Template, key="template", json=unstructure(request)
        )

    async def get(self, template_id: str) -> Template:
        return await self._get(api_path("templates", template_id), Template, key="template")

    async def update(
        self,
        template_id: str,
        *,
        name: str | None = None,
        type: TemplateType | str | None = None,
        body: str | None = None,
        media_url: str | None = None,
    ) -> Template:
        """Change the fields given; the others are left as they are."""
        request = TemplateUpdate(
            name=None if name is None else check_text(name, "name"),
            type=None if type is None else TemplateType(type),
            body=body,
            media_url=media_url,
        )
        if request == TemplateUpdate():
            raise ValidationError("give at least one field to change")
        path = api_path("templates", template_id)
        return await self._put(path, Template, key="template", json=unstructure(request))

    async def delete(self, template_id: str) -> None:
        """Delete a template (``NotFoundError`` if it does not exist)."""
        await self._delete(api_path("templates", template_id))

    async def preview(
        self,
        template_id: str,
        *,
        instance_id: str | None = None,
        contact_id: str | None = None,
        variables: Mapping[str, Any] | None = None,
    ) -> TemplatePreview:
        """Render a template on the server without sending anything.

        Without ``contact_id`` or ``instance_id`` the ``contact.*`` or
        ``instance.*`` placeholders come back in ``missing_variables``.
        """
        request = TemplatePreviewRequest(instance_id, contact_id, variables)
        path = api_path("templates", template_id, "preview")
        # A render changes nothing on the server, so it is safe to retry.
        return await self._post(path, TemplatePreview, json=unstructure(request), idempotent=True)

    def check(
        self,
        template: Template | str,
        variables: Mapping[str, Any] | None = None,
        *,
        contact_id: str | None = None,
    ) -> TemplateCheck:
        """Check, here and without a request, what a send of ``template`` would lack.

        ``template`` is a :class:`Template` or a body; ``variables`` and
        ``contact_id`` are what the send would pass. See
        :func:`msgflash_async.templating.check_variables`.
        """
        body = template.body if isinstance(template, Template) else template
        return check_variables(body, variables, has_contact=contact_id is not None)


def _check_content(kind: TemplateType, body: str | None, media_url: str | None) -> None:
    if kind is TemplateType.TEXT:
        check_text(body, "body")
    elif kind.known:
        check_text(media_url, "media_url")
