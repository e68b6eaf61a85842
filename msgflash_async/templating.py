"""Template placeholders, checked on this side before a send (pure, no I/O).

A template body holds ``{{namespace.variable}}`` placeholders. The server
fills ``contact.*`` from the contact given as ``contact_id``, ``user.*`` from
the account, ``instance.*`` from the sending instance, and ``custom.*`` from
the request's ``variables``; anything it cannot fill fails the send with
``TEMPLATE_VARIABLES_MISSING`` (or ``TEMPLATE_CONTEXT_UNAVAILABLE``). The
same check here costs no request and no quota::

    check = check_variables(template.body, {"code": "1234"}, has_contact=False)
    if not check.ok:
        print(check.missing, check.needs_contact, check.invalid)

Whether ``variables`` keys carry the ``custom.`` prefix is not documented
(the examples leave it out), so ``{"code": ...}`` and ``{"custom.code": ...}``
both fill ``{{custom.code}}``. Which keys exist under ``contact.*``,
``user.*`` and ``instance.*`` is not documented either: those are checked
for their context only, never for their names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from attrs import frozen

from ._exceptions import ValidationError

__all__ = [
    "NAMESPACES",
    "Placeholder",
    "TemplateCheck",
    "check_variables",
    "custom_key",
    "parse_placeholders",
    "render",
    "require_variables",
]

NAMESPACES: Final = ("contact", "user", "instance", "custom")
"""The documented placeholder namespaces."""

CUSTOM_PREFIX: Final = "custom."

_PLACEHOLDER: Final = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*")


@frozen
class Placeholder:
    """One ``{{namespace.name}}`` of a body; ``raw`` is the text as written."""

    raw: str
    namespace: str
    name: str

    @property
    def key(self) -> str:
        """``namespace.name``, e.g. ``custom.code``."""
        return f"{self.namespace}.{self.name}"

    @property
    def valid(self) -> bool:
        """True when the namespace is documented and the name well-formed."""
        return self.namespace in NAMESPACES and _NAME.fullmatch(self.name) is not None


def parse_placeholders(body: str) -> tuple[Placeholder, ...]:
    """Every placeholder of ``body``, in order of first appearance, each once.

    ``raw`` is the first spelling seen.

    Spaces inside the braces are tolerated (``{{ custom.code }}``). A
    placeholder without a namespace (``{{code}}``) has namespace ``""``;
    stray ``{{`` or ``}}`` come back as invalid placeholders too, since the
    server refuses both as ``TEMPLATE_INVALID``.
    """
    found: dict[str, Placeholder] = {}
    for match in _PLACEHOLDER.finditer(body):
        inner = match.group(1).strip()
        namespace, dot, name = inner.partition(".")
        if not dot:
            namespace, name = "", inner
        # Keyed by content, so "{{ custom.a }}" and "{{custom.a}}" are one.
        found.setdefault(inner, Placeholder(match.group(0), namespace, name))
    rest = _PLACEHOLDER.sub("", body)
    for stray in ("{{", "}}"):
        if stray in rest:
            found.setdefault("\0" + stray, Placeholder(stray, "", ""))
    return tuple(found.values())


def custom_key(key: str) -> str:
    """A ``variables`` key as the ``custom.*`` name it fills (prefix optional)."""
    return key[len(CUSTOM_PREFIX) :] if key.startswith(CUSTOM_PREFIX) else key


@frozen
class TemplateCheck:
    """What a body needs that the call does not give.

    ``missing``: ``custom.*`` names with no value in ``variables``.
    ``needs_contact``: ``contact.*`` names, unfillable without ``contact_id``
    (empty when a contact was given). ``needs_instance``: ``instance.*``
    names, unfillable without an instance (a preview may omit it).
    ``invalid``: placeholders the server refuses (unknown namespace, no
    namespace, malformed). ``unused``: ``variables`` keys no placeholder uses
    (a likely typo; not an error).
    """

    placeholders: tuple[Placeholder, ...] = ()
    missing: tuple[str, ...] = ()
    needs_contact: tuple[str, ...] = ()
    needs_instance: tuple[str, ...] = ()
    invalid: tuple[str, ...] = ()
    unused: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the server has everything it needs to render the body."""
        return not (self.missing or self.needs_contact or self.needs_instance or self.invalid)

    def problems(self) -> list[str]:
        """Each problem as a sentence, for an error message."""
        parts = []
        if self.invalid:
            parts.append("invalid placeholders: " + ", ".join(self.invalid))
        if self.missing:
            names = ", ".join(CUSTOM_PREFIX + name for name in self.missing)
            parts.append(f"missing custom variables: {names}")
        if self.needs_contact:
            names = ", ".join("contact." + name for name in self.needs_contact)
            parts.append(f"{names} need a contact_id")
        if self.needs_instance:
            names = ", ".join("instance." + name for name in self.needs_instance)
            parts.append(f"{names} need an instance_id")
        return parts


def check_variables(
    body: str | None,
    variables: Mapping[str, Any] | None = None,
    *,
    has_contact: bool,
    has_instance: bool = True,
) -> TemplateCheck:
    """Check ``body``'s placeholders against what a send would give the server.

    A ``None`` body (a media template without text) has no placeholders.
    """
    placeholders = parse_placeholders(body or "")
    given = {custom_key(key) for key in (variables or {})}

    def names(namespace: str) -> tuple[str, ...]:
        return tuple(p.name for p in placeholders if p.valid and p.namespace == namespace)

    custom = names("custom")
    return TemplateCheck(
        placeholders=placeholders,
        missing=tuple(name for name in custom if name not in given),
        needs_contact=() if has_contact else names("contact"),
        needs_instance=() if has_instance else names("instance"),
        invalid=tuple(p.raw for p in placeholders if not p.valid),
        unused=tuple(sorted(given - set(custom))),
    )


def require_variables(
    body: str | None,
    variables: Mapping[str, Any] | None = None,
    *,
    has_contact: bool,
    has_instance: bool = True,
) -> TemplateCheck:
    """:func:`check_variables`, raising :class:`ValidationError` unless it is ok."""
    check = check_variables(body, variables, has_contact=has_contact, has_instance=has_instance)
    if not check.ok:
        field = "variables" if check.missing else "template"
        raise ValidationError("; ".join(check.problems()), field=field)
    return check


def render(body: str, values: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    """``body`` with each valid placeholder replaced by ``values[namespace.name]``.

    Returns the text and the keys that had no value (left as written). This
    is what a preview shows; the server's own rendering stays the truth.
    """
    missing: list[str] = []

    def fill(match: re.Match[str]) -> str:
        inner = match.group(1).strip()
        if inner in values:
            return str(values[inner])
        if inner not in missing:
            missing.append(inner)
        return match.group(0)

    return _PLACEHOLDER.sub(fill, body), tuple(missing)
