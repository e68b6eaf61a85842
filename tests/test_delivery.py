"""One answer to "could this request have been processed?", used everywhere.

``delivery_of`` is the only place that decides; the session's retry rule,
the bulk-job handle and the batch outcome are checked to agree with it.
"""

from __future__ import annotations

import pytest

from msgflash_async import _exceptions as exc
from msgflash_async._batch_outcomes import OutcomeStatus, classify_error
from msgflash_async._client import MsgFlashClient
from msgflash_async._config import RetryPolicy
from msgflash_async._delivery import Delivery, delivery_of
from msgflash_async._protocol import should_retry
from msgflash_async.testing import Emulator, Fault

pytestmark = pytest.mark.anyio

CONTACTS = "/api/v1/contacts"


def _deadline(sent: bool) -> exc.DeadlineExceededError:
    error = exc.DeadlineExceededError("late")
    error.request_sent = sent
    return error


CASES: list[tuple[BaseException, Delivery]] = [
    (exc.ConnectError("refused"), Delivery.NOT_SENT),
    (exc.ClientClosedError("closed"), Delivery.NOT_SENT),
    (exc.ValidationError("bad"), Delivery.NOT_SENT),
    (_deadline(False), Delivery.NOT_SENT),
    (_deadline(True), Delivery.UNKNOWN),
    (exc.RequestTimeoutError("late"), Delivery.UNKNOWN),
    (exc.ConnectionLostError("lost"), Delivery.UNKNOWN),
    (exc.DecodeError("garbled 200"), Delivery.UNKNOWN),
    (exc.RateLimitError("slow", status=429, code="API_RATE_LIMIT_EXCEEDED"), Delivery.REFUSED),
    (exc.NotFoundError("gone", status=404, code="NOT_FOUND"), Delivery.REFUSED),
    (
        exc.QuotaExceededError("q", status=429, code="MONTHLY_OUTBOUND_QUOTA_EXCEEDED"),
        Delivery.REFUSED,
    ),
    (exc.ServerError("boom", status=500, code="INTERNAL_ERROR"), Delivery.UNKNOWN),
    (exc.ProviderError("p", status=502, code="PROVIDER_ERROR"), Delivery.UNKNOWN),
    (RuntimeError("foreign"), Delivery.UNKNOWN),
]


@pytest.mark.parametrize(("error", "expected"), CASES, ids=lambda v: type(v).__name__)
def test_delivery_of(error: BaseException, expected: Delivery) -> None:
    assert delivery_of(error) is expected


@pytest.mark.parametrize(("error", "expected"), CASES, ids=lambda v: type(v).__name__)
def test_a_post_is_retried_only_when_it_cannot_have_been_processed(
    error: BaseException, expected: Delivery
) -> None:
    if not isinstance(error, exc.MsgFlashError):
        return
    if should_retry(error, idempotent=False):
        assert expected is not Delivery.UNKNOWN


@pytest.mark.parametrize(("error", "expected"), CASES, ids=lambda v: type(v).__name__)
def test_batch_outcome_follows_delivery(error: BaseException, expected: Delivery) -> None:
    status = classify_error(error)
    if isinstance(error, exc.ValidationError):
        assert status is OutcomeStatus.REJECTED  # refused here; a resend meets it again
    else:
        assert (
            status.value
            == {
                Delivery.NOT_SENT: "failed_not_sent",
                Delivery.REFUSED: "rejected",
                Delivery.UNKNOWN: "unknown",
            }[expected]
        )


async def test_rate_limit_retries_have_their_own_budget() -> None:
    # A 429 was refused unprocessed: the batch's old retry loop now lives in
    # RetryPolicy.rate_limit_retries, which holds even with max_retries=0.
    policy = RetryPolicy(max_retries=0, backoff_base=0.001, backoff_max=0.001, rate_limit_retries=3)
    async with Emulator(rate_limit=None) as emu:
        emu.faults.add(Fault.rate_limited(retry_after=0.001), method="POST", times=None)
        async with MsgFlashClient(
            emu.api_key, base_url=emu.base_url, rate_limit=None, max_retries=policy
        ) as client:
            with pytest.raises(exc.RateLimitError):
                await client.contacts.create(name="Ada", phone="+33612345678")
        posts = [r for r in emu.requests if r.method == "POST" and r.path == CONTACTS]
    assert len(posts) == 1 + 3
