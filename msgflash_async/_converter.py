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
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from ._exceptions import DecodeError
from ._pagination import Page
from ._secret import Secret
from .models._enums import OpenEnum
from .models.billing import Account
from .models.campaigns import CampaignRepeat, NewCampaign, SafetyGuidance
from .models.instances import InstanceHealth
from .models.lookups import ImportContactsResult, LookupNumber

__all__ = [
    "configure_converter",
    "format_datetime",
    "make_converter",
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


class _NotAList:
    """Stands in for a non-list value of a list field, so the decode fails there.

    Left as it is, a string would be iterated into one item per character
    (``"vip"`` -> three tags) and an object into its keys.
    """

    __slots__ = ("kind",)

    def __init__(self, value: Any) -> None:
        self.kind = type(value).__name__

    def __iter__(self) -> Any:
        raise TypeError(f"expected a list, got {self.kind}")


def _list_keys(cls: type) -> frozenset[str]:
    """Wire keys of fields typed as a list or a homogeneous tuple (optional or not)."""
    keys = set()
    for field in attrs.fields(attrs.resolve_types(cls)):
        options = typing.get_args(field.type) if _is_union(field.type) else (field.type,)
        if any(typing.get_origin(t) in (list, tuple, Sequence) for t in options):
            keys.add(to_camel(field.name))
    return frozenset(keys)


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _checked(data: Any, nullable: frozenset[str], lists: frozenset[str]) -> Any:
    """``data`` with nulls dropped where a default applies and non-lists marked."""
    if not isinstance(data, Mapping):
        # The generated code tests keys with `in`: a list, or a string that
        # lacks them, would become an instance made of defaults alone.
        raise TypeError(f"expected an object, got {type(data).__name__}")
    # A null where the model has a non-optional default (tags, meta) means
    # "nothing": use the default instead of failing the decode. (Plain loops:
    # this runs for every object, and any() over a generator costs more.)
    for key in nullable:
        if key in data and data[key] is None:
            data = {k: v for k, v in data.items() if v is not None or k not in nullable}
            break
    for key in lists:
        if not isinstance(data.get(key), _LIST_OR_NONE):
            data = {
                k: _NotAList(v) if k in lists and not isinstance(v, _LIST_OR_NONE) else v
                for k, v in data.items()
            }
            break
    return data


_LIST_OR_NONE = (list, tuple, type(None))


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
    items = tuple(value)  # a _NotAList raises "expected a list" here
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
    for field in attrs.fields(cls):
        optional = field.type is Any or "None" in str(field.type) or "Optional" in str(field.type)
        if field.default is not attrs.NOTHING and not optional:
            keys.add(to_camel(field.name))
    return frozenset(keys)


def _renames(cls: type) -> dict[str, Any]:
    return {f.name: override(rename=to_camel(f.name)) for f in attrs.fields(cls)}


def configure_converter(converter: cattrs.Converter) -> None:
    """Teach ``converter`` the wire rules of the MsgFlash API."""
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

    # The field types of nearly every model, hooked directly (hot path).
    # ``X | None`` fields, in nearly every model: straight to X's hook, not
    # through cattrs' generic Optional dispatch (a lookup per field per object).
    def optional_factory(tp: Any) -> Callable[[Any, Any], Any]:
        inner = _non_none(tp)
        return _optional(converter.get_structure_hook(inner), inner)

    converter.register_structure_hook_factory(_is_optional, optional_factory)
    converter.register_structure_hook_func(lambda tp: tp == tuple[str, ...], _structure_str_tuple)
    converter.register_structure_hook_func(lambda tp: tp == dict[str, Any], _structure_object)

    def structure_factory(cls: type) -> Callable[[Any, Any], Any]:
        generated: Callable[[Any, Any], Any] = make_dict_structure_fn(
            cls, converter, **_renames(cls)
        )
        nullable = _null_means_default(cls)
        lists = _list_keys(cls)

        def structure_checked(data: Any, target: Any) -> Any:
            return generated(_checked(data, nullable, lists), target)

        return structure_checked

    def unstructure_factory(cls: type) -> Callable[[Any], Any]:
        return make_dict_unstructure_fn(
            cls, converter, _cattrs_omit_if_default=True, **_renames(cls)
        )

    converter.register_structure_hook_factory(attrs.has, structure_factory)
    converter.register_unstructure_hook_factory(attrs.has, unstructure_factory)
    # Registered after the attrs factory, so these win for their classes.
    converter.register_structure_hook(LookupNumber, _structure_lookup_number)
    for open_model in _OPEN_MODELS:
        converter.register_structure_hook(open_model, _open_model_hook(converter, open_model))
    _configure_campaigns(converter, structure_factory, unstructure_factory)


# Every documentation page prints the "none" repeat as "noe": read both.
_REPEAT_ALIASES = {"noe": CampaignRepeat.NONE}


def _configure_campaigns(
    converter: cattrs.Converter,
    structure_factory: Callable[[type], Callable[[Any, Any], Any]],
    unstructure_factory: Callable[[type], Callable[[Any], Any]],
) -> None:
    """Campaign wire quirks: a flat create body, ``noe``, and the open safety object."""

    def structure_repeat(value: Any, cls: type[CampaignRepeat]) -> CampaignRepeat:
        if isinstance(value, str) and value in _REPEAT_ALIASES:
            return _REPEAT_ALIASES[value]
        return _structure_enum(value, cls)  # type: ignore[return-value]

    converter.register_structure_hook(CampaignRepeat, structure_repeat)

    plain_safety = structure_factory(SafetyGuidance)

    def structure_safety(data: Any, cls: Any) -> SafetyGuidance:
        # Only ``decision`` is documented: keep everything else the server said.
        guidance: SafetyGuidance = plain_safety(data, cls)
        return attrs.evolve(guidance, raw=dict(data))

    converter.register_structure_hook(SafetyGuidance, structure_safety)

    plain_campaign = unstructure_factory(NewCampaign)

    def unstructure_campaign(campaign: NewCampaign) -> dict[str, Any]:
        # The content's fields sit beside the others on the wire; a campaign
        # that runs once leaves ``repeat`` out (the docs' "noe" spelling
        # makes the server's word for "none" uncertain, the default is not).
        body: dict[str, Any] = plain_campaign(campaign)
        body.update(body.pop("content", {}))
        if body.get("repeat") == CampaignRepeat.NONE.value:
            del body["repeat"]
        return body

    converter.register_unstructure_hook(NewCampaign, unstructure_campaign)


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
        raise _decode_error(data, cls) from None


def unstructure(value: Any) -> Any:
    """A model (or anything holding models) as JSON-ready wire data."""
    return _FAST.unstructure(value)


def _model_name(cls: Any) -> str:
    # A page is structured as list[Contact]: name the model, not "list".
    args = typing.get_args(cls)
    if typing.get_origin(cls) in (list, tuple) and args and attrs.has(args[0]):
        return str(args[0].__name__)
    return str(getattr(cls, "__name__", repr(cls)))


def _decode_error(data: Any, cls: type) -> DecodeError:
    name = _model_name(cls)
    try:
        _DETAILED.structure(data, cls)
    except Exception as exc:  # the detailed pass says where the payload went wrong
        field, reason = _first_failure(exc)
        return DecodeError(
            f"response does not fit {name}: {field or '<root>'}: {reason}",
            model=name,
            field=field,
        )
    return DecodeError(f"response does not fit {name}", model=name)


def _first_failure(exc: BaseException) -> tuple[str, str]:
    path: list[str] = []
    while isinstance(exc, cattrs.BaseValidationError) and exc.exceptions:
        inner = exc.exceptions[0]
        note = next((n for n in getattr(inner, "__notes__", []) if isinstance(n, str)), "")
        key = _key_from_note(note)
        if key:
            path.append(key)
        exc = inner
    reason = "missing" if isinstance(exc, KeyError) else str(exc)[:200]
    return ".".join(path), reason or type(exc).__name__


def _key_from_note(note: Any) -> str:
    # cattrs notes read "Structuring class Contact @ attribute createdAt"
    # or "Structuring typing.List[str] @ index 3".
    text = str(note)
    if "@ attribute " in text:
        return text.rsplit("@ attribute ", 1)[1]
    if "@ index " in text:
        return f"[{text.rsplit('@ index ', 1)[1]}]"
    if "@ key " in text:
        return f"[{text.rsplit('@ key ', 1)[1]}]"
    return ""


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
