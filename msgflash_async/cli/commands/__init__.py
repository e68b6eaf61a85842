"""The sub-commands; importing this module registers them on the root group."""

from __future__ import annotations

from . import account, batch, campaigns, contacts, emulator, messages, misc

__all__ = ["account", "batch", "campaigns", "contacts", "emulator", "messages", "misc"]
