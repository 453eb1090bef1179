"""A bulk import in process, phase by phase: N generated firms as JSONL through ``service.import_bytes`` on a
fresh SQLite store (seeds only), with the seconds to each phase the job reports (parsing, storing, indexing).

No server and no HTTP: the figures are the service's own. Run it from a checkout of another ref (with
``PYTHONPATH`` set to it) for a baseline; ``--processes`` sets ``CHAINMATCH_INDEX_PROCESSES`` where it exists.

    .venv/bin/python -m benchmarks.import_phases --size 100000
    .venv/bin/python -m benchmarks.import_phases --size 20000 --processes 1
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

from benchmarks.import_parse import jsonl_bytes
from benchmarks.serve_harness import generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--processes", type=int, help="index processes (default: the service's default)")
    args = parser.parse_args()
    if args.processes is not None:
        os.environ["CHAINMATCH_INDEX_PROCESSES"] = str(args.processes)
    from matching.service import ChainmatchService
    from matching.settings import Settings

    data = jsonl_bytes(generate(args.size, seed=11))
    with tempfile.TemporaryDirectory(prefix="cm-phases-") as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", max_import_rows=args.size + 10,
                            max_import_bytes=len(data) + (1 << 20))  # fmt: skip
        service = ChainmatchService.open(settings)
        marks: dict[str, float] = {}
        started = time.perf_counter()
        cpu = time.process_time()
        forked = _children_cpu()
        outcome = service.import_bytes(data, filename="bulk.jsonl",
                                       progress=lambda phase, *_: marks.setdefault(phase, time.perf_counter()))
        total = time.perf_counter() - started
        cpu = time.process_time() - cpu
        forked = _children_cpu() - forked
        ends = [*(marks[p] for p in ("storing", "indexing") if p in marks), started + total]
        spans = {p: end - marks[p] for p, end in zip(("parsing", "storing", "indexing"), ends, strict=False)
                 if p in marks}  # fmt: skip
        print(f"{args.size} firms ({len(data) / 1e6:.0f} MB JSONL), created {len(outcome.created)}: "
              + ", ".join(f"{p} {s:.1f} s" for p, s in spans.items())
              + f"; total {total:.1f} s (CPU: this process {cpu:.1f} s, forked processes {forked:.1f} s)")  # fmt: skip
        service.close()


def _children_cpu() -> float:
    """CPU seconds of the finished child processes (the forked index processes, once they have exited)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
