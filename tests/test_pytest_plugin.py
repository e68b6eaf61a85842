"""The pytest plugin's fixtures under every async runner, proved in child pytest runs.

The sample test files are the README's own recipes ("Testing your code with
the emulator"), so what users copy is what runs here. Each case starts pytest
in a child process, in a bare directory (no conftest of ours), with one
runner set-up: pytest-asyncio strict, pytest-asyncio auto, anyio alone
(pytest-asyncio disabled) and anyio beside pytest-asyncio.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
SECTION = README.split("## Testing your code with the emulator", 1)[1].split("\n## ", 1)[0]
RECIPES = dict(re.findall(r"```python\n# (test_\w+\.py)  \(([\w-]+)\)\n", SECTION))
SOURCES = {
    name: source
    for name, source in re.findall(r"```python\n# (test_\w+\.py)[^\n]*\n(.*?)```", SECTION, re.S)
}

AUTO_MODE = """
async def test_unmarked_under_auto_mode(msgflash_env):
    from msgflash_async import MsgFlashClient

    async with MsgFlashClient() as client:
        page = await client.contacts.list()
    assert page.items == []
    assert [r.path for r in msgflash_env.requests] == ["/api/v1/contacts"]
"""

SYNC_TEST = """
def test_sync_test_gets_a_clear_error(msgflash_emulator):
    pass
"""


def run_pytest(
    tmp_path: Path, files: dict[str, str], ini: str, *options: str
) -> subprocess.CompletedProcess[str]:
    for name, source in files.items():
        (tmp_path / name).write_text(source)
    (tmp_path / "pytest.ini").write_text(f"[pytest]\n{ini}\n")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            *options,
            "-W",
            "error::ResourceWarning",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=_child_env(),
    )


def _child_env() -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("MSGFLASH_")}
    # The child must load this checkout's plugin, as the parent does.
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def passed(result: subprocess.CompletedProcess[str], count: int) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert f"{count} passed in" in output, output  # nothing skipped
    assert "Unclosed" not in output, output


def test_the_readme_has_a_recipe_per_runner() -> None:
    assert set(RECIPES.values()) == {"pytest-asyncio", "anyio"}
    assert set(RECIPES) == set(SOURCES)


def recipes(runner: str) -> dict[str, str]:
    return {name: SOURCES[name] for name, used in RECIPES.items() if used == runner}


def test_strict_mode_runs_both_recipes_side_by_side(tmp_path: Path) -> None:
    # pytest-asyncio's default (strict) mode, with anyio's plugin loaded too:
    # each test's own runner gets the fixture.
    pytest.importorskip("pytest_asyncio")
    files = {**recipes("pytest-asyncio"), **recipes("anyio")}
    passed(run_pytest(tmp_path, files, "asyncio_mode = strict"), 5)


def test_pytest_asyncio_auto_mode(tmp_path: Path) -> None:
    pytest.importorskip("pytest_asyncio")
    files = {**recipes("pytest-asyncio"), "test_auto.py": AUTO_MODE}
    passed(run_pytest(tmp_path, files, "asyncio_mode = auto"), 2)


def test_anyio_plugin_alone_and_a_sync_test_told_what_to_do(tmp_path: Path) -> None:
    files = {**recipes("anyio"), "test_sync.py": SYNC_TEST}
    result = run_pytest(tmp_path, files, "", "-p", "no:asyncio")
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "4 passed, 1 error in" in output, output
    assert "needs an async test run by anyio's pytest plugin" in output, output
    assert "Unclosed" not in output, output
