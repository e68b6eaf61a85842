"""The one place wire names live: camelCase keys, ISO timestamps, open enums.

``make_converter()`` builds a converter and ``configure_converter()`` teaches
it our rules, so tests and users can build their own with the same behaviour.
Structuring runs on a fast converter without detailed validation; only when
that fails is the payload structured again with detailed validation, to name
the model and field in the :class:`DecodeError`.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.cols import homogenous_tuple_structure_factory, list_structure_factory
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from ._converter_campaigns import configure_campaigns
from ._converter_errors import decode_error
from ._exceptions import DecodeError
from ._pagination import Page
from ._secret import Secret
from .models._enums import OpenEnum
from .models.billing import Account
from .models.instances import InstanceHealth
from .models.jobs import BulkJob
from .models.lookups import ImportContactsResult, LookupNumber

__all__ = [
    "configure_converter",
    "format_datetime",
    "make_converter",
    "numbered_page",
    "parse_datetime",
    "structure",
    "structure_page",
    "to_camel",
    "unstructure",
]

T = TypeVar("T")

# Python names that cannot be the wire name as they are, or whose wire name
# is not their plain camelCase ("WhatsApp", not "Whatsapp").
_RENAMES: dict[str, str] = {
    "from_": "from",
    "type_": "type",
    "on_whatsapp": "onWhatsApp",
    "not_on_whatsapp": "notOnWhatsApp",
    "on_whatsapp_count": "onWhatsAppCount",
    "not_on_whatsapp_count": "notOnWhatsAppCount",
}

# Answers whose shape is not documented: likely fields are read when they fit,
# and ``data`` keeps the whole object as sent.
_OPEN_MODELS: frozenset[type] = frozenset({Account, ImportContactsResult, InstanceHealth})

# Keys a lookup result element may carry its number under (its shape is not documented).
_NUMBER_KEYS = ("number", "phone", "normalized", "phoneNumber", "input", "jid")


def to_camel(name: str) -> str:
    """``created_at`` -> ``createdAt``; ``from_`` -> ``from``."""
    if name in _RENAMES:
        return _RENAMES[name]
    head, *rest = name.rstrip("_").split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def parse_datetime(value: Any, _: Any = None) -> dt.datetime:
    """An ISO 8601 timestamp (``2026-04-01T10:00:00.000Z``) as an aware datetime."""
    if isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO 8601 string, got {type(value).__name__}")
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def format_datetime(value: dt.datetime) -> str:
    """An aware datetime in the API's form: UTC, milliseconds, ``Z``."""
    if value.tzinfo is None:
        raise ValueError("datetimes sent to the API must be timezone-aware")
    utc = value.astimezone(dt.timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _structure_str(value: Any, _: Any) -> str:
    # Ids are opaque strings; a number is accepted as one, a container is not.
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"expected a string, got {type(value).__name__}")


