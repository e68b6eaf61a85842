"""Every public error survives pickle, copy.copy and copy.deepcopy, attributes included.

Error trackers, process pools and multiprocessing queues pickle exceptions.
The tree is walked from ``MsgFlashError.__subclasses__()`` after importing
every module of the package, so an error class added anywhere later is
covered without touching this file: each is built from its ``__init__``
signature (known argument names get realistic values, others a sample
string) and must come back equal. Errors raised by real failed calls carry
no secret in their pickled bytes.
"""

from __future__ import annotations

import copy
import datetime as dt
import importlib
import inspect
import pickle
import pkgutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

import msgflash_async
from msgflash_async import MsgFlashClient, RetryPolicy
from msgflash_async import _exceptions as exc
from msgflash_async.models.jobs import BulkJob, BulkJobStatus
from msgflash_async.models.messages import Message, MessageStatus
from msgflash_async.testing import Emulator, Fault


def _import_everything() -> None:
    for info in pkgutil.walk_packages(msgflash_async.__path__, "msgflash_async."):
        if info.name.endswith("__main__"):
            continue
        importlib.import_module(info.name)


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def error_classes() -> list[type[exc.MsgFlashError]]:
    _import_everything()
    # Classes a test defines for itself are not the package's to pickle.
    found = {c for c in _subclasses(exc.MsgFlashError) if c.__module__.startswith("msgflash_async")}
    return sorted({exc.MsgFlashError, *found}, key=lambda c: (c.__module__, c.__qualname__))


JOB = BulkJob(id="job_1", status=BulkJobStatus.FAILED, requested_count=3, error="disk on fire")
MESSAGE = Message(id="msg_1", status=MessageStatus.FAILED, to="+33612345678", error={"code": "X"})
# Values for the argument names the tree uses; anything else gets a sample string.
SAMPLES: dict[str, Any] = {
    "message": "it broke",
    "text": "it broke",
    "status": 503,
    "code": "INTERNAL_ERROR",
    "details": {"fields": [{"path": "phone", "message": "invalid"}]},
    "method": "POST",
    "path": "/api/v1/contacts",
    "headers": {"Retry-After": "2", "Content-Type": "application/json"},
    "job": JOB,
    "msg": MESSAGE,
    "campaign": {"id": "camp_1", "status": "failed"},
    "field": "phone",
    "model": "Contact",
    "limit": 1024,
    "endpoint": "GET /api/v1/contacts",
    "cursor": "c_2",
    "requested": 500,
    "fits": 120,
    "period_end": dt.datetime(2026, 12, 31, tzinfo=dt.timezone.utc),
    "stalled_for": 12.5,
}


def build(cls: type[exc.MsgFlashError]) -> exc.MsgFlashError:
    """An instance of ``cls`` with every argument its ``__init__`` names given a value."""
    positional: list[Any] = []
    keywords: dict[str, Any] = {}
    for name, param in list(inspect.signature(cls.__init__).parameters.items())[1:]:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        required = param.default is param.empty
        if name not in SAMPLES and not required:
            continue
        value = SAMPLES.get(name, f"sample {name}")
        if param.kind is param.KEYWORD_ONLY:
            keywords[name] = value
        else:
            positional.append(value)
    if cls.__init__ is BaseException.__init__:
        positional = ["it broke"]
    return cls(*positional, **keywords)


def same(a: BaseException, b: BaseException) -> None:
    assert type(a) is type(b)
    assert a.args == b.args
    assert str(a) == str(b) and repr(a) == repr(b)
    assert vars(a) == vars(b)


COPIES: dict[str, Callable[[Any], Any]] = {
    "pickle": lambda e: pickle.loads(pickle.dumps(e)),
    "pickle-protocol-0": lambda e: pickle.loads(pickle.dumps(e, protocol=0)),
    "copy": copy.copy,
    "deepcopy": copy.deepcopy,
}


def test_the_walk_finds_the_whole_tree() -> None:
    names = {cls.__name__ for cls in error_classes()}
    assert {
        "AuthenticationError",
        "RateLimitError",
        "ServerError",
        "JobFailedError",
        "MessageFailedError",
        "InvalidSignatureError",  # msgflash_async.webhooks
        "WebhookPayloadError",
    } <= names
    assert len(names) >= 30


