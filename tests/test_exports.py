"""The public surface: a sorted ``__all__`` whose every name resolves (see test_public_api)."""

from __future__ import annotations

import msgflash_async
import msgflash_async.bot
import msgflash_async.redis
import msgflash_async.testing
import msgflash_async.webhooks


def test_all_is_sorted_and_complete() -> None:
    names = msgflash_async.__all__
    assert names == sorted(names)
    assert len(names) == len(set(names))
    for name in names:
        assert hasattr(msgflash_async, name), name


def test_public_names_are_not_private_modules() -> None:
    # pytest rewrites installed plugin packages and adds "@py_builtins"-style names.
    exported = {n for n in dir(msgflash_async) if not n.startswith(("_", "@"))}
    # Sub-packages users import explicitly, plus the modules the names above live in.
    allowed_extra = {
        "bot",
        "cli",
        "models",
        "otel",
        "redis",
        "resources",
        "testing",
        "templating",
        "webhooks",
    }
    assert exported - set(msgflash_async.__all__) <= allowed_extra


def test_subpackages_export_sorted_names() -> None:
    for module in (
        msgflash_async.bot,
        msgflash_async.webhooks,
        msgflash_async.testing,
        msgflash_async.redis,
    ):
        names = list(module.__all__)
        assert names == sorted(names), module.__name__
        for name in names:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_version_is_a_string() -> None:
    assert isinstance(msgflash_async.__version__, str)
