"""How long do index writes wait while a running service saves its snapshot? In process, on a kept store.

Loads the index (from its snapshot, as a server starts), then a writer thread upserts profiles back to back
(store, change log, index: what a PUT does) the whole time. The run has three windows of the same writer: none
saving (the baseline), a forked save (``CHAINMATCH_INDEX_SNAPSHOT_FORK``'s default) and an in-process save.
Reports per window the writes, their p50 and the longest, and for each save its duration, how long writers
were held (the fork), the saving process's peak RSS (shared pages included) and the most the machine's used
memory rose meanwhile (what the save really costs: pages the child or the parent copied, the child's own).

    CHAINMATCH_INDEX_SNAPSHOT_DIR=/work/bench1m-idx-fork .venv/bin/python -m benchmarks.snapshot_save \\
        --keep-dir /work/bench1m --size 1000000
"""

from __future__ import annotations

import argparse
import logging
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from benchmarks.serve_harness import corpus_of, prepare_store_streamed, prepared


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.saved: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == "index snapshot saved":
            self.saved.append(dict(record.__dict__))


class _MemoryPeak(threading.Thread):
    """The machine's used memory sampled every 0.1 s; ``rise_mb`` is the peak above the first sample."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.first = self.peak = psutil.virtual_memory().used
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.1):
            self.peak = max(self.peak, psutil.virtual_memory().used)

    def rise_mb(self) -> float:
        self.stop.set()
        self.join()
        return round((self.peak - self.first) / 1e6)


class _Writer(threading.Thread):
    """Upserts stored profiles back to back, each with a changed offer description; keeps (end time, seconds)."""

    def __init__(self, service: Any, ids: list[str]) -> None:
        super().__init__(daemon=True)
        self.service, self.ids = service, ids
        self.done: list[tuple[float, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            stored = self.service.get(self.ids[n % len(self.ids)]).enterprise
            offers = [o.model_copy(update={"description": f"快照写入 {n}"}) if i == 0 else o
                      for i, o in enumerate(stored.offers)]  # fmt: skip
            started = time.perf_counter()
            self.service.upsert(stored.model_copy(update={"offers": offers}))
            self.done.append((time.perf_counter(), time.perf_counter() - started))
            n += 1


def _window(writer: _Writer, since: float, until: float) -> dict[str, float]:
    lat = [s * 1000 for end, s in writer.done if since <= end <= until]
    return {"writes": len(lat), "p50_ms": round(statistics.median(lat), 2) if lat else 0.0,
            "max_ms": round(max(lat), 1) if lat else 0.0}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--keep-dir", type=Path, required=True, help="the store (written once if absent)")
    parser.add_argument("--baseline-s", type=float, default=20.0)
    parser.add_argument("--forked-only", action="store_true", help="skip the in-process save")
    args = parser.parse_args()
    from matching.service import ChainmatchService
    from matching.settings import Settings

    if not prepared(args.keep_dir, args.size):
        prepare_store_streamed(args.keep_dir, args.size)
    records = _Records()
    logging.getLogger("chainmatch.service").addHandler(records)
    logging.getLogger("chainmatch.service").setLevel(logging.INFO)
    service = ChainmatchService.open(Settings(data_dir=args.keep_dir, seed_on_empty=False), build_index=False)
    started = time.perf_counter()
    service.index.start()
    print(f"{service.index_size()} firms loaded ({service.index.source}) in {time.perf_counter() - started:.1f} s")
    policy = service.index.snapshots
    assert policy is not None, "snapshots are off"
    writer = _Writer(service, [e for e, _ in corpus_of(args.size).seekers[:200]])
    writer.start()
    rows: list[tuple[str, dict[str, float], str]] = []
    t0 = time.perf_counter()
    time.sleep(args.baseline_s)
    rows.append(("no save", _window(writer, t0, time.perf_counter()), ""))
    for fork in (True,) if args.forked_only else (True, False):
        policy.fork = fork
        memory = _MemoryPeak()
        memory.start()
        t0 = time.perf_counter()
        saved = service.index.save_snapshot(min_changes=0, wait=True)
        t1 = time.perf_counter()
        rise = memory.rise_mb()
        info = records.saved[-1] if saved and records.saved else {}
        note = (f"save {t1 - t0:.1f} s, used memory +{rise} MB at most" + (
            f", writers held {info.get('pause_ms')} ms, saving process peak RSS {info.get('child_max_rss_mb')} MB"
            if fork else ""))  # fmt: skip
        rows.append(("forked save" if fork else "in-process save", _window(writer, t0, t1), note))
    writer.stop.set()
    writer.join()
    print("| window | writes | p50 ms | longest ms | save |")
    print("|---|---:|---:|---:|---|")
    for name, w, note in rows:
        print(f"| {name} | {w['writes']} | {w['p50_ms']} | {w['max_ms']} | {note} |")
    service.close()


if __name__ == "__main__":
    main()
