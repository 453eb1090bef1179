"""A worker's index build from the store, in process: N generated firms written once into a SQLite store
(kept in ``--keep-dir``), then ``IndexSync.build()`` timed as a starting server runs it (``--processes``
forked processes, objects frozen afterwards). Run it from a checkout of another ref (with ``PYTHONPATH`` set
to it) for a baseline on the same store.

    .venv/bin/python -m benchmarks.build_store --size 100000 --keep-dir data/bench/store-100k
"""

from __future__ import annotations

import argparse
import gc
import time
from pathlib import Path

from benchmarks.serve_harness import prepare_store_streamed, prepared


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--keep-dir", type=Path, required=True, help="the store, written once and reused")
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    from matching.service import ChainmatchService
    from matching.settings import Settings

    if not prepared(args.keep_dir, args.size):
        print(f"store of {args.size} firms written in {prepare_store_streamed(args.keep_dir, args.size):.1f} s")
    settings = Settings(data_dir=args.keep_dir, index_snapshot=False, seed_on_empty=False)
    service = ChainmatchService.open(settings, build_index=False)
    service.index.processes = args.processes
    service.index.gc_freeze = True  # as a server (CHAINMATCH_GC_FREEZE's default); unused by older code
    started, cpu = time.perf_counter(), time.process_time()
    service.index.build()
    full = gc.get_stats()[2]["collections"]
    print(f"{service.index_size()} firms built from the store in {time.perf_counter() - started:.1f} s "
          f"(this process's CPU {time.process_time() - cpu:.1f} s; full collections {full})")
    service.close()


if __name__ == "__main__":
    main()
