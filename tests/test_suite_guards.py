"""The suite's own guards: a leaked aiohttp session must fail the run that leaks it.

Each case runs pytest in a child process over one small test file, with this
suite's ``conftest.py`` and pytest settings, so the guard is proven without
failing this run.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

LEAKS = """
import aiohttp
import pytest

pytestmark = pytest.mark.anyio


async def test_forgets_to_close_a_session() -> None:
    session = aiohttp.ClientSession()
    assert not session.closed
"""

CLOSES = """
import aiohttp
import pytest

pytestmark = pytest.mark.anyio


async def test_closes_its_session() -> None:
    async with aiohttp.ClientSession() as session:
        assert not session.closed
"""


def run_suite_on(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    shutil.copy(ROOT / "tests" / "conftest.py", tmp_path / "conftest.py")
    shutil.copy(ROOT / "tests" / "redis_server.py", tmp_path / "redis_server.py")
    (tmp_path / "test_case.py").write_text(source)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-c",
            str(ROOT / "pyproject.toml"),
            "--rootdir",
            str(tmp_path),
            str(tmp_path / "test_case.py"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )


@pytest.mark.parametrize(("source", "fails"), [(LEAKS, True), (CLOSES, False)])
def test_unclosed_session_warnings_fail_the_suite(tmp_path: Path, source: str, fails: bool) -> None:
    result = run_suite_on(tmp_path, source)
    output = result.stdout + result.stderr
    assert (result.returncode != 0) is fails, output
    if fails:
        assert "Unclosed client session" in output
