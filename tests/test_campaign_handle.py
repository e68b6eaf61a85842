"""The campaign handle with stub fetches (no sockets), and the client-side campaign rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from msgflash_async import (
    Button,
    Campaign,
    CampaignCancelledError,
    CampaignContent,
    CampaignFailedError,
    CampaignHandle,
    CampaignStalledError,
    CampaignStats,
    NewCampaign,
    Recipients,
    ValidationError,
)
from msgflash_async._converter import structure

pytestmark = pytest.mark.anyio

NOW = dt.datetime.now(dt.timezone.utc)


def _campaign(status: str, **stats: Any) -> Campaign:
    return structure({"id": "cmp_uuid", "status": status, "stats": stats}, Campaign)


class Script:
    """A fetch that answers the given campaigns in turn, then the last one forever."""

    def __init__(self, *answers: Campaign) -> None:
        self.answers: Iterator[Campaign] = iter(answers)
        self.last = answers[-1]
        self.calls = 0

    async def __call__(self, campaign_id: str) -> Campaign:
        assert campaign_id == "cmp_uuid"
        self.calls += 1
        await anyio.lowlevel.checkpoint()
        self.last = next(self.answers, self.last)
        return self.last


def _handle(script: Script, **options: Any) -> CampaignHandle:
    return CampaignHandle("cmp_uuid", script, interval=0.001, **options)


async def test_completed_returns_the_campaign() -> None:
    script = Script(
        _campaign("scheduled", planned=3),
        _campaign("running", planned=3, sent=1),
        _campaign("completed", planned=3, sent=3),
    )
    done = await _handle(script)
    assert done.stats.sent == 3 and script.calls == 3


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (_campaign("failed", planned=3, sent=1), CampaignFailedError),
        (_campaign("cancelled", planned=3, sent=1, cancelled=2), CampaignCancelledError),
        (
            _campaign("stopped", planned=3, sent=1, cancelledAt="2026-04-01T10:00:00.000Z"),
            CampaignCancelledError,
        ),
    ],
)
async def test_failed_and_cancelled_raise_with_the_campaign(
    answer: Campaign, error: type[Exception]
) -> None:
    handle = _handle(Script(_campaign("running", planned=3), answer))
    with pytest.raises(error) as info:
        await handle
    assert info.value.campaign == answer  # type: ignore[attr-defined]
    assert handle.done
    with pytest.raises(error):
        handle.result()


async def test_unknown_status_with_finished_stats_is_done() -> None:
    by_stamp = _campaign("archived", planned=2, sent=1, completedAt="2026-04-01T10:00:00.000Z")
    assert (await _handle(Script(by_stamp))).status == "archived"
    by_counts = _campaign("finished", planned=2, sent=1, failed=1)
    assert (await _handle(Script(by_counts))).stats.settled == 2


async def test_unknown_status_that_keeps_moving_is_waited_on() -> None:
    moving = [_campaign("sending", planned=50, sent=n) for n in range(50)]
    script = Script(*moving, _campaign("completed", planned=50, sent=50))
    # Each poll moves a count, so a window far shorter than the run never fires.
    handle = CampaignHandle("cmp_uuid", script, interval=0.002, stall_timeout=0.02)
    assert (await handle).stats.sent == 50


async def test_unknown_status_without_progress_never_hangs() -> None:
    script = Script(_campaign("throttled", planned=5, sent=2))
    handle = _handle(script, stall_timeout=0.05)
    with anyio.fail_after(10), pytest.raises(CampaignStalledError) as info:
        await handle.wait()
    assert info.value.campaign.status == "throttled" and script.calls >= 2
    assert not handle.done  # not an outcome: the handle stays usable
    script.answers = iter(
        [_campaign("throttled", planned=5, sent=3), _campaign("completed", planned=5, sent=5)]
    )
    with anyio.fail_after(10):
        assert (await handle).status == "completed"


async def test_progress_raises_a_stall_too() -> None:
    handle = _handle(Script(_campaign("held", planned=5)), stall_timeout=0.03)
    seen: list[object] = []
    with anyio.fail_after(10), pytest.raises(CampaignStalledError):
        async for progress in handle.progress():
            seen.append(progress.status)
    assert seen and set(seen) == {"held"}


async def test_known_statuses_never_stall() -> None:
    script = Script(_campaign("scheduled", planned=5))
    handle = _handle(script, stall_timeout=0.01)
    with pytest.raises(TimeoutError):
        await handle.wait(timeout=0.1)  # scheduled for later: a timeout, not a stall


async def test_a_repeating_campaign_back_to_scheduled_after_a_run_is_done() -> None:
    ran = _campaign("scheduled", planned=2, sent=2, completedAt="2026-04-01T10:00:00.000Z")
    assert (await _handle(Script(_campaign("running", planned=2), ran))).stats.sent == 2


async def test_timeout_leaves_the_handle_usable_and_polls_are_shared() -> None:
    script = Script(_campaign("paused", planned=2))
    handle = CampaignHandle("cmp_uuid", script, interval=0.05)
    with pytest.raises(TimeoutError, match="paused"):
        await handle.wait(timeout=0.12)
    polls = script.calls
    assert polls >= 1 and not handle.done
    await anyio.sleep(0.05)  # a poll is due again
    # Tasks sharing one handle: polls never closer than half the interval.
    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(handle.refresh)
    assert script.calls == polls + 1
    script.last = _campaign("completed", planned=2, sent=2)
    script.answers = iter(())
    await anyio.sleep(0.03)
    assert (await handle.wait(timeout=5)).status == "completed"


async def test_cancelling_a_poll_mid_flight_keeps_the_handle_consistent() -> None:
    class Slow(Script):
        async def __call__(self, campaign_id: str) -> Campaign:
            await anyio.sleep(10)
            raise AssertionError("never reached")

    slow = Slow(_campaign("running"))
    handle = _handle(slow)
    with anyio.move_on_after(0.02):
        await handle
    assert handle.campaign is None and handle.snapshot() is None and not handle.done
    with pytest.raises(RuntimeError):
        handle.result()


def test_progress_rate_and_eta() -> None:
    from msgflash_async import CampaignProgress

    progress = CampaignProgress(_campaign("running", planned=100, sent=40, failed=10), rate=5.0)
    assert progress.percent == 50 and progress.eta == 10.0
    assert CampaignProgress(_campaign("running"), rate=None).eta is None
    assert CampaignStats(planned=0).percent == 100


# -- client-side rules: refused before any request ----------------------------


def _new(**changes: Any) -> NewCampaign:
    fields: dict[str, Any] = {
        "instance_id": "inst_uuid",
        "name": "spring",
        "schedule": NOW,
        "recipients": Recipients.all_contacts(),
        "content": CampaignContent.text("Hello"),
        **changes,
    }
    return NewCampaign(**fields)


REFUSED: list[tuple[Callable[[], object], str]] = [
    (lambda: CampaignContent(template_id="t", type="text", body="x").validate(), "content"),
    (lambda: CampaignContent().validate(), "content"),
    (lambda: CampaignContent(type="location").validate(), "type"),
    (lambda: CampaignContent(type="contact").validate(), "type"),
    (lambda: CampaignContent.text(" "), "body"),
    (lambda: CampaignContent.image("ftp://e.com/a.jpg"), "media_url"),
    (
        lambda: CampaignContent(type="audio", media_url="https://e.com/a", body="c").validate(),
        "body",
    ),
    (
        lambda: CampaignContent(type="text", body="x", media_url="https://e.com").validate(),
        "media_url",
    ),
    (lambda: CampaignContent(type="text", body="x", variables={"a": 1}).validate(), "variables"),
    (lambda: CampaignContent(template_id="t", body="x").validate(), "body"),
    (
        lambda: CampaignContent.buttons_message(
            title="t", description="d", buttons=[Button.reply(str(n)) for n in range(3)]
        ),
        "buttons",
    ),
    (lambda: CampaignContent.buttons_message(title="t", description="d", buttons=[]), "buttons"),
    (lambda: Recipients.tags([]), "recipients.value"),
    (lambda: Recipients.contacts(["ok", ""]), "recipients.value[1]"),
    (lambda: Recipients.group(""), "recipients.group_id"),
    (lambda: Recipients("group").validate(), "recipients.group_id"),
    (lambda: Recipients("all", ("x",)).validate(), "recipients.value"),
    (lambda: Recipients("tags", ("vip",), group_id="g").validate(), "recipients.group_id"),
    (lambda: _new(schedule=dt.datetime(2026, 4, 1, 10)).validate(), "schedule"),
    (lambda: _new(schedule="2026-04-01T10:00:00Z").validate(), "schedule"),
    (lambda: _new(repeat="hourly").validate(), "repeat"),
    (lambda: _new(recipients=["vip"]).validate(), "recipients"),
    (lambda: _new(content="Hello").validate(), "content"),
    (lambda: _new(name="").validate(), "name"),
    (lambda: _new(instance_id=" ").validate(), "instance_id"),
]


@pytest.mark.parametrize(("build", "field"), REFUSED)
def test_bad_campaigns_are_refused(build: Callable[[], object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        build()
    assert info.value.field == field


def test_good_campaigns_pass() -> None:
    assert _new(repeat="daily").validate().repeat == "daily"
    assert Recipients.tags("vip").value == ("vip",)  # one tag, not three letters
    new_kind = CampaignContent(type="sticker", media_url="anything").validate()
    assert new_kind.type is not None and not new_kind.type.known
    assert Recipients("segment", ("x",)).validate().type == "segment"
