"""Redis as the layer that processes on one API key share (the ``redis`` extra).

- :class:`RedisRateLimiter`: one rate budget for every process on a key.
- :class:`RedisJournal`: a batch journal under a lease, taken over when its owner dies.
- :class:`RedisDedupeStore` and :class:`RedisStatusTracker`: webhook receivers
  behind a load balancer handle each delivery once and agree on statuses.

Importing this module does not import ``redis``; building one of these
objects without the extra raises an ImportError naming
``pip install 'msgflash-async[redis]'``.
"""

from __future__ import annotations

from ._journal import LeaseLostError, RedisJournal
from ._limiter import RedisRateLimiter
from ._webhooks import RedisDedupeStore, RedisStatusTracker

__all__ = [
    "LeaseLostError",
    "RedisDedupeStore",
    "RedisJournal",
    "RedisRateLimiter",
    "RedisStatusTracker",
]
