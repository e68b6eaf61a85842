"""``msgflash`` commands through click's CliRunner against a live emulator.

The CLI runs its own event loop (``asyncio.run``), so these tests are plain
functions and the emulator serves from a thread of its own over loopback.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import msgflash_async.cli.commands  # noqa: F401  registers the sub-commands
from msgflash_async import __version__
from msgflash_async.cli._app import cli
from msgflash_async.testing import Emulator, Fault


@pytest.fixture
def emu() -> Iterator[Emulator]:
    """An emulator served from its own thread and loop (rate limit off, quick messages)."""
    ready = threading.Event()
    box: dict[str, Any] = {}

    async def serve() -> None:
        async with Emulator(rate_limit=None, message_step=0.01) as emulator:
            box.update(emu=emulator, stop=asyncio.Event(), loop=asyncio.get_running_loop())
            ready.set()
            await box["stop"].wait()
        assert emulator.server_errors == []

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(20), "the emulator did not start"
    yield box["emu"]
    box["loop"].call_soon_threadsafe(box["stop"].set)
    thread.join(20)


def run(emu: Emulator, *args: str, key: str | None = None) -> Result:
    env = {"MSGFLASH_API_KEY": key or emu.api_key, "MSGFLASH_BASE_URL": emu.base_url}
    result = CliRunner().invoke(cli, ["--rate-limit", "0", *args], env=env)
    assert emu.api_key not in result.output  # the key is never printed
    return result


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


def test_version_and_help_with_defaults() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output
    result = CliRunner().invoke(cli, ["contacts", "import", "--help"])
    assert result.exit_code == 0 and "[default: 8" in " ".join(result.output.split())
    result = CliRunner().invoke(cli, ["--help"])
    assert "Exit codes" in result.output and "MSGFLASH_API_KEY" in result.output


def test_no_key_and_a_bad_key_are_one_line_and_exit_4(emu: Emulator, tmp_path: Path) -> None:
    target = str(tmp_path / "x.csv")
    result = CliRunner().invoke(cli, ["contacts", "export", target], env={"MSGFLASH_API_KEY": ""})
    assert result.exit_code == 4 and "No API key" in result.output
    bad = "msgf_live_" + "0" * 64
    result = run(emu, "contacts", "export", target, key=bad)
    assert result.exit_code == 4, result.output
    assert result.output.count("\n") == 1 and "AuthenticationError" in result.output
    assert bad not in result.output
    assert not (tmp_path / "x.csv").exists()  # nothing written before the first page


def test_import_checks_rows_keeps_the_rejected_and_resumes(emu: Emulator, tmp_path: Path) -> None:
    existing = emu.seed_contacts(1)[0]
    taken = emu.workspace().contacts.by_id[existing].phone
    source = tmp_path / "people.csv"
    lines = ["name,phone,tags,meta"]
    lines += [f'Person {n},+3361000{n:04d},vip;new,"{{""n"": {n}}}"' for n in range(6)]
    lines += ["Bad phone,12345,,", "Bad meta,+33610009999,,[1]", f"Taken,{taken},,"]
    source.write_text("\n".join(lines) + "\n")
    emu.settings.monthly_api_quota = 3  # the import stops after three creates
    first = run(emu, "--json", "contacts", "import", str(source))
    assert first.exit_code == 1, first.output  # stopped: an API failure
    assert json.loads(first.stdout)["stop_reason"] == "MONTHLY_API_REQUEST_QUOTA_EXCEEDED"
    emu.settings.monthly_api_quota = None
    second = run(emu, "--json", "contacts", "import", str(source))
    assert second.exit_code == 3, second.output  # done, some rows rejected
    summary = json.loads(second.stdout)
    assert summary["already_imported"] == 3 and summary["created"] == 3
    assert summary["rejected"] == 3 and summary["unknown"] == []
    rejected = rows(tmp_path / "people.rejected.csv")
    assert [(r["line"], r["name"]) for r in rejected] == [
        ("8", "Bad phone"),
        ("9", "Bad meta"),
        ("10", "Taken"),
    ]
    assert "phone" in rejected[0]["reason"] and "CONFLICT" in rejected[2]["reason"]
    made = [c for c in emu.workspace().contacts.by_id.values() if c.name.startswith("Person")]
    assert len(made) == 6 and {tuple(c.tags) for c in made} == {("vip", "new")}
    creates = [r for r in emu.requests if r.method == "POST" and r.status in (200, 201)]
    assert len(creates) == 6  # nothing created twice across the two runs


def test_export_streams_every_contact_and_resumes(emu: Emulator, tmp_path: Path) -> None:
    ids = set(emu.seed_contacts(250))
    target = tmp_path / "out.csv"
    # Pages 1 and 2 pass (a harmless zero delay), then every GET fails: a stop at 200 rows.
    emu.faults.add(Fault.delay(0), method="GET", times=3)  # the first page is read twice
    emu.faults.add(Fault.error(500), method="GET", times=None)
    first = run(emu, "contacts", "export", str(target))
    assert first.exit_code == 1, first.output
    assert json.loads((tmp_path / "out.csv.resume").read_text())["rows"] == 200
    emu.faults.clear()
    second = run(emu, "--json", "contacts", "export", str(target))
    assert second.exit_code == 0, second.output
    assert json.loads(second.stdout) == {"file": str(target), "contacts": 250, "resumed": True}
    exported = [r["id"] for r in rows(target)]
    assert len(exported) == 250 and set(exported) == ids
    assert not (tmp_path / "out.csv.resume").exists()


def test_send_any_type_and_watch_to_read(emu: Emulator) -> None:
    base = ["send", "--instance", emu.instance_id, "--to", "+33612345678"]
    result = run(emu, "--json", *base, "--text", "hello")
    assert result.exit_code == 0, result.output
    message_id = json.loads(result.stdout)["id"]
    watched = run(emu, "--json", "messages", "watch", message_id, "--interval", "0.05")
    assert watched.exit_code == 0, watched.output
    assert json.loads(watched.stdout)["status"] == "read"
    template = emu.seed_template("code", "Your code is {{custom.code}}")
    for extra in (
        ["--media", "image", "--url", "https://example.com/a.png", "--text", "look"],
        ["--location", "48.85,2.35", "--name", "Paris"],
        [
            "--title",
            "Pick",
            "--description",
            "one",
            "--button",
            "Yes",
            "--button",
            "Web=https://example.com",
        ],
        ["--template", template, "--var", "code=1234"],
    ):
        sent = run(emu, *base, *extra)
        assert sent.exit_code == 0, sent.output
    sent = emu.sent_messages
    assert [m["type"] for m in sent] == ["text", "image", "location", "buttons", "text"]
    assert sent[-1]["body"] == "Your code is 1234"
    missing = run(emu, *base, "--template", template)
    assert missing.exit_code == 2 and "code" in missing.output  # refused before sending
    assert emu.sent_count == 5


def test_batch_send_reports_resumes_and_lists_unknowns(emu: Emulator, tmp_path: Path) -> None:
    template = emu.seed_template("hello", "Hello {{custom.name}}")
    source = tmp_path / "to.csv"
    lines = ["phone,name"] + [f"+3362000{n:04d},N{n}" for n in range(5)] + ["oops,Bad"]
    source.write_text("\n".join(lines) + "\n")
    emu.faults.add(Fault.error(502, after_handler=True), method="POST", times=1)
    args = ["batch", "send", "--csv", str(source), "--template", template,
            "--instance", emu.instance_id]  # fmt: skip
    first = run(emu, "--json", *args)
    assert first.exit_code == 3, first.output
    report = json.loads(first.stdout)
    assert report["counts"] == {"accepted": 4, "unknown": 1, "rejected": 1}
    (unknown,) = report["unknown"]
    assert unknown["phone"].startswith("+3362000")
    human = run(emu, *args)  # the rerun lists the unknown, or settles it (below)
    assert "skipped" in human.output
    # The rerun reconciles the unknown against the server: the 502'd message
    # was taken, so it is skipped, never sent twice.
    second = run(emu, "--json", *args)
    assert json.loads(second.stdout)["counts"] == {"skipped": 5, "rejected": 1}
    assert emu.sent_count == 5 and emu.duplicate_recipients() == {}


def test_importing_the_package_does_not_load_click_or_rich() -> None:
    code = "import sys, msgflash_async; sys.exit(bool({'click', 'rich'} & set(sys.modules)))"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_the_installed_command_runs_end_to_end(emu: Emulator, tmp_path: Path) -> None:
    executable = shutil.which("msgflash")
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("the msgflash console script is not installed")
        pytest.skip("pip install -e '.[cli]' installs the msgflash command")
    emu.seed_contacts(3)
    target = tmp_path / "all.csv"
    env = {**os.environ, "MSGFLASH_API_KEY": emu.api_key, "MSGFLASH_BASE_URL": emu.base_url}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)  # this checkout's code
    command = [executable, "--json", "contacts", "export", str(target)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["contacts"] == 3 and len(rows(target)) == 3
    assert emu.api_key not in result.stdout + result.stderr


def test_usage_shows_limits_and_use(emu: Emulator) -> None:
    emu.settings.monthly_outbound_quota = 1000
    for _ in range(3):
        run(emu, "send", "--instance", emu.instance_id, "--to", "+33612345678", "--text", "x")
    data = json.loads(run(emu, "--json", "usage").stdout)
    assert data["usage"]["messagesCount"] == 3  # the wire names, as the API sends them
    human = run(emu, "usage")
    assert human.exit_code == 0, human.output
    assert "outbound messages" in human.output and "3 /" in human.output


def test_lookup_follows_a_job_and_writes_each_result(emu: Emulator, tmp_path: Path) -> None:
    emu.settings.not_on_whatsapp = {"+33600000007"}
    source = tmp_path / "numbers.csv"
    phones = [f"+3360000{n:04d}" for n in range(150)] + ["not a number"]
    source.write_text("phone\n" + "\n".join(phones) + "\n")
    args = ["--json", "lookup", str(source), "--instance", emu.instance_id, "--poll", "0.05"]
    result = run(emu, *args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["requested"] == 151 and summary["on_whatsapp"] == 149
    assert summary["not_on_whatsapp"] == 1 and summary["invalid"] == 1
    written = {r["phone"]: r["result"] for r in rows(tmp_path / "numbers.lookup.csv")}
    assert written["+33600000007"] == "not_on_whatsapp" and len(written) == 151


def test_campaign_create_follow_status_pause_resume(emu: Emulator) -> None:
    emu.seed_contacts(4, tags=["vip"])
    emu.seed_contacts(2)
    base = ["campaign", "create", "--name", "Launch", "--instance", emu.instance_id]
    made = run(emu, "--json", *base, "--tags", "vip", "--text", "Hello", "--follow",
               "--poll", "0.05")  # fmt: skip
    assert made.exit_code == 0, made.output
    done = json.loads(made.stdout)
    assert done["status"] == "completed" and done["stats"]["planned"] == 4
    status = json.loads(run(emu, "--json", "campaign", "status", done["id"]).stdout)
    assert status["id"] == done["id"] and status["stats"]["sent"] >= 4
    later = run(
        emu, "--json", *base, "--all", "--text", "Later", "--at", "2099-01-01T09:00:00+00:00"
    )
    campaign_id = json.loads(later.stdout)["id"]
    paused = run(emu, "--json", "campaign", "pause", campaign_id)
    assert json.loads(paused.stdout)["status"] == "paused", paused.output
    resumed = run(emu, "--json", "campaign", "resume", campaign_id)
    assert json.loads(resumed.stdout)["status"] != "paused", resumed.output
    refused = run(emu, "campaign", "resume", done["id"])  # completed: nothing to resume
    assert refused.exit_code == 1 and "CampaignStateError" in refused.output
    emu.settings.features.discard("campaigns")
    gated = run(emu, *base, "--all", "--text", "x")
    assert gated.exit_code == 4 and "FeatureNotAvailableError" in gated.output
