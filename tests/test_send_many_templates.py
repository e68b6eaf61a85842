"""``send_many(template=...)`` over loopback: template variables checked per input, locally."""

from __future__ import annotations

import pytest

from msgflash_async import MsgFlashClient, OutcomeStatus, SendOutcome
from msgflash_async._exceptions import ValidationError
from msgflash_async.models.messages import Message, OutgoingMessage
from msgflash_async.testing import Emulator

pytestmark = pytest.mark.anyio

SEND_PATH = "/api/v1/messages/send"


async def test_missing_custom_variables_are_rejected_without_a_request(
    emu: Emulator, client: MsgFlashClient
) -> None:
    template = await client.templates.create(
        name="otp", type="text", body="Your code is {{custom.code}}"
    )
    phones = [f"+3361000{n:04d}" for n in range(5)]
    missing = {1, 3}
    messages = [
        OutgoingMessage.template_message(
            instance_id=emu.instance_id,
            to=to,
            template_id=template.id,
            variables=None if n in missing else {"code": f"C{n}"},
        )
        for n, to in enumerate(phones)
    ]
    seen: dict[int, SendOutcome[Message]] = {}
    async with client.messages.send_many(messages, template=template) as outcomes:
        async for outcome in outcomes:
            seen[outcome.index] = outcome
    report = outcomes.report

    assert sorted(seen) == list(range(5))
    rejected = {i for i, o in seen.items() if o.status is OutcomeStatus.REJECTED}
    accepted = {i for i, o in seen.items() if o.status is OutcomeStatus.ACCEPTED}
    assert rejected == missing and accepted == {0, 2, 4}
    for index in missing:
        error = seen[index].error
        assert isinstance(error, ValidationError) and error.field == "variables"
        assert "custom.code" in str(error)
    assert report.counts[OutcomeStatus.REJECTED] == 2
    assert report.counts[OutcomeStatus.ACCEPTED] == 3
    assert report.error_codes == {"ValidationError": 2}
    # Only the three complete inputs reached the emulator, once each.
    assert sum(1 for r in emu.requests if r.method == "POST" and r.path == SEND_PATH) == 3
    sent = emu.sent_messages
    assert sorted(m["to"] for m in sent) == [phones[n] for n in (0, 2, 4)]
    assert {m["body"] for m in sent} == {"Your code is C0", "Your code is C2", "Your code is C4"}


async def test_without_template_the_server_refuses_them_after_a_request(
    emu: Emulator, client: MsgFlashClient
) -> None:
    template = await client.templates.create(
        name="otp", type="text", body="Your code is {{custom.code}}"
    )
    messages = [
        OutgoingMessage.template_message(
            instance_id=emu.instance_id, to="+33610000000", template_id=template.id
        )
    ]
    report = await client.messages.send_many(messages)
    assert report.counts[OutcomeStatus.REJECTED] == 1
    assert report.error_codes == {"TEMPLATE_VARIABLES_MISSING": 1}
    assert sum(1 for r in emu.requests if r.method == "POST" and r.path == SEND_PATH) == 1


async def test_an_input_of_another_template_is_rejected(
    emu: Emulator, client: MsgFlashClient
) -> None:
    template = await client.templates.create(name="a", type="text", body="Hi {{custom.x}}")
    message = OutgoingMessage.template_message(
        instance_id=emu.instance_id,
        to="+33610000000",
        template_id="some-other-template",
        variables={"x": "1"},
    )
    report = await client.messages.send_many([message], template=template)
    assert report.counts[OutcomeStatus.REJECTED] == 1
    assert not [r for r in emu.requests if r.path == SEND_PATH]
