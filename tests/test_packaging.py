"""The wheel lists every Python package, and carries the seeds and the evaluation sets."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_python_package_is_listed_for_the_wheel() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for top in ("matching", "api")
        for p in (ROOT / top).rglob("__init__.py")
    }
    assert found <= set(config["packages"]), sorted(found - set(config["packages"]))
    assert config["package-dir"]["chainmatch_seeds"] == "seeds"
    data = config["package-data"]
    assert "evaluation/sets/*/*.yaml" in data["matching"]
    deepest = max(len(p.relative_to(ROOT / "seeds").parts) for p in (ROOT / "seeds").rglob("*.yaml"))
    assert f"{'*/' * (deepest - 1)}*.yaml" in data["chainmatch_seeds"]
