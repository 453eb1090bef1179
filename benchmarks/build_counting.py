"""A build in process with one process, with two (texts counted serially, as before), and with two (texts
counted in forked processes), on the cached synthetic corpus; checks that the indexes give the same lists.

    .venv/bin/python -m benchmarks.build_counting --size 100000
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterable
from typing import Any

from benchmarks import bench_v2
from matching import item_index, item_work
from matching.engine import MatchEngine
from matching.policy import Policy


def _serial(text: Any, chunks: Callable[[], Iterable[list[str]]], processes: int) -> list[Any]:
    return [text.counts(t) for t in chunks()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000)
    args = parser.parse_args()
    corpus_args = bench_v2.parse_args(["--sizes", str(args.size), "--tasks", "engine", "--reuse"])
    corpus_args.size = args.size
    graph, regions = bench_v2._world()
    frames = bench_v2._frames(corpus_args, graph, regions)
    forked = item_work.count_chunks
    lists: dict[str, object] = {}
    for label, processes, counting in (("1 process", 1, forked), ("2 processes, serial counting", 2, _serial),
                                       ("2 processes, forked counting", 2, forked)):  # fmt: skip
        setattr(item_index, "count_chunks", counting)  # noqa: B010 - the name item_index.fit calls
        started = time.perf_counter()
        engine = MatchEngine.build(graph, regions, Policy.load(), frames, processes=processes)
        print(f"{label:30} build {time.perf_counter() - started:6.1f} s", flush=True)
        probes = [e for e in engine.enterprise_ids()[::997] if engine.get(e).needs]  # type: ignore[union-attr]
        lists[label] = [engine.suppliers_for(e, k=5).model_dump() for e in probes]
        del engine
    setattr(item_index, "count_chunks", forked)  # noqa: B010
    first = next(iter(lists.values()))
    print("same lists:", all(v == first for v in lists.values()))


if __name__ == "__main__":
    main()
