"""Text counting of a whole corpus against scikit-learn's ``HashingVectorizer`` in the same run.

Every offer and need text of the cached synthetic corpus (``benchmarks.synthetic``, seed 7) is normalised and
counted in chunks of 20,000 as an import does: once by ``HashingVectorizer`` (words through the text model's
jieba analyser, ``char_wb`` 2–3-grams), once by :mod:`matching.hashing`, alternating, with fresh caches each
time. The jieba segmentation is shared work; the difference is the hashing.

    .venv/bin/python -m benchmarks.text_counting --size 100000 --reps 2
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer

from benchmarks import bench_v2
from matching.hashing import CharNgramHasher, TokenHasher
from matching.text import CHAR_FEATURES, WORD_FEATURES, TextModel, item_text, normalise_text

CHUNK = 20_000
_HASHING: dict[str, Any] = {"alternate_sign": False, "norm": None, "dtype": np.float32}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=2)
    args = parser.parse_args()
    corpus_args = bench_v2.parse_args(["--sizes", str(args.size), "--tasks", "engine", "--reuse"])
    corpus_args.size = args.size
    graph, regions = bench_v2._world()
    _, offers, needs = bench_v2._frames(corpus_args, graph, regions)
    texts = [item_text(p, d) for frame in (offers, needs) for p, d in frame.select("product", "description").rows()]
    model = TextModel([node.name for node in graph.nodes.values()])
    print(f"{len(texts):,} texts")
    for rep in range(1, args.reps + 1):
        for name in ("scikit-learn", "matching.hashing"):
            model.clear_cache()
            words, chars = TokenHasher(WORD_FEATURES), CharNgramHasher(CHAR_FEATURES, (2, 3))
            started = time.perf_counter()
            for lo in range(0, len(texts), CHUNK):
                docs = [normalise_text(t) for t in texts[lo : lo + CHUNK]]
                if name == "scikit-learn":
                    HashingVectorizer(analyzer=model._analyse, n_features=WORD_FEATURES, **_HASHING).transform(docs)
                    HashingVectorizer(analyzer="char_wb", ngram_range=(2, 3), n_features=CHAR_FEATURES,
                                      **_HASHING).transform(docs)  # fmt: skip
                else:
                    words.counts(map(model._analyse, docs), len(docs))
                    chars.counts(docs)
            print(f"rep {rep}  {name:17} {time.perf_counter() - started:6.1f} s", flush=True)


if __name__ == "__main__":
    main()
