"""The compiled kernels (``matching.kernels``) equal the NumPy expressions they replaced, bit for bit.

Each reference below is the NumPy code the engine ran before the kernel (same dtypes, same order of
operations), fed random inputs with the awkward cases: repeated items, padding links in every position,
all-zero relations (ties broken by the first link pair), dead rows, unseen and missing region codes.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from matching.county_terms import CountyTable
from matching.kernels import best_links, cut_key, pair_dots_few, posting_sums
from matching.regions import RegionRegistry


def _random_csr(rng: np.random.Generator, rows: int, cols: int, density: float) -> sp.csr_matrix:
    m = sp.random(rows, cols, density=density, format="csr", dtype=np.float32, random_state=rng)
    m.data = rng.random(len(m.data)).astype(np.float32) + np.float32(0.01)
    return m


def test_posting_sums_equal_unique_and_bincount_of_the_touched_postings() -> None:
    rng = np.random.default_rng(3)
    postings = _random_csr(rng, 300, 5_000, 0.02)
    for _ in range(200):
        features = rng.choice(300, size=int(rng.integers(0, 12)), replace=False)
        weights = rng.random(len(features)).astype(np.float32)
        touched = postings[features]
        reps = np.repeat(weights, np.diff(touched.indptr))
        want_items, inverse = np.unique(touched.indices, return_inverse=True)
        want = np.bincount(inverse, weights=touched.data * reps) if len(want_items) else np.zeros(0)
        items, sums = posting_sums(features, weights, postings.indptr, postings.indices, postings.data, 5_000)
        assert np.array_equal(items, want_items)
        assert np.array_equal(sums, want)  # the same float64 sums in the same order, not just close


@pytest.mark.parametrize(("shuffled", "spread"), [(False, 1), (True, 1), (False, 251), (True, 251)])
def test_posting_sums_equal_bincount_in_any_list_order_and_width(shuffled: bool, spread: int) -> None:
    """Posting lists ascending or not, over 20k items (two passes of the radix sort) or 5M (three): the sums
    are ``np.unique`` + ``np.bincount``'s bit for bit, here with repeated features (whose postings must be
    added in the order the features are given) and many features."""
    rng = np.random.default_rng(5)
    postings = _random_csr(rng, 200, 20_000, 0.01)
    width = 20_000 * spread
    postings = sp.csr_matrix((postings.data, postings.indices * spread, postings.indptr), shape=(200, width))
    if shuffled:  # the same entries, each row's order scrambled: no longer ascending
        for r in range(postings.shape[0]):
            lo, hi = postings.indptr[r], postings.indptr[r + 1]
            perm = lo + rng.permutation(hi - lo)
            postings.indices[lo:hi], postings.data[lo:hi] = postings.indices[perm], postings.data[perm]
        postings.has_sorted_indices = False
    for size in (1, 3, 40, 150):
        features = rng.integers(0, 200, size)  # repeats allowed
        weights = (rng.random(size) * 3).astype(np.float32)
        items, sums = posting_sums(features, weights, postings.indptr, postings.indices, postings.data, width)
        touched = np.concatenate([postings.indices[postings.indptr[f]:postings.indptr[f + 1]] for f in features])
        values = np.concatenate([postings.data[postings.indptr[f]:postings.indptr[f + 1]] * w
                                 for f, w in zip(features, weights, strict=True)])
        want_items, inverse = np.unique(touched, return_inverse=True)
        assert np.array_equal(items, want_items)
        assert np.array_equal(sums, np.bincount(inverse, weights=values))
        assert items.max() > 16_000 * spread  # the high bits take part in the sort


def _best_numpy(matrix: np.ndarray, dn: np.ndarray, dc: np.ndarray, sn: np.ndarray, sc: np.ndarray,
                rows: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pairs = dn.shape[0]
    best = np.zeros(pairs, np.float32)
    d_best = np.full(pairs, -1, np.int64)
    s_best = np.full(pairs, -1, np.int64)
    ok = (dn[:, 0] >= 0) & (sn[:, 0] >= 0)
    sel = np.flatnonzero(ok if rows is None else rows & ok)
    if len(sel) == 0:
        return best, d_best, s_best
    wd = int((dn[sel] >= 0).sum(axis=1).max())
    ws = int((sn[sel] >= 0).sum(axis=1).max())
    d, dcs = dn[sel, :wd], dc[sel, :wd]
    s_, scs = sn[sel, :ws], sc[sel, :ws]
    vals = matrix[np.maximum(d, 0)[:, :, None], np.maximum(s_, 0)[:, None, :]]
    vals = np.where((d >= 0)[:, :, None] & (s_ >= 0)[:, None, :], vals, 0.0) * dcs[:, :, None] * scs[:, None, :]
    flat = vals.reshape(len(sel), -1)
    arg = flat.argmax(axis=1)
    idx = np.arange(len(sel))
    best[sel] = flat[idx, arg]
    d_best[sel] = d[idx, arg // ws]
    s_best[sel] = s_[idx, arg % ws]
    return best, d_best, s_best


def test_best_links_equal_the_argmax_over_link_combinations() -> None:
    rng = np.random.default_rng(5)
    n = 40
    matrix = np.where(rng.random((n, n)) < 0.2, rng.random((n, n)), 0.0).astype(np.float32)
    matrix[:, 7] = 0.0  # a supply node nothing relates to: every pair with it ties at 0
    pairs = 3_000
    dn = np.where(rng.random((pairs, 4)) < 0.6, rng.integers(0, n, (pairs, 4)), -1).astype(np.int32)
    sn = np.where(rng.random((pairs, 3)) < 0.5, rng.integers(0, n, (pairs, 3)), -1).astype(np.int32)
    sn[::5, 0] = 7
    dc = rng.random((pairs, 4)).astype(np.float32)
    sc = rng.random((pairs, 3)).astype(np.float32)
    for rows in (None, rng.random(pairs) < 0.5, np.zeros(pairs, np.bool_)):
        got = best_links(matrix, dn, dc, sn, sc, rows)
        want = _best_numpy(matrix, dn, dc, sn, sc, rows)
        for g, w in zip(got, want, strict=True):
            assert g.dtype == w.dtype
            assert np.array_equal(g, w)
    # the transposed view of a matrix (``is_kind_of.T``) is read the same way
    assert all(np.array_equal(g, w) for g, w in zip(best_links(matrix.T, dn, dc, sn, sc, None),
                                                    _best_numpy(matrix.T, dn, dc, sn, sc, None), strict=True))


def test_pair_dots_equal_a_float64_row_product() -> None:
    rng = np.random.default_rng(11)
    a = _random_csr(rng, 5, 2_000, 0.05)
    b = _random_csr(rng, 400, 2_000, 0.05)
    ai = rng.integers(0, 5, 1_500)
    bi = rng.integers(0, 400, 1_500)
    got = pair_dots_few(a.indptr, a.indices, a.data, b.indptr, b.indices, b.data, ai, bi, 2_000)
    want = np.asarray(a[ai].astype(np.float64).multiply(b[bi].astype(np.float64)).sum(axis=1)).ravel()
    # float64 sums of exact float32 products: equal up to the order of the additions, and equal once rounded
    # to float32 as the engine rounds them
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    assert np.array_equal(got.astype(np.float32), want.astype(np.float32))


def test_pair_dots_are_in_order_sums_over_a_wide_feature_space() -> None:
    """Over the engine's 3M text features, with ``b`` rows that share a few features with the ``a`` row:
    each cosine equals, bit for bit, the in-order float64 sum over the row's stored entries (what a single
    query, reading rows in place, and a batch run, reading gathered rows, both compute)."""
    rng = np.random.default_rng(17)
    width = 3 << 20
    a_cols = np.sort(rng.choice(width, 40, replace=False))
    a = sp.csr_matrix((rng.random(40).astype(np.float32) + np.float32(0.01), a_cols, [0, 40]), shape=(1, width))
    rows = []
    for _ in range(300):
        shared = rng.choice(a_cols, int(rng.integers(0, 6)), replace=False)
        noise = rng.integers(0, width, 40)
        rows.append(np.unique(np.concatenate([shared, noise])))
    indptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])])
    indices = np.concatenate(rows)
    data = rng.random(len(indices)).astype(np.float32) + np.float32(0.01)
    b = sp.csr_matrix((data, indices, indptr), shape=(300, width))
    ai = np.zeros(300, np.int64)
    bi = rng.permutation(300)
    got = pair_dots_few(a.indptr, a.indices, a.data, b.indptr, b.indices, b.data, ai, bi, width)
    dense = dict(zip(a.indices.tolist(), a.data.astype(np.float64).tolist(), strict=True))
    for p, row in enumerate(bi.tolist()):
        acc = 0.0
        for k in range(int(b.indptr[row]), int(b.indptr[row + 1])):
            acc += float(np.float64(b.data[k])) * dense.get(int(b.indices[k]), 0.0)
        assert got[p] == acc
    assert (got > 0).sum() > 100  # the case is not vacuous: many rows share features with ``a``


def test_cut_key_equals_the_numpy_key_and_asks_again_for_an_unseen_county() -> None:
    regions = RegionRegistry.load()
    table = CountyTable(regions)  # a fresh table: it has seen no county yet
    rng = np.random.default_rng(13)
    codes = [int(r.code) for r in regions.all()]
    n_ent, n_off = 500, 2_000
    ent_code = rng.choice(codes, n_ent).astype(np.int64)
    ent_code[:5] = -1  # no region
    ent_code[5] = 999_999  # a six-digit code the registry lacks
    ent_code[6] = 12_345_678  # out of the table's range: "no code"
    standing = rng.random(n_ent).astype(np.float32)
    ent = rng.integers(0, n_ent, n_off).astype(np.int32)
    alive = rng.random(n_off) < 0.9
    rows = rng.choice(n_off + 50, 1_200, replace=False).astype(np.int64)  # some beyond the alive column
    scores = rng.random(len(rows))
    weights = (0.4, 0.15, 0.1, 0.05)

    code = ent_code[ent].astype(np.int32)  # the per-offer copies the index keeps (ItemColumns.code/standing)
    offer_standing = standing[ent]
    distance, cross = table.terms(29.99, 106.27, 500117)
    assert cut_key(rows, scores, alive, code, offer_standing, table.lookup, distance, cross, weights) is None
    live = rows[rows < len(alive)]
    table.indices(code[live])  # what the engine does before asking again
    distance, cross = table.terms(29.99, 106.27, 500117)
    first = cut_key(rows, scores, alive, code, offer_standing, table.lookup, distance, cross, weights)
    assert first is not None

    ok = rows < len(alive)
    ok[ok] = alive[rows[ok]]
    slots = ent[np.where(ok, rows, 0)]
    county = table.indices(ent_code[slots])
    distance, cross = table.terms(29.99, 106.27, 500117)
    wp, wd, wc, ws = weights
    want = np.where(ok, wp * scores + wd * distance[county] + wc * cross[county] + ws * standing[slots], -np.inf)
    assert np.array_equal(first, want)


def test_pair_dots_reuse_this_threads_dense_vector_and_leave_it_zeroed() -> None:
    """One query after another reuses the thread's dense vector (no 24 MB allocation per query at 1M), and
    each finds it zeroed. (In a thread of its own: the vectors are per thread.)"""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        pool.submit(_pair_dots_in_this_thread).result()


def _pair_dots_in_this_thread() -> None:
    from matching import kernels

    rng = np.random.default_rng(5)
    a = _random_csr(rng, 3, 5_000, 0.01)
    b = _random_csr(rng, 50, 5_000, 0.01)
    ai, bi = rng.integers(0, 3, 200), rng.integers(0, 50, 200)
    first = pair_dots_few(a.indptr, a.indices, a.data, b.indptr, b.indices, b.data, ai, bi, 5_000)
    held = kernels._scratch.dense
    assert len(held) >= 5_000 and not held.any()
    again = pair_dots_few(a.indptr, a.indices, a.data, b.indptr, b.indices, b.data, ai, bi, 4_000)
    assert kernels._scratch.dense is held and np.array_equal(first, again)
    pair_dots_few(a.indptr, a.indices, a.data, b.indptr, b.indices, b.data, ai, bi, 6_000)
    assert kernels._scratch.dense is not held and len(kernels._scratch.dense) >= 6_000  # outgrown: a new one