def _structure_int(value: Any, _: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    if isinstance(value, float) and not value.is_integer():  # 2.5, inf, nan
        raise TypeError(f"expected an integer, got {value!r}")
    return int(value)


def _structure_float(value: Any, _: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    return float(value)


def _structure_bool(value: Any, _: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected a boolean, got {type(value).__name__}")
    return value


def _structure_enum(value: Any, cls: type[OpenEnum]) -> OpenEnum:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    # A known value straight from the member map: Enum's call is slow.
    member: OpenEnum | None = cls._value2member_map_.get(value)  # type: ignore[assignment]
    return member if member is not None else cls(value)


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _checked(data: Any, nullable: frozenset[str]) -> Any:
    """``data`` with nulls dropped where a default applies."""
    if not isinstance(data, Mapping):
        # The generated code tests keys with `in`: a list, or a string that
        # lacks them, would become an instance made of defaults alone.
        raise TypeError(f"expected an object, got {type(data).__name__}")
    # A null where the model has a non-optional default (tags, meta) means
    # "nothing": use the default instead of failing the decode. (A plain
    # loop: this runs for every object, and any() over a generator costs more.)
    for key in nullable:
        if key in data and data[key] is None:
            return {k: v for k, v in data.items() if v is not None or k not in nullable}
    return data


def _is_list(tp: Any) -> bool:
    """``list[X]``, ``Sequence[X]`` or ``tuple[X, ...]``: one item type, any length."""
    origin = typing.get_origin(tp)
    if origin is tuple:
        args = typing.get_args(tp)
        return len(args) == 2 and args[1] is Ellipsis
    return origin in (list, Sequence)


def _require_list(value: Any) -> Any:
    # Left to cattrs, a string would be iterated into one item per character
    # ("vip" -> three tags) and an object into its keys.
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"expected a list, got {type(value).__name__}")
    return value


def _is_optional(tp: Any) -> bool:
    """``X | None`` for one X (a wider union keeps cattrs' own handling)."""
    args = typing.get_args(tp) if _is_union(tp) else ()
    return len(args) == 2 and type(None) in args


def _non_none(tp: Any) -> Any:
    return next(arg for arg in typing.get_args(tp) if arg is not type(None))


def _optional(hook: Callable[[Any, Any], T], inner: Any) -> Callable[[Any, Any], T | None]:
    def structure_optional(value: Any, _: Any) -> T | None:
        return None if value is None else hook(value, inner)

    return structure_optional


def _structure_str_tuple(value: Any, _: Any) -> tuple[str, ...]:
    items = tuple(_require_list(value))
    for item in items:
        if type(item) is not str:
            return tuple(_structure_str(one, None) for one in items)
    return items


def _structure_object(value: Any, _: Any) -> dict[str, Any]:
    """A free-form JSON object (``meta``): kept as it is, but it must be an object."""
    if not isinstance(value, Mapping):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return {k if type(k) is str else _structure_str(k, None): v for k, v in value.items()}


def _structure_lookup_number(value: Any, _: Any) -> LookupNumber:
    if isinstance(value, str):
        return LookupNumber(value)
    if isinstance(value, Mapping):
        for key in _NUMBER_KEYS:
            number = value.get(key)
            if isinstance(number, str):
                return LookupNumber(number, dict(value))
        raise TypeError(f"no number under any of the keys {list(_NUMBER_KEYS)}")
    raise TypeError(f"expected a number or an object, got {type(value).__name__}")


def _open_model_hook(converter: cattrs.Converter, cls: type) -> Callable[[Any, Any], Any]:
    """Structure the fields that fit; anything else lives on in ``data`` only."""
    fields = [f for f in attrs.fields(attrs.resolve_types(cls)) if f.name != "data"]

    def structure_open(value: Any, _: Any) -> Any:
        if not isinstance(value, Mapping):
            raise TypeError(f"expected an object, got {type(value).__name__}")
        picked: dict[str, Any] = {}
        for field in fields:
            raw = value.get(to_camel(field.name))
            if raw is None:
                continue
            try:
                picked[field.name] = converter.structure(raw, field.type)
            except Exception:
                continue
        return cls(**picked, data=_structure_object(value, None))

    return structure_open


def _null_means_default(cls: type) -> frozenset[str]:
    """Wire keys of fields that have a default but do not accept None."""
    keys = set()
    for field in attrs.fields(attrs.resolve_types(cls)):
        tp = field.type
        optional = tp is Any or (_is_union(tp) and type(None) in typing.get_args(tp))
        if field.default is not attrs.NOTHING and not optional:
            keys.add(to_camel(field.name))
    return frozenset(keys)


def _job_id(data: Any) -> Any:
    # The job object names its id ``id``; accept ``jobId`` too, as the 202
    # answer spells it, in case the progress endpoint does the same.
    if isinstance(data, Mapping) and "id" not in data and "jobId" in data:
        return {**data, "id": data["jobId"]}
    return data


def _renames(cls: type) -> dict[str, Any]:
    return {f.name: override(rename=to_camel(f.name)) for f in attrs.fields(cls)}


def configure_converter(converter: cattrs.Converter) -> None:
    """Teach ``converter`` the wire rules of the MsgFlash API."""
    _configure_scalars(converter)
    _configure_containers(converter)
    structure_factory, unstructure_factory = _model_factories(converter)
    converter.register_structure_hook_factory(attrs.has, structure_factory)
    converter.register_unstructure_hook_factory(attrs.has, unstructure_factory)
    # Registered after the attrs factory, so these win for their classes.
    converter.register_structure_hook(LookupNumber, _structure_lookup_number)
    plain_job = structure_factory(BulkJob)
    converter.register_structure_hook(BulkJob, lambda data, cls: plain_job(_job_id(data), cls))
    for open_model in _OPEN_MODELS:
        converter.register_structure_hook(open_model, _open_model_hook(converter, open_model))
    configure_campaigns(converter, _structure_enum, structure_factory, unstructure_factory)


def _configure_scalars(converter: cattrs.Converter) -> None:
    # Registered by class: cattrs dispatches on the class before any
    # predicate hook, so only this replaces its str()/int()/bool() coercions
    # (["a"] -> "['a']", "false" -> True). OpenEnum gets its own hook, or its
    # members, being strs, would be structured as bare strings.
    for exact, hook in (
        (str, _structure_str),
        (int, _structure_int),
        (float, _structure_float),
        (bool, _structure_bool),
        (OpenEnum, _structure_enum),
    ):
        converter.register_structure_hook(exact, hook)
    # Secrets from the wire (a webhook's signing secret) never print themselves.
    converter.register_structure_hook(Secret, lambda value, _: Secret(_structure_str(value, _)))
    converter.register_unstructure_hook(Secret, lambda secret: secret.reveal())
    converter.register_structure_hook(dt.datetime, parse_datetime)
    converter.register_unstructure_hook(dt.datetime, format_datetime)


def _configure_containers(converter: cattrs.Converter) -> None:
    # ``X | None`` fields, in nearly every model: straight to X's hook, not
    # through cattrs' generic Optional dispatch (a lookup per field per object).
    def optional_factory(tp: Any) -> Callable[[Any, Any], Any]:
        inner = _non_none(tp)
        return _optional(converter.get_structure_hook(inner), inner)

    # Lists and homogeneous tuples refuse a non-list before cattrs iterates it.
    def list_factory(tp: Any) -> Callable[[Any, Any], Any]:
        build = homogenous_tuple_structure_factory
        if typing.get_origin(tp) is not tuple:
            build = list_structure_factory
        plain = build(tp, converter)

        def structure_list(value: Any, target: Any) -> Any:
            return plain(_require_list(value), target)

        return structure_list

    converter.register_structure_hook_factory(_is_optional, optional_factory)
    converter.register_structure_hook_factory(_is_list, list_factory)
    converter.register_structure_hook_func(lambda tp: tp == tuple[str, ...], _structure_str_tuple)
    converter.register_structure_hook_func(lambda tp: tp == dict[str, Any], _structure_object)


def _model_factories(
    converter: cattrs.Converter,
) -> tuple[Callable[[type], Callable[[Any, Any], Any]], Callable[[type], Callable[[Any], Any]]]:
    """The hook factories of attrs models: camelCase keys, omit-if-default on the way out."""

    def structure_factory(cls: type) -> Callable[[Any, Any], Any]:
        generated: Callable[[Any, Any], Any] = make_dict_structure_fn(
            cls, converter, **_renames(cls)
        )
        nullable = _null_means_default(cls)

        def structure_checked(data: Any, target: Any) -> Any:
            return generated(_checked(data, nullable), target)

        return structure_checked

    def unstructure_factory(cls: type) -> Callable[[Any], Any]:
        return make_dict_unstructure_fn(
            cls, converter, _cattrs_omit_if_default=True, **_renames(cls)
        )

    return structure_factory, unstructure_factory


def make_converter(*, detailed_validation: bool = False) -> cattrs.Converter:
    """A new converter configured for the API (unknown keys are ignored)."""
    converter = cattrs.Converter(forbid_extra_keys=False, detailed_validation=detailed_validation)
    configure_converter(converter)
    return converter


_FAST = make_converter()
_DETAILED = make_converter(detailed_validation=True)


def structure(data: Any, cls: type[T]) -> T:
    """``data`` as a ``cls``; any mismatch becomes a :class:`DecodeError`."""
    try:
        return _FAST.structure(data, cls)
    except Exception:
        raise decode_error(_DETAILED, data, cls) from None


def unstructure(value: Any) -> Any:
    """A model (or anything holding models) as JSON-ready wire data."""
    return _FAST.unstructure(value)


def items_of(data: Any, list_keys: tuple[str, ...]) -> list[Any]:
    """The list inside a list answer, trying each documented or likely key."""
    if isinstance(data, list):
        return data
    if isinstance(data, Mapping):
        for key in list_keys:
            value = data.get(key)
            if isinstance(value, list):
                return value
    raise DecodeError(
        f"list answer has none of the keys {list(list_keys)}", model="Page", field=list_keys[0]
    )


def structure_page(data: Any, model: type[T], list_keys: tuple[str, ...]) -> Page[T]:
    """A :class:`Page` from ``{<listKey>: [...], nextCursor, hasMore, total?}``."""
    items = structure(items_of(data, list_keys), list[model])  # type: ignore[valid-type]
    meta: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
    next_cursor = meta.get("nextCursor")
    total = meta.get("total")
    return Page(
        items=items,
        next_cursor=next_cursor if isinstance(next_cursor, str) and next_cursor else None,
        has_more=bool(meta.get("hasMore", next_cursor is not None)),
        total=total if isinstance(total, int) else None,
    )


def numbered_page(
    data: Any, model: type[T], list_keys: tuple[str, ...], page: int, limit: int
) -> Page[T]:
    """One page of a page-numbered list, with the next page number as its cursor.

    The end is ``page >= totalPages``, else ``hasMore``, else a short page.
    """
    items = structure(items_of(data, list_keys), list[model])  # type: ignore[valid-type]
    meta: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
    total_pages, has_more = meta.get("totalPages"), meta.get("hasMore")
    if isinstance(total_pages, int) and not isinstance(total_pages, bool):
        more = page < total_pages
    elif isinstance(has_more, bool):
        more = has_more
    else:
        # Nothing says: a full page may have a successor, a short one has none.
        more = len(items) >= limit
    total = meta.get("total")
    return Page(
        items=items,
        next_cursor=str(page + 1) if more and items else None,
        has_more=more and bool(items),
        total=total if isinstance(total, int) else None,
    )
