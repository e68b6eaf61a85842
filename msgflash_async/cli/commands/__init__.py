"""The sub-commands; importing this module registers them on the root group."""

from __future__ import annotations

from . import emulator, misc

__all__ = ["emulator", "misc"]
