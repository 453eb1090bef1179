"""Text-only peers for the all-needs top-k benchmark, over one shared TF-IDF of the same corpus.

All three vectorise ``product product description`` (the engine's :func:`matching.text.item_text`) with
character 2–3-grams (``char_wb``, as the engine's char channel), sublinear tf and smoothed idf, fitted on
offers and needs together, rows L2-normalised, float32. A cap drops terms in more than that share (float)
or count (int) of documents before weighting, as scikit-learn's ``max_df`` does: ``pruned`` (``--max-df``,
a share), ``capped`` (``--df-cap``, a count) and ``unpruned`` (every term) come from one fit.

* (a) :func:`topn_sparse_dot_topn` — ``sparse_dot_topn.sp_matmul_topn``;
* (b) :func:`topn_scipy` — a plain scipy sparse product per block of needs, then ``np.argpartition`` per row;
* (c) :func:`topn_sklearn` — ``NearestNeighbors(metric="cosine", algorithm="brute")``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import normalize

TopN = Callable[[sp.csr_matrix, sp.csr_matrix, int], dict[str, int]]
"""``(needs, offersᵀ, k) -> {"results": …, ["candidates": …]}``: top-k for every need row."""


def item_texts(items: pl.DataFrame) -> list[str]:
    """``product product description`` per row (what the engine vectorises for an offer or need)."""
    text = pl.concat_str([pl.col("product"), pl.col("product"), pl.col("description").fill_null("")],
                         separator=" ")
    return items.select(text.str.strip_chars()).to_series().to_list()


@dataclass
class TfidfInfo:
    """How big and how dense the shared TF-IDF is, and what each pruning variant keeps."""

    seconds: float
    documents: int
    vocabulary: int
    nnz_per_doc: float
    variants: dict[str, dict[str, float]]  # name -> max_df_docs, pruned_terms, kept_nnz_share, pair_work

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _counts(docs: list[str], chunk: int) -> sp.csr_matrix:
    """Char 2–3-gram counts in chunks (scikit-learn's counter keeps Python lists; 1M firms will not fit)."""
    vocab: dict[str, int] = {}
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for lo in range(0, len(docs), chunk):
        cv = CountVectorizer(analyzer="char_wb", ngram_range=(2, 3), dtype=np.float32)
        x = cv.fit_transform(docs[lo : lo + chunk]).tocsr()
        terms = cv.get_feature_names_out()
        ids = np.fromiter((vocab.setdefault(t, len(vocab)) for t in terms), dtype=np.int32, count=len(terms))
        parts.append((x.data, ids[x.indices], x.indptr))
    if not parts:
        return sp.csr_matrix((0, 0), dtype=np.float32)
    data = np.concatenate([p[0] for p in parts])
    indices = np.concatenate([p[1] for p in parts])
    offsets = np.cumsum([0, *(p[2][-1] for p in parts[:-1])])
    indptr = np.concatenate([[0], *(p[2][1:] + off for p, off in zip(parts, offsets, strict=True))])
    parts.clear()
    out = sp.csr_matrix((data, indices, indptr.astype(np.int64)), shape=(len(docs), len(vocab)))
    out.sort_indices()
    return out


def _weighted(counts: sp.csr_matrix, idf: np.ndarray, keep: np.ndarray | None) -> sp.csr_matrix:
    x = counts.copy()
    x.data = (1.0 + np.log(x.data)) * idf[x.indices]
    if keep is not None:
        x.data[~keep[x.indices]] = 0.0
        x.eliminate_zeros()
    return normalize(x, copy=False).astype(np.float32).tocsr()


def vectorise(
    offer_texts: list[str], need_texts: list[str], caps: dict[str, float | int | None],
    sink: Callable[[str, sp.csr_matrix, sp.csr_matrix], None], chunk: int = 100_000,
) -> TfidfInfo:
    """Fit once, then hand ``sink(name, offers, needs)`` one TF-IDF pair per variant in ``caps``.

    A cap is a document-frequency limit: a float is a share of the documents, an int a count, ``None`` keeps
    every term. ``pair_work`` is Σ_t df_offers(t)·df_needs(t) over the kept terms: the multiply-adds of the
    full product of needs by offers.
    """
    start = time.perf_counter()
    counts = _counts(offer_texts + need_texts, chunk)
    n_docs, n_offers = counts.shape[0], len(offer_texts)
    split = counts.indptr[n_offers]
    df_offers = np.bincount(counts.indices[:split], minlength=counts.shape[1]).astype(np.float64)
    df_needs = np.bincount(counts.indices[split:], minlength=counts.shape[1]).astype(np.float64)
    df = df_offers + df_needs
    idf = (np.log((1.0 + n_docs) / (1.0 + df)) + 1.0).astype(np.float32)
    variants: dict[str, dict[str, float]] = {}
    saving = 0.0
    for name, cap in caps.items():
        limit = n_docs if cap is None else int(cap) if isinstance(cap, int) else int(cap * n_docs)
        keep = df <= limit
        x = _weighted(counts, idf, None if cap is None else keep)
        variants[name] = {"max_df_docs": limit, "pruned_terms": int((~keep).sum()),
                          "kept_nnz_share": float(df[keep].sum() / max(df.sum(), 1.0)),
                          "pair_work": float(df_offers[keep] @ df_needs[keep]), "nnz": int(x.nnz)}
        offers, needs = x[:n_offers].tocsr(), x[n_offers:].tocsr()
        del x
        began = time.perf_counter()
        sink(name, offers, needs)
        saving += time.perf_counter() - began
        del offers, needs
    return TfidfInfo(seconds=time.perf_counter() - start - saving, documents=n_docs, vocabulary=counts.shape[1],
                     nnz_per_doc=counts.nnz / max(n_docs, 1), variants=variants)


def save(path: Path, offers: sp.csr_matrix, needs: sp.csr_matrix) -> None:
    path.mkdir(parents=True, exist_ok=True)
    sp.save_npz(path / "offers.npz", offers, compressed=False)
    sp.save_npz(path / "needs.npz", needs, compressed=False)


def load(path: Path) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    return sp.load_npz(path / "offers.npz").tocsr(), sp.load_npz(path / "needs.npz").tocsr()


# -- the peers: each returns how many (need, offer) results it produced ------------------------------------


def topn_sparse_dot_topn(needs: sp.csr_matrix, offers_t: sp.csr_matrix, k: int, threads: int = 2) -> dict[str, int]:
    """(a) ``sp_matmul_topn(needs, offersᵀ, top_n=k)``, sorted, on ``threads`` threads."""
    from sparse_dot_topn import sp_matmul_topn

    return {"results": int(sp_matmul_topn(needs, offers_t, top_n=k, sort=True, n_threads=threads).nnz)}


def topn_scipy(needs: sp.csr_matrix, offers_t: sp.csr_matrix, k: int, block: int = 1024) -> dict[str, int]:
    """(b) scipy ``needs_block @ offersᵀ`` then ``np.argpartition`` per row (single-threaded).

    ``candidates`` counts the non-zero (need, offer) products: how dense the full product is.
    """
    found = candidates = 0
    for lo in range(0, needs.shape[0], block):
        prod = (needs[lo : lo + block] @ offers_t).tocsr()
        candidates += prod.nnz
        for row in range(prod.shape[0]):
            a, b = prod.indptr[row], prod.indptr[row + 1]
            scores = prod.data[a:b]
            if len(scores) > k:
                top = np.argpartition(-scores, k)[:k]
                cols = prod.indices[a:b][top[np.argsort(-scores[top], kind="stable")]]
            else:
                cols = prod.indices[a:b][np.argsort(-scores, kind="stable")]
            found += len(cols)
    return {"results": found, "candidates": candidates}


def make_sklearn(offers: sp.csr_matrix, jobs: int = 2) -> TopN:
    """(c) a fitted ``NearestNeighbors(metric="cosine", algorithm="brute")`` over the offers."""
    model = NearestNeighbors(metric="cosine", algorithm="brute", n_jobs=jobs).fit(offers)

    def topn(needs: sp.csr_matrix, _offers_t: sp.csr_matrix, k: int) -> dict[str, int]:
        _, idx = model.kneighbors(needs, n_neighbors=min(k, offers.shape[0]))
        return {"results": int(idx.size)}

    return topn
