"""Two source trees served over one kept store, alternating, read by wrk: an A/B of whole requests.

Processes on these shared machines drift by 1.5× between runs, so one server's figure against another's
from a different hour says little. This starts ``chainmatch serve`` from tree A, reads with wrk, stops it,
does the same with tree B, and repeats, so the drift falls on both sides alike. Each tree loads its own
index snapshot directory (``--a-index``/``--b-index``): the snapshot's identity hashes the package source,
so a tree builds from the store on its first start (start each once beforehand, e.g. with
:mod:`benchmarks.load`'s ``--keep-dir``). The store comes from ``benchmarks.load --keep-dir``.

    git worktree add /tmp/cm-base <commit>
    .venv/bin/python -m benchmarks.ab_trees --size 1000000 --keep-dir /work/bench1m \\
        --a . --a-index /work/bench1m/index --b /tmp/cm-base --b-index /work/bench1m-idx-base

One tree against itself with other settings: the same ``--a``/``--b`` and index, and ``--b-env NAME=VALUE``.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from benchmarks.serve_harness import Server, corpus_of
from benchmarks.wrk_reads import run_reads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, required=True, help="enterprises in the kept store")
    parser.add_argument("--keep-dir", type=Path, required=True, help="data dir kept by benchmarks.load")
    for side in ("a", "b"):
        parser.add_argument(f"--{side}", type=Path, required=True, help=f"source tree {side.upper()}")
        parser.add_argument(f"--{side}-index", type=Path, required=True, help="its index snapshot directory")
        parser.add_argument(f"--{side}-env", action="append", default=[], metavar="NAME=VALUE",
                            help="an environment variable of its server (e.g. CHAINMATCH_QUERY_THREADS=2)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warm", type=float, default=20, help="unmeasured seconds of reads after each start")
    parser.add_argument("--seconds", type=float, default=25, help="seconds per measured phase")
    parser.add_argument("--conns", default="1,8", help="wrk connections of each phase")
    args = parser.parse_args()
    corpus = corpus_of(args.size, sample=10)
    conns = [int(c) for c in args.conns.split(",")]
    runs: list[dict[str, Any]] = []
    for n in range(1, args.rounds + 1):
        for side in ("a", "b"):
            tree, index = getattr(args, side).resolve(), getattr(args, f"{side}_index").resolve()
            env = {"CHAINMATCH_INDEX_SNAPSHOT_DIR": str(index),
                   **dict(pair.split("=", 1) for pair in getattr(args, f"{side}_env"))}
            with Server(args.keep_dir, env=env, code_dir=tree) as server:
                run_reads(server.base, corpus, 1, args.warm)
                for c in conns:
                    got = run_reads(server.base, corpus, c, args.seconds)
                    row = {"round": n, "side": side, "conns": c, "ready_s": round(server.ready_s or 0, 1), **got}
                    runs.append(row)
                    print(json.dumps(row), flush=True)
    for c in conns:
        mean = {s: statistics.mean(r["req_s"] for r in runs if r["side"] == s and r["conns"] == c) for s in "ab"}
        p50 = {s: statistics.mean(r["p50_ms"] for r in runs if r["side"] == s and r["conns"] == c) for s in "ab"}
        print(f"{c} connection(s): req/s A {mean['a']:.1f} B {mean['b']:.1f} (B/A {mean['b'] / mean['a']:.3f}); "
              f"p50 ms A {p50['a']:.2f} B {p50['b']:.2f}")


if __name__ == "__main__":
    main()
