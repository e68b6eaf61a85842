"""Client options: ``timeout`` / ``max_retries`` in one form each, ``config=``, ``with_options``."""

from __future__ import annotations

import pytest

from msgflash_async import (
    ClientClosedError,
    ClientConfig,
    ConfigurationError,
    DeadlineExceededError,
    MsgFlashClient,
    OutgoingMessage,
    RetryPolicy,
    Timeouts,
    ValidationError,
)
from msgflash_async.testing import Emulator, Fault

pytestmark = pytest.mark.anyio
KEY = "msgf_live_" + "0" * 64


def _client(emu: Emulator, **options: object) -> MsgFlashClient:
    return MsgFlashClient(emu.api_key, base_url=emu.base_url, **options)  # type: ignore[arg-type]


def test_timeout_and_max_retries_take_a_number_or_the_object() -> None:
    plain = MsgFlashClient(KEY, timeout=12.5, max_retries=5, deadline=60)
    assert plain.config.timeouts == Timeouts(request=12.5, deadline=60)
    assert plain.config.retry == RetryPolicy(max_retries=5)
    timeouts = Timeouts(request=3, connect=1, deadline=9)
    policy = RetryPolicy(max_retries=1, backoff_base=0.2)
    full = MsgFlashClient(KEY, timeout=timeouts, max_retries=policy)
    assert (full.config.timeouts, full.config.retry) == (timeouts, policy)


def test_a_deadline_said_twice_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="deadline= given twice"):
        MsgFlashClient(KEY, timeout=Timeouts(deadline=5), deadline=6)


def test_config_replaces_the_settings_and_refuses_them_beside_it() -> None:
    config = ClientConfig.build(KEY, base_url="http://127.0.0.1:1", pool_size=3)
    client = MsgFlashClient(config=config, rate_limit=None)
    assert client.config is config and client.base_url == "http://127.0.0.1:1"
    with pytest.raises(ConfigurationError, match="pool_size, timeout given beside config="):
        MsgFlashClient(config=config, pool_size=4, timeout=2)
    with pytest.raises(ConfigurationError, match="api_key given beside config="):
        MsgFlashClient(KEY, config=config)


async def test_with_options_shares_the_pool_and_the_limiter(msgflash_emulator: Emulator) -> None:
    async with _client(msgflash_emulator, rate_limit=50) as client:
        quick = client.with_options(timeout=2.0, max_retries=0, deadline=4.0)
        assert quick.config.timeouts == Timeouts(request=2.0, deadline=4.0)
        assert quick.config.retry == RetryPolicy(max_retries=0)
        assert client.config.retry == RetryPolicy(max_retries=3)  # the parent keeps its own
        assert quick.rate_limiter is client.rate_limiter
        await client.contacts.list()
        await quick.contacts.list()
        assert quick._session._client() is client._session._client()  # one aiohttp pool

        await quick.aclose()  # closes the derived client only
        assert quick.closed and not client.closed
        with pytest.raises(ClientClosedError):
            await quick.contacts.list()
        await client.contacts.list()  # the parent's pool still serves
        assert not client._session._client().closed


async def test_closing_the_parent_ends_the_derived_client(msgflash_emulator: Emulator) -> None:
    client = _client(msgflash_emulator, rate_limit=None)
    derived = client.with_options(max_retries=1)
    await derived.contacts.list()
    await client.aclose()
    with pytest.raises(ClientClosedError):
        await derived.contacts.list()


async def test_with_options_deadline_bounds_calls_of_the_derived_client_only(
    msgflash_emulator: Emulator,
) -> None:
    msgflash_emulator.faults.add(Fault.delay(0.6), method="GET", times=1)
    async with _client(msgflash_emulator, rate_limit=None, timeout=5.0) as client:
        with pytest.raises(DeadlineExceededError):
            await client.with_options(deadline=0.2).contacts.list()
        msgflash_emulator.faults.add(Fault.delay(0.3), method="GET", times=1)
        page = await client.contacts.list()  # no deadline on the parent
        assert page is not None


async def test_a_message_without_instance_goes_through_the_client_default(
    msgflash_emulator: Emulator,
) -> None:
    emu = msgflash_emulator
    message = OutgoingMessage.text_message(to="+33612345678", text="hi")
    assert message.instance_id is None
    async with _client(emu, rate_limit=None, instance_id=emu.instance_id) as client:
        sent = await client.messages.send(message)
        stored = await client.messages.get(sent.id)
        assert stored.instance_id == emu.instance_id
        assert (await client.messages.send_text(to="+33612345678", text="again")).id
        report = await client.messages.send_many([message, message])
        assert report.accepted == 2
    async with _client(emu, rate_limit=None) as client:
        before = len(emu.requests)
        with pytest.raises(ValidationError, match="MSGFLASH_INSTANCE_ID") as info:
            await client.messages.send(message)
        assert info.value.field == "instance_id"
        assert len(emu.requests) == before  # refused before any request


def test_the_default_instance_comes_from_the_environment() -> None:
    config = ClientConfig.build(KEY, environ={"MSGFLASH_INSTANCE_ID": "inst_env"})
    assert config.instance_id == "inst_env"
    explicit = ClientConfig.build(
        KEY, environ={"MSGFLASH_INSTANCE_ID": "inst_env"}, instance_id="inst_arg"
    )
    assert explicit.instance_id == "inst_arg"


def test_builders_take_keywords_only() -> None:
    with pytest.raises(TypeError):
        OutgoingMessage.text_message("inst", "+33612345678", "hi")  # type: ignore[call-arg]