@pytest.mark.parametrize("how", list(COPIES))
@pytest.mark.parametrize("cls", error_classes(), ids=lambda c: c.__qualname__)
def test_every_error_round_trips_with_its_attributes(
    cls: type[exc.MsgFlashError], how: str
) -> None:
    error = build(cls)
    error.add_note("seen by the batch sender")
    if isinstance(error, exc.TransportError):
        error.request_sent = not error.request_sent  # an instance value, not the class's
    copied = COPIES[how](error)
    same(error, copied)
    assert copied.__notes__ == ["seen by the batch sender"]
    if how != "copy":  # copy.copy shares the attribute values, deepcopy and pickle do not
        for name, value in vars(error).items():
            if isinstance(value, (dict, list)):
                assert vars(copied)[name] is not value, name


def test_a_copied_error_can_be_raised_and_caught_as_its_class() -> None:
    error = build(exc.RateLimitError)
    with pytest.raises(exc.RateLimitError) as caught:
        raise pickle.loads(pickle.dumps(error))
    assert caught.value.headers == {"Retry-After": "2", "Content-Type": "application/json"}
    assert caught.value.status == 503


# -- errors from real failed calls, pickled: no secret in the bytes ------------


async def _error_of(call: Callable[[], Awaitable[Any]]) -> exc.MsgFlashError:
    try:
        await call()
    except exc.MsgFlashError as error:
        return error
    raise AssertionError("the call did not fail")


@pytest.fixture
async def team_client(msgflash_emulator: Emulator) -> AsyncIterator[MsgFlashClient]:
    async with MsgFlashClient(
        msgflash_emulator.team_key,
        team_id=msgflash_emulator.team_id,
        base_url=msgflash_emulator.base_url,
        rate_limit=None,
        # No retries at all, a 429 included (its budget is apart from max_retries).
        max_retries=RetryPolicy(max_retries=0, rate_limit_retries=0),
        timeout=0.3,
    ) as client:
        yield client


@pytest.mark.anyio
async def test_errors_of_failed_calls_pickle_without_any_secret(
    team_client: MsgFlashClient, msgflash_emulator: Emulator
) -> None:
    emu, client = msgflash_emulator, team_client
    emu.faults.add(Fault.error(401))
    emu.faults.add(Fault.error(502, "PROVIDER_ERROR"))
    emu.faults.add(Fault.delay(2.0))
    errors = [await _error_of(lambda: client.contacts.list()) for _ in range(3)]
    emu.faults.add(Fault.rate_limited(retry_after=3), times=None)
    errors.append(await _error_of(lambda: client.contacts.list()))
    emu.faults.clear()
    emu.fail_next_job("disk on fire")
    ids = emu.seed_contacts(100, team=True)
    errors.append(await _error_of(lambda: client.contacts.bulk_delete(ids, poll_interval=0.01)))
    emu.settings.failing_numbers.add("+33612345678")
    instance = emu.workspace(team=True).default_instance.id
    sent = await client.messages.send_text(instance_id=instance, to="+33612345678", text="hello")
    errors.append(
        await _error_of(lambda: client.messages.wait_for_status(sent.id, poll_interval=0.01))
    )
    assert [type(e).__name__ for e in errors] == [
        "AuthenticationError",
        "ProviderError",
        "RequestTimeoutError",
        "RateLimitError",
        "JobFailedError",
        "MessageFailedError",
    ]
    secrets = [emu.api_key, emu.team_key, emu.team_id]
    for error in errors:
        for dump in (pickle.dumps(error), pickle.dumps(error, protocol=0)):
            assert not [s for s in secrets if s.encode() in dump]
            same(error, pickle.loads(dump))
    assert isinstance(errors[3], exc.RateLimitError) and errors[3].headers["Retry-After"] == "3"
    assert isinstance(errors[4], exc.JobFailedError) and errors[4].job.error == "disk on fire"
    assert isinstance(errors[5], exc.MessageFailedError) and errors[5].msg.id == sent.id
