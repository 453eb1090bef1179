"""Bulk-import parsing in process: N generated enterprises as JSONL, CSV and XLSX through ``plan_import`` with the
service's real domain check (region lookup, address resolution), nothing stored.

With ``--baseline REF`` the same files also go through ``matching/imports`` as it was at git ``REF`` (copied
into a temporary package), in the same process, so the ratio compares like with like on a busy machine. The
baseline also runs the text-safety check character by character, as it did before its regex pre-check.

    .venv/bin/python -m benchmarks.import_parse --size 20000 --baseline main
    .venv/bin/python -m benchmarks.import_parse --size 20000 --profile jsonl
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import importlib
import io
import json
import pstats
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.serve_harness import generate
from matching import text_safety
from matching.imports import COLUMNS, ImportPlan, plan_import
from matching.profiles import Enterprise
from matching.service import ChainmatchService
from matching.settings import Settings

REPO = Path(__file__).resolve().parents[1]
Planner = Callable[..., ImportPlan]


def jsonl_bytes(profiles: list[Enterprise]) -> bytes:
    lines = [json.dumps(p.model_dump(mode="json", exclude_none=True), ensure_ascii=False) for p in profiles]
    return ("\n".join(lines) + "\n").encode("utf-8")


def flat_rows(profiles: list[Enterprise]) -> list[list[Any]]:
    """The flat layout: one row per offer or need; enterprise columns on the first row of each firm only."""
    rows: list[list[Any]] = [list(COLUMNS)]
    for p in profiles:
        firm = {"enterprise_id": p.id, "name": p.name, "region_code": p.region_code or "",
                "address": p.address or "", "credit_code": p.credit_code or "", "park": p.park or "",
                "tags": ";".join(p.tags), "certifications": ";".join(p.certifications)}  # fmt: skip
        items: list[dict[str, Any]] = []
        for o in p.offers:
            q = o.capacity
            items.append({"kind": "offer", "item_id": o.id, "product": o.product, "description": o.description or "",
                          "quantity_value": "" if q is None or q.value is None else q.value,
                          "quantity_unit": "" if q is None else q.unit})  # fmt: skip
        for n in p.needs:
            q = n.volume
            items.append({"kind": "need", "item_id": n.id, "product": n.product, "description": n.description or "",
                          "quantity_value": "" if q is None or q.value is None else q.value,
                          "quantity_unit": "" if q is None else q.unit,
                          "required_certifications": ";".join(n.required_certifications)})  # fmt: skip
        for i, item in enumerate(items or [{}]):
            values = {**(firm if i == 0 else {"enterprise_id": p.id}), **item}
            rows.append([values.get(c, "") for c in COLUMNS])
    return rows


def csv_bytes(rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def baseline_planner(ref: str, into: Path) -> Planner:
    """``plan_import`` from ``matching/imports`` at git ``ref``, imported as a separate package."""
    package = into / "cm_baseline_imports"
    package.mkdir()
    names = subprocess.run(["git", "ls-tree", "--name-only", f"{ref}:matching/imports"], cwd=REPO, check=True,
                           capture_output=True, text=True).stdout.split()  # fmt: skip
    for name in names:
        source = subprocess.run(["git", "show", f"{ref}:matching/imports/{name}"], cwd=REPO, check=True,
                                capture_output=True, text=True).stdout  # fmt: skip
        (package / name).write_text(source.replace("matching.imports", "cm_baseline_imports"))
    sys.path.insert(0, str(into))
    module = importlib.import_module("cm_baseline_imports")
    planner: Planner = module.plan_import
    return planner


def timed(planner: Planner, data: bytes, fmt: str, check: Callable[[Enterprise], Enterprise], rows: int,
          *, old_text_check: bool = False) -> float:
    saved = text_safety._UNSAFE_LINE, text_safety._UNSAFE_MULTILINE
    if old_text_check:  # a pre-check that always matches: every text goes through the per-character loop
        text_safety._UNSAFE_LINE = text_safety._UNSAFE_MULTILINE = re.compile("")
    try:
        started = time.perf_counter()
        plan = planner(data, filename=f"bulk.{fmt}", check=check, max_rows=rows + 10)
        seconds = time.perf_counter() - started
    finally:
        text_safety._UNSAFE_LINE, text_safety._UNSAFE_MULTILINE = saved
    rejected = sum(r.status == "rejected" for r in plan.reports)
    assert rejected == 0, [r for r in plan.reports if r.errors][:3]
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=20_000)
    parser.add_argument("--formats", default="jsonl,csv,xlsx")
    parser.add_argument("--baseline", help="git ref of the parser to compare with, e.g. main")
    parser.add_argument("--profile", help="cProfile the current parser on this format and print the top entries")
    args = parser.parse_args()
    profiles = generate(args.size, seed=11)
    rows = flat_rows(profiles)
    files = {"jsonl": jsonl_bytes(profiles), "csv": csv_bytes(rows)}
    if "xlsx" in args.formats:
        files["xlsx"] = xlsx_bytes(rows)
    with tempfile.TemporaryDirectory(prefix="cm-parse-") as tmp:
        service = ChainmatchService.load(Settings(data_dir=Path(tmp) / "data", seed_on_empty=False))
        check = service.prepare
        if args.profile:
            data = files[args.profile]
            profiler = cProfile.Profile()
            profiler.enable()
            plan_import(data, filename=f"bulk.{args.profile}", check=check, max_rows=len(rows) + 10)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
            return
        old = baseline_planner(args.baseline, Path(tmp)) if args.baseline else None
        result: dict[str, Any] = {"size": args.size, "flat_rows": len(rows) - 1}
        for fmt in args.formats.split(","):
            data = files[fmt]
            n = args.size if fmt == "jsonl" else len(rows) - 1
            new_s = timed(plan_import, data, fmt, check, n)
            entry: dict[str, Any] = {"bytes": len(data), "new_s": round(new_s, 2),
                                     "new_s_per_100k_firms": round(new_s * 100_000 / args.size, 1)}  # fmt: skip
            if old is not None:
                old_s = timed(old, data, fmt, check, n, old_text_check=True)
                entry.update(old_s=round(old_s, 2), old_s_per_100k_firms=round(old_s * 100_000 / args.size, 1),
                             speedup=round(old_s / new_s, 2))  # fmt: skip
            result[fmt] = entry
            print(fmt, entry, flush=True)
        print(json.dumps(result))


if __name__ == "__main__":
    main()
