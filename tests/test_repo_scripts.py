"""The repository is self-contained: the source documents are in it, and ``scripts/serve`` reinstalls only when
``pyproject.toml`` changed (issue 9, item 14)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from matching.sources import SOURCE_DOCS, SOURCE_DOCS_ENV, default_source_docs_dir

REPO = Path(__file__).resolve().parents[1]


def test_source_documents_default_to_the_repository_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SOURCE_DOCS_ENV, raising=False)
    monkeypatch.delenv("CHAINMATCH_SEEDS_DIR", raising=False)
    docs = default_source_docs_dir().resolve()
    assert docs == REPO / "seeds" / "sources"
    index = (docs / "README.md").read_text(encoding="utf-8")
    for name in SOURCE_DOCS:
        assert (docs / name).stat().st_size > 1000, name
        assert f"`{name}`" in index, name
    assert sorted(p.name for p in docs.glob("*.txt")) == sorted(SOURCE_DOCS)


def _fake_repo(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the script beside a pyproject.toml and a stand-in .venv/bin/python that logs pip calls."""
    root = tmp_path / "repo"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "ensure-venv", root / "scripts" / "ensure-venv")
    (root / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "1"\n')
    log = tmp_path / "pip.log"
    python = root / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\necho "$@" >> "{log}"\n')
    python.chmod(0o755)
    return root, log


def _installs(log: Path) -> int:
    return len(re.findall(r"install -q -e", log.read_text())) if log.exists() else 0


def test_serve_reinstalls_only_when_pyproject_changes(tmp_path: Path) -> None:
    root, log = _fake_repo(tmp_path)
    script = root / "scripts" / "ensure-venv"
    env = {**os.environ, "PATH": os.environ.get("PATH", "")}
    run = lambda *args: subprocess.run([str(script), *args], env=env, check=True, timeout=30)  # noqa: E731
    run(".")
    assert _installs(log) == 1
    run(".")
    run(".")
    assert _installs(log) == 1  # unchanged pyproject.toml: no reinstall
    (root / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "2"\n')
    run(".")
    assert _installs(log) == 2
    run(".[dev]")  # other extras are a different install
    assert _installs(log) == 3
    run(".")
    assert _installs(log) == 3
    serve = (REPO / "scripts" / "serve").read_text()
    assert "scripts/ensure-venv" in serve and "pip install" not in serve
