"""The sub-commands; importing this module registers them on the root group."""

from __future__ import annotations

from . import batch, contacts, emulator, messages, misc

__all__ = ["batch", "contacts", "emulator", "messages", "misc"]
