"""``msgflash emulator``: flags, the banner, a port in use, the inspection routes."""

from __future__ import annotations

import sys

import aiohttp
import anyio
import pytest
from click.testing import CliRunner

from msgflash_async import MsgFlashClient, OutgoingMessage
from msgflash_async.cli._app import cli
from msgflash_async.cli.commands import emulator as _registered  # noqa: F401
from msgflash_async.testing import Emulator

pytestmark = pytest.mark.anyio

API_KEY = "msgf_live_" + "ab" * 32
TEAM_KEY = "msgf_team_" + "cd" * 16
TEAM_ID = "team-fixed-id"
INSTANCE_ID = "instance-fixed-id"


def test_help_shows_the_rate_limit_default_and_the_audit_route() -> None:
    result = CliRunner().invoke(cli, ["emulator", "--help"])
    assert result.exit_code == 0, result.output
    assert "[default: 10" in result.output
    assert "/_emulator/audit" in result.output


def test_a_key_of_the_wrong_kind_is_refused() -> None:
    result = CliRunner().invoke(cli, ["emulator", "--api-key", TEAM_KEY])
    assert result.exit_code == 2
    assert "must be msgf_live_ followed by 64" in result.output


async def _banner(process: anyio.abc.Process) -> str:
    assert process.stdout is not None
    text = ""
    with anyio.fail_after(30):
        while "Audit from another process" not in text:
            text += (await process.stdout.receive()).decode()
    return text


async def test_flags_script_the_emulator_and_another_process_audits_it() -> None:
    command = [sys.executable, "-m", "msgflash_async", "emulator", "--port", "0",
               "--api-key", API_KEY, "--team-key", TEAM_KEY, "--team-id", TEAM_ID,
               "--instance-id", INSTANCE_ID, "--rate-limit", "0", "--seed-contacts", "3",
               "--features", "statuses"]  # fmt: skip
    async with await anyio.open_process(command) as process:
        try:
            banner = await _banner(process)
            base_url = banner.split("export MSGFLASH_BASE_URL=", 1)[1].split()[0]
            assert "Rate limit: off" in banner and "Plan features: statuses" in banner
            assert API_KEY not in banner and TEAM_KEY not in banner  # given keys not echoed
            async with MsgFlashClient(API_KEY, base_url=base_url, rate_limit=None) as client:
                assert len((await client.contacts.list()).items) == 3
                for _ in range(12):  # past the default 10/s: the limit is off
                    await client.instances.get(INSTANCE_ID)
                for _ in range(2):
                    await client.messages.send(
                        OutgoingMessage.text_message(
                            instance_id=INSTANCE_ID, to="+33612345678", text="hi"
                        )
                    )
            team = MsgFlashClient(TEAM_KEY, team_id=TEAM_ID, base_url=base_url, rate_limit=None)
            async with team:
                assert (await team.contacts.list()).items == []
            async with aiohttp.ClientSession() as http:
                async with http.get(base_url + "/_emulator/audit") as response:
                    audit = (await response.json())["data"]
                async with http.get(base_url + "/_emulator/sent") as response:
                    sent = (await response.json())["data"]
        finally:
            process.terminate()
    assert audit["requestsPerRoute"] == {
        "GET /api/v1/contacts": 2,
        "GET /api/v1/instances/{instance_id}": 12,
        "POST /api/v1/messages/send": 2,
    }
    assert audit["duplicateRecipients"] == {"+33612345678": 2}
    assert audit["rateLimited"] == 0 and audit["sentCount"] == 2
    assert [m["to"] for m in sent] == ["+33612345678"] * 2


async def test_a_port_in_use_is_one_line_and_no_traceback() -> None:
    async with Emulator() as taken:
        command = [sys.executable, "-W", "error::ResourceWarning", "-m", "msgflash_async",
                   "emulator", "--port", str(taken.port)]  # fmt: skip
        result = await anyio.run_process(command, check=False)
    err = result.stderr.decode()
    assert result.returncode == 1, err
    assert err.strip().count("\n") == 0, err
    assert f"cannot listen on 127.0.0.1:{taken.port}: address already in use" in err
    assert "Traceback" not in err and "Unclosed" not in err
    assert result.stdout == b""


async def test_inspection_routes_are_outside_the_api(emu: Emulator) -> None:
    emu.settings.rate_limit = 1
    async with aiohttp.ClientSession() as http:
        for _ in range(3):  # no key, no rate limit, not recorded
            async with http.get(emu.base_url + "/_emulator/audit") as response:
                assert response.status == 200
        async with http.get(emu.base_url + "/api/v1/contacts", headers=emu.headers()) as r:
            assert r.status == 200
        async with http.get(emu.base_url + "/_emulator/requests") as response:
            records = (await response.json())["data"]
        async with http.delete(emu.base_url + "/_emulator/requests") as response:
            assert response.status == 204
        async with http.get(emu.base_url + "/_emulator/audit") as response:
            text = await response.text()
    assert [(r["method"], r["route"], r["status"]) for r in records] == [
        ("GET", "/api/v1/contacts", 200)
    ]
    assert emu.requests == [] and '"requests":0' in text.replace(" ", "")
    assert emu.api_key not in text and emu.team_key not in text
    assert emu.requests_per_route() == {}
