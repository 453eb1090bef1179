"""Snapshots under ``<runs_dir>/<run_id>/``, written to a hidden temporary directory and published by rename.

Files: ``matches.parquet`` (the match table), ``profiles.parquet`` (per-enterprise profile fingerprints, for
diffs), ``matches.csv`` and ``matches.xlsx`` (for analysts) and ``manifest.json``. Every file is flushed
and fsynced before the directory is renamed into place, so a published directory is always complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import polars as pl

from matching.durable import fsync_path
from matching.runs.xlsx import write_xlsx

MATCHES, PROFILES, CSV, XLSX, MANIFEST = "matches.parquet", "profiles.parquet", "matches.csv", "matches.xlsx", \
    "manifest.json"
TMP_PREFIX = ".tmp-"


def tmp_dir(runs_dir: Path, run_id: str) -> Path:
    return runs_dir / f"{TMP_PREFIX}{run_id}"


def write_files(target: Path, table: pl.DataFrame, profiles: pl.DataFrame, *, xlsx: bool = True) -> dict[str, Any]:
    """Write the data files into ``target``; returns ``{file: {bytes, sha256}}``."""
    target.mkdir(parents=True, exist_ok=False)
    # zstd, fixed row groups and no writer-dependent options: the bytes depend on the table only
    table.write_parquet(target / MATCHES, compression="zstd", compression_level=3, row_group_size=100_000)
    profiles.write_parquet(target / PROFILES, compression="zstd", compression_level=3)
    table.write_csv(target / CSV)
    names = [MATCHES, PROFILES, CSV]
    if xlsx:
        write_xlsx(target / XLSX, table)
        names.append(XLSX)
    return {name: _describe(target / name) for name in names}


def _describe(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
        os.fsync(fh.fileno())
    return {"bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def write_manifest(target: Path, manifest: dict[str, Any]) -> None:
    path = target / MANIFEST
    with path.open("w", encoding="utf-8") as fh:
        json.dump(manifest, fh, ensure_ascii=False, indent=2, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())


def publish(runs_dir: Path, run_id: str) -> Path:
    """Rename the finished temporary directory into place (atomic on one file system)."""
    final = runs_dir / run_id
    os.rename(tmp_dir(runs_dir, run_id), final)  # noqa: PTH104 - os.rename refuses to replace a directory
    fsync_path(runs_dir)
    return final


def remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(path)


def read_manifest(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / MANIFEST).read_text(encoding="utf-8"))
    return data
