"""Static checks of the Dockerfile (no Docker engine runs here)."""

from __future__ import annotations

import re
from pathlib import Path

DOCKERFILE = Path(__file__).resolve().parent.parent / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    rows = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(r.split(None, 1)[0].upper(), r.split(None, 1)[1] if " " in r else "") for r in rows]


def test_multi_stage_build() -> None:
    stages = [arg for op, arg in _instructions() if op == "FROM"]
    assert len(stages) >= 2
    assert any(op == "COPY" and "--from=" in arg for op, arg in _instructions())


def test_runs_as_non_root_in_final_stage() -> None:
    ops = _instructions()
    last_from = max(i for i, (op, _) in enumerate(ops) if op == "FROM")
    users = [arg.strip() for op, arg in ops[last_from:] if op == "USER"]
    assert users and users[-1] not in {"root", "0", "0:0"}


def test_healthcheck_probes_healthz() -> None:
    checks = [arg for op, arg in _instructions() if op == "HEALTHCHECK"]
    assert checks and "/healthz" in checks[-1]
    assert re.search(r"--interval=\d+s", checks[-1])


def test_copies_what_the_service_needs() -> None:
    copied = " ".join(arg for op, arg in _instructions() if op == "COPY")
    for path in ("pyproject.toml", "matching", "api", "seeds"):
        assert path in copied
    cmd = [arg for op, arg in _instructions() if op == "CMD"][-1]
    assert "chainmatch" in cmd and "serve" in cmd
