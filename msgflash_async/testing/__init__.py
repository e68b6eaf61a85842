"""An in-process MsgFlash API emulator, for your tests and ours.

``Emulator`` serves the public ``/api/v1`` surface over real loopback HTTP
from an in-memory store, with the documented envelopes, auth rules, rate
limit, keyset cursors and bulk jobs, plus fault injection (``Fault``) to
rehearse outages. The pytest plugin provides a ``msgflash_emulator`` fixture.
"""

from __future__ import annotations

from ._emulator_state import EmulatorSettings, EmulatorState, RequestRecord, Workspace
from ._events import EventBus, EventCallback
from ._faults import DEFAULT_RANDOM_FAULTS, Fault, FaultRule, Faults
from ._http import ApiFailure
from ._server import Emulator, RouteInstaller, build_app, run_emulator

__all__ = [
    "ApiFailure",
    "DEFAULT_RANDOM_FAULTS",
    "Emulator",
    "EmulatorSettings",
    "EmulatorState",
    "EventBus",
    "EventCallback",
    "Fault",
    "FaultRule",
    "Faults",
    "RequestRecord",
    "RouteInstaller",
    "Workspace",
    "build_app",
    "run_emulator",
]
