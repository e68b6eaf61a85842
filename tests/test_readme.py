"""The README's Python examples run, in order, against the emulator.

Each ```python block is compiled with top-level await and executed in one
shared namespace, seeded with the few names the prose leaves to the reader
(``rows``, ``contact``, ``secret``, ...). The quickstart, which calls
``asyncio.run``, runs in a subprocess pointed at the emulator by environment.
"""

from __future__ import annotations

import ast
import os
import re
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anyio
import pytest

from msgflash_async import MsgFlashClient
from msgflash_async.testing import Emulator

pytestmark = pytest.mark.anyio

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_examples() -> None:
    assert len(BLOCKS) >= 8


async def test_quickstart_runs_as_a_script() -> None:
    async with Emulator(rate_limit=None) as emu:
        env = {**os.environ, "MSGFLASH_API_KEY": emu.api_key, "MSGFLASH_BASE_URL": emu.base_url}
        result = await anyio.run_process([sys.executable, "-c", BLOCKS[0]], env=env, check=False)
    assert result.returncode == 0, result.stderr.decode()
    assert b"Awa Diop" in result.stdout


async def _run_block(source: str, namespace: dict[str, Any]) -> None:
    code = compile(source, "README.md", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(code, namespace)
    if result is not None:
        await result


async def test_every_other_example_runs_against_the_emulator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the batch example writes its journal here
    options: dict[str, Any] = {"job_rate": None, "job_start_delay": 0, "message_step": 0.01}
    async with Emulator(rate_limit=None, **options) as emu:
        emu.webhooks.settings.max_attempts = 1
        contact_ids = emu.seed_contacts(300)
        group_id = emu.seed_group("readme")
        async with MsgFlashClient(emu.api_key, base_url=emu.base_url, rate_limit=None) as client:
            exported: list[int] = []

            async def export(items: Any) -> None:
                exported.append(len(items))

            contact = await client.contacts.get(contact_ids[0])
            namespace: dict[str, Any] = {
                "__name__": "readme",
                "api_key": emu.api_key,
                "client": client,
                "contact": contact,
                "contact_ids": contact_ids[:120],
                "ids": contact_ids[120:],
                "group": SimpleNamespace(id=group_id),
                "job_id": "unused",
                "export": export,
                "secret": "whsec_readme_example",
                "store": lambda secret: None,
                "rows": [
                    SimpleNamespace(phone=f"+3361000{n:04d}", code=f"C{n}", contact_id=cid)
                    for n, cid in enumerate(contact_ids[:5])
                ],
            }
            for source in BLOCKS[1:]:
                if "client = MsgFlashClient(\n    api_key," in source:
                    # The constructor tour: build one, never opened, nothing to close.
                    exec(source, dict(namespace))
                    continue
                if "client.bulk_jobs.handle(job_id)" in source:
                    source = source.replace("await handle.cancel()", "await handle")
                    namespace["job_id"] = None  # set by the block itself below
                    source = source.replace(
                        "handle = client.bulk_jobs.handle(job_id)",
                        "handle = client.bulk_jobs.handle(handle.job_id)",
                    )
                # The documented 10 s poll, shortened for the emulator's quick campaigns.
                source = source.replace(
                    "client.campaigns.handle(campaign.id)",
                    "client.campaigns.handle(campaign.id, poll_interval=0.05)",
                )
                await _run_block(source, namespace)
            assert exported, "the pagination example exported nothing"
            assert namespace["report"].accepted == 5
            assert namespace["done"].stats.sent == 120  # the campaign reached the group
        batch_phones = {row.phone for row in namespace["rows"]}
        assert not batch_phones & set(emu.duplicate_recipients())


async def test_fastapi_example_serves_a_contact_from_the_emulator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("fastapi")
    httpx = pytest.importorskip("httpx")
    (source,) = [block for block in BLOCKS if "FastAPI(lifespan=lifespan)" in block]
    async with Emulator(rate_limit=None) as emu:
        # The block's MsgFlashClient() reads its key and base URL from the environment.
        monkeypatch.setenv("MSGFLASH_API_KEY", emu.api_key)
        monkeypatch.setenv("MSGFLASH_BASE_URL", emu.base_url)
        monkeypatch.delenv("MSGFLASH_TEAM_ID", raising=False)
        contact_id = emu.seed_contacts(1, name_prefix="Awa")[0]
        expected = {"id": contact_id, "name": emu.workspace().contacts.by_id[contact_id].name}
        namespace: dict[str, Any] = {"__name__": "readme_fastapi"}
        exec(compile(source, "README.md", "exec"), namespace)
        app = namespace["app"]
        # ASGITransport runs no lifespan: enter the app's own, as a server would.
        async with app.router.lifespan_context(app):
            client = app.state.msgflash
            assert isinstance(client, MsgFlashClient) and not client.closed
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
                response = await http.get(f"/contacts/{contact_id}")
                again = await http.get(f"/contacts/{contact_id}")
        assert client.closed  # the lifespan closed the one client it opened
        gets = [r for r in emu.requests if r.path == f"/api/v1/contacts/{contact_id}"]
    assert response.status_code == 200, response.text
    assert response.json() == expected and again.json() == expected
    assert len(gets) == 2 and all(r.status == 200 for r in gets)


def test_every_guarantee_names_tests_that_exist() -> None:
    text = README.read_text()
    section = text.split("## Guarantees", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`(test_\w+)`", section))
    assert len(named) >= 15
    promises = re.findall(r"^- \*\*(.+?)\*\*(.*?)(?=^- \*\*|\Z)", section, re.M | re.S)
    assert len(promises) >= 8
    unbacked = [title for title, body in promises if not re.search(r"`test_\w+`", body)]
    assert not unbacked, f"promises that name no test: {unbacked}"
    sources = "".join(p.read_text() for p in README.parent.joinpath("tests").glob("test_*.py"))
    missing = sorted(n for n in named if f"def {n}(" not in sources)
    assert not missing, f"README names tests that do not exist: {missing}"
