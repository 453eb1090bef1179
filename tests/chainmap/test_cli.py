"""``chainmatch map | gaps | recruitment | warnings | targets`` through typer's runner, on a store seeded from
the real seed enterprises (the same store the server would serve)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from matching.cli import app
from matching.policy import Policy


def test_cli_exports(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["--data-dir", str(tmp_path / "data")]
    out = tmp_path / "targets.csv"
    result = runner.invoke(app, ["targets", "--format", "csv", "--output", str(out), *args])
    assert result.exit_code == 0, result.output
    table = pl.read_csv(out)
    assert table.height == len(Policy.load().targets)  # unmeasurable targets are listed, not dropped
    huichuan = table.filter(pl.col("id") == "zy-huichuan-2025-suppliers").row(0, named=True)
    assert huichuan["measurable"] is True and huichuan["measured"] >= 1

    result = runner.invoke(app, ["gaps", "--limit", "10", "--format", "json", *args])
    assert result.exit_code == 0, result.output
    gaps = json.loads(result.stdout)
    assert gaps["kind"] == "gaps" and len(gaps["items"]) == 10
    weights = [g["weight"] for g in gaps["items"]]
    assert weights == sorted(weights, reverse=True)

    result = runner.invoke(app, ["map", "polyamide", "--format", "csv", *args])
    assert result.exit_code == 0, result.output
    firms = pl.read_csv(io.StringIO(result.stdout))
    assert set(firms["role"]) <= {"supplies", "needs", "needs_inferred"} and firms.height > 0

    bad = runner.invoke(app, ["warnings", "--severity", "dire", *args])
    assert bad.exit_code == 2 and "severity" in bad.output
