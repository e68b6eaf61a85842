"""The repository stands on its own: no file cites a document users do not have."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Spelled in pieces so that this file does not cite them itself.
_OUTSIDE = ("PERFORMANCE" + ".md", "msgflash-api" + ".md", "../" + "shared")
_TREES = ("msgflash_async", "tests", "benchmarks", "docs", "examples")
_SUFFIXES = {".py", ".md", ".txt", ".toml", ".yml", ".yaml", ".cfg"}


def _files() -> list[Path]:
    found = [ROOT / "README.md", ROOT / "CHANGELOG.md"]
    for tree in _TREES:
        found += [p for p in (ROOT / tree).rglob("*") if p.suffix in _SUFFIXES and p.is_file()]
    return found


def test_no_file_cites_a_document_outside_the_repository() -> None:
    files = _files()
    assert len(files) > 50  # the walk found the trees
    cited = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in files
        for name in _OUTSIDE
        if name in path.read_text(encoding="utf-8", errors="replace")
    ]
    assert cited == []
