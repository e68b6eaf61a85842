"""msgflash_async: the asyncio SDK for the MsgFlash WhatsApp messaging API."""

from ._version import __version__

__all__ = ["__version__"]
