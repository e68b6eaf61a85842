"""The decode error of a payload that does not fit its model, naming model and field."""

from __future__ import annotations

import typing
from typing import Any

import attrs
import cattrs

from ._exceptions import DecodeError

__all__ = ["decode_error"]


def _model_name(cls: Any) -> str:
    # A page is structured as list[Contact]: name the model, not "list".
    args = typing.get_args(cls)
    if typing.get_origin(cls) in (list, tuple) and args and attrs.has(args[0]):
        return str(args[0].__name__)
    return str(getattr(cls, "__name__", repr(cls)))


def decode_error(detailed: cattrs.Converter, data: Any, cls: type) -> DecodeError:
    """The :class:`DecodeError` for ``data`` that does not fit ``cls``, naming the field.

    ``detailed`` (a converter with detailed validation) structures the data
    again, only now that it failed, to find the first failing field.
    """
    name = _model_name(cls)
    try:
        detailed.structure(data, cls)
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
