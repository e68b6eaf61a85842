"""Services done right: the README's FastAPI error mapping, and clear ImportErrors.

The FastAPI block of the README maps SDK errors to HTTP answers through
exception handlers; it runs here against the emulator. Each integration whose
extra is missing must fail to import with the pip command to run, which a
child process proves by hiding the dependency.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from msgflash_async.testing import Emulator, Fault

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


async def test_fastapi_handlers_map_sdk_errors_to_http_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("fastapi")
    httpx = pytest.importorskip("httpx")
    (source,) = [b for b in BLOCKS if "exception_handler(NotFoundError)" in b]
    async with Emulator(rate_limit=None) as emu:
        monkeypatch.setenv("MSGFLASH_API_KEY", emu.api_key)
        monkeypatch.setenv("MSGFLASH_BASE_URL", emu.base_url)
        monkeypatch.delenv("MSGFLASH_TEAM_ID", raising=False)
        namespace: dict[str, Any] = {"__name__": "readme_services"}
        exec(compile(source, "README.md", "exec"), namespace)
        app = namespace["app"]
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
                missing = await http.get("/contacts/no-such-contact")
                invalid = await http.get("/contacts/" + "x" * 2000)
                emu.faults.add(Fault.rate_limited(retry_after=120), method="GET")
                busy = await http.get("/contacts/any")
    assert missing.status_code == 404 and missing.json() == {"detail": "not found"}
    assert invalid.status_code == 422 and "id" in invalid.json()["detail"]
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "120"
    assert emu.api_key not in missing.text + invalid.text + busy.text


HIDE = "import sys; sys.modules[{name!r}] = None; "


@pytest.mark.parametrize(
    ("hidden", "statement", "extra"),
    [
        ("fastapi", "import msgflash_async.webhooks.fastapi", "fastapi"),
        ("opentelemetry", "import msgflash_async.otel", "otel"),
    ],
)
def test_a_missing_extra_names_the_pip_command(hidden: str, statement: str, extra: str) -> None:
    code = HIDE.format(name=hidden) + statement
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "ImportError" in result.stderr
    assert f"pip install 'msgflash-async[{extra}]'" in result.stderr, result.stderr


def test_the_command_without_its_extra_says_what_to_install() -> None:
    code = (
        HIDE.format(name="click") + "from msgflash_async.cli import main; sys.exit(main(['usage']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "pip install 'msgflash-async[cli]'" in result.stderr
