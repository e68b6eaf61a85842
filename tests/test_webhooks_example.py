"""examples/fastapi_webhooks.py served by uvicorn against the emulator, end to end."""

from __future__ import annotations

import importlib.util
import socket
import sys
from pathlib import Path
from types import ModuleType

import aiohttp
import pytest
from servers import serve_asgi

from msgflash_async._client import MsgFlashClient
from msgflash_async._secret import Secret
from msgflash_async.testing import Emulator

uvicorn = pytest.importorskip("uvicorn")
pytest.importorskip("fastapi")

pytestmark = [pytest.mark.anyio, pytest.mark.msgflash_emulator(rate_limit=None, message_step=0.01)]

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "fastapi_webhooks.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fastapi_webhooks_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered, so that pydantic and FastAPI resolve the module's annotations.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_example_imports_without_configuration() -> None:
    module = load_example()
    assert callable(module.create_app)


@pytest.fixture
def emu(emu: Emulator) -> Emulator:
    """The suite's emulator, redelivering webhooks quickly."""
    emu.webhooks.settings.retry_backoff = 0.01
    return emu


async def test_send_then_wait_until_read(emu: Emulator) -> None:
    example = load_example()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        service = f"http://127.0.0.1:{sock.getsockname()[1]}"
        hook_url = service + example.WEBHOOK_PATH
        async with MsgFlashClient(emu.api_key, base_url=emu.base_url, rate_limit=None) as client:
            events = ["message.sent", "message.delivered", "message.read"]
            endpoint = await client.webhooks.create(url=hook_url, events=events)
        assert endpoint.secret is not None
        settings = example.Settings(
            webhook_secret=endpoint.secret,
            instance_id=emu.instance_id,
            api_key=Secret(emu.api_key),
            base_url=emu.base_url,
        )
        app = example.create_app(settings)
        async with serve_asgi(app, sock), aiohttp.ClientSession(service) as http:
            async with http.post("/send", json={"to": "+22990000001", "text": "hi"}) as response:
                assert response.status == 202
                sent = await response.json()
            assert sent["status"] == "queued"
            async with http.get(f"/messages/{sent['id']}/read?timeout=5") as response:
                assert response.status == 200
                assert await response.json() == {"id": sent["id"], "status": "read"}
            async with http.get("/messages/unknown/read?timeout=0.05") as response:
                assert response.status == 504
            async with http.post("/send", json={"to": "nope", "text": "x"}) as response:
                assert response.status == 422  # refused by the SDK, before any request
            await emu.webhooks.wait_idle()
    assert [d.status for d in emu.webhook_deliveries] == [200, 200, 200]
