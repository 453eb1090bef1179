"""What do writes leave behind? RSS over many upserts, in process, with the index's blocks and rows.

Builds the index of a kept store, then upserts stored profiles with one offer's description changed (store,
change log, index: what a PUT does), as the load benchmark's soak does. Every ``--step`` upserts it prints
the process's RSS, the index's matrix blocks and its offer rows (dead rows included: the columns are
append-only). Flat RSS after a rise means the growth is bounded (the delta tier, caches); RSS that keeps
rising with the rows means each write leaves memory behind.

    .venv/bin/python -m benchmarks.write_memory --size 20000 --keep-dir /tmp/store-20k --puts 16000
"""

from __future__ import annotations

import argparse
import gc
import random
from pathlib import Path

import psutil

from benchmarks.serve_harness import corpus_of, prepare_store_streamed, prepared


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=20_000)
    parser.add_argument("--keep-dir", type=Path, required=True, help="the store (written once if absent)")
    parser.add_argument("--puts", type=int, default=16_000)
    parser.add_argument("--step", type=int, default=1_000)
    args = parser.parse_args()
    from matching.service import ChainmatchService
    from matching.settings import Settings

    if not prepared(args.keep_dir, args.size):
        prepare_store_streamed(args.keep_dir, args.size)
    settings = Settings(data_dir=args.keep_dir, seed_on_empty=False, index_snapshot=False)
    service = ChainmatchService.open(settings, build_index=False)
    service.index.start()
    gc.collect()
    gc.freeze()  # as a server does after its build
    ids = [e.id for e in corpus_of(args.size).writable]
    rng = random.Random(1)
    print("| upserts | RSS MB | matrix blocks | offer rows |")
    print("|---:|---:|---:|---:|")
    for n in range(args.puts + 1):
        if n % args.step == 0:
            index = service.index.engine.index  # type: ignore[union-attr]
            rss = psutil.Process().memory_info().rss / 1e6
            print(f"| {n} | {rss:.0f} | {index.block_count()} | {len(index.offers)} |", flush=True)
        stored = service.get(rng.choice(ids)).enterprise
        if stored.offers:
            offers = [o.model_copy(update={"description": f"负载更新 {n}"}) if i == 0 else o
                      for i, o in enumerate(stored.offers)]  # fmt: skip
            service.upsert(stored.model_copy(update={"offers": offers}))
        else:
            service.upsert(stored.model_copy(update={"name": f"{stored.name}{n % 7}"}))
    service.close()


if __name__ == "__main__":
    main()
