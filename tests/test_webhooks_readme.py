"""The README's FastAPI webhook service, served by uvicorn against the emulator, end to end.

``tests/test_readme.py`` executes every README block, but this one only
defines ``create_app``; here the app it builds really runs: lifespan, a send
through the emulator, signed deliveries back to its webhook route, and the
wait until ``read``.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from servers import serve_asgi

from msgflash_async._client import MsgFlashClient
from msgflash_async.testing import Emulator

uvicorn = pytest.importorskip("uvicorn")
pytest.importorskip("fastapi")

pytestmark = pytest.mark.anyio

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
WEBHOOKS = README.read_text().split("\n## Webhooks\n", 1)[1].split("\n## ", 1)[0]


def service_block() -> str:
    (source,) = [b for b in BLOCKS if "def create_app" in b and "webhook_router" in b]
    assert source in WEBHOOKS  # documented where readers look for it
    assert source != BLOCKS[0]  # so tests/test_readme.py executes it with the others
    assert len(source.splitlines()) <= 45
    return source


def test_block_defines_only_a_factory() -> None:
    # Executed at import (as test_readme.py does), it needs no environment.
    namespace: dict[str, Any] = {"__name__": "readme_webhooks"}
    exec(compile(service_block(), "README.md", "exec"), namespace)
    assert callable(namespace["create_app"])


async def test_readme_service_sends_and_follows_the_message_to_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with Emulator(rate_limit=None, message_step=0.01) as emu:
        emu.webhooks.settings.retry_backoff = 0.01
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            sock.listen(64)
            service = f"http://127.0.0.1:{sock.getsockname()[1]}"
            async with MsgFlashClient(emu.api_key, base_url=emu.base_url, rate_limit=None) as c:
                events = ["message.sent", "message.delivered", "message.read"]
                endpoint = await c.webhooks.create(
                    url=service + "/webhooks/msgflash", events=events
                )
            assert endpoint.secret is not None
            for name, value in {
                "MSGFLASH_API_KEY": emu.api_key,
                "MSGFLASH_BASE_URL": emu.base_url,
                "MSGFLASH_WEBHOOK_SECRET": endpoint.secret.reveal(),
                "MSGFLASH_INSTANCE_ID": emu.instance_id,
            }.items():
                monkeypatch.setenv(name, value)
            monkeypatch.delenv("MSGFLASH_TEAM_ID", raising=False)
            namespace: dict[str, Any] = {"__name__": "readme_webhooks"}
            exec(compile(service_block(), "README.md", "exec"), namespace)
            app = namespace["create_app"]()
            async with serve_asgi(app, sock), aiohttp.ClientSession(service) as http:
                forged = {"X-MsgFlash-Signature": "sha256=" + "0" * 64}
                async with http.post("/webhooks/msgflash", data=b"{}", headers=forged) as r:
                    assert r.status == 401
                payload = {"to": "+22990000001", "text": "hello"}
                async with http.post("/send", json=payload) as response:
                    assert response.status == 202, await response.text()
                    message_id = (await response.json())["id"]
                async with http.get(f"/messages/{message_id}/read?timeout=5") as response:
                    assert response.status == 200, await response.text()
                    assert await response.json() == {"id": message_id, "status": "read"}
                async with http.get("/messages/unknown/read?timeout=0.05") as response:
                    assert response.status == 504
                await emu.webhooks.wait_idle()
        client = app.state.msgflash
        assert client.closed  # the lifespan closed the client it opened
        assert len(emu.sent_messages) == 1
        assert emu.server_errors == []
    assert [d.status for d in emu.webhook_deliveries] == [200, 200, 200]
    assert sorted(d.event for d in emu.webhook_deliveries) == sorted(events)
