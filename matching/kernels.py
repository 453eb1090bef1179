"""Compiled loops (numba) for a single query's hot paths.

A query touches a few thousand postings and scores a few hundred pairs; expressed in NumPy that is dozens
of calls per stage, each with its own temporaries, and the calls, not the arithmetic, set the cost. These
kernels do the same arithmetic in one pass, in the same order, so their results equal the NumPy
expressions they replace bit for bit (tests compare them); the text cosines add their float64 products in
row order where NumPy's ``reduceat`` may pair them, and equal once rounded to float32, as the engine rounds.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
from numba import njit

_scratch = threading.local()
RADIX_BITS = 11
"""At most this many bits of an item number per pass of :func:`posting_sums`' sort (two passes to 4M items)."""


@njit(cache=True, nogil=True)
def _posting_sums(features: np.ndarray, weights: np.ndarray, indptr: np.ndarray, indices: np.ndarray,
                  data: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    total = 0
    for j in range(len(features)):
        total += indptr[features[j] + 1] - indptr[features[j]]
    items = np.empty(total, np.int64)
    values = np.empty(total, np.float64)
    n = 0
    for j in range(len(features)):  # the postings in feature order, each list in its stored order
        f = features[j]
        w = weights[j]
        for p in range(indptr[f], indptr[f + 1]):
            items[n] = indices[p]
            values[n] = np.float64(data[p] * w)  # the float32 product, summed in float64 (np.bincount's way)
            n += 1
    # LSD radix sort by item, a few bits a pass (a count array that stays in L1): stable, so an item's
    # postings keep the order above, which is the order the sums add them in
    needed = 1
    while (max(width, 2) - 1) >> needed:
        needed += 1
    passes = (needed + RADIX_BITS - 1) // RADIX_BITS
    bits = (needed + passes - 1) // passes
    mask = (1 << bits) - 1
    spare_items = np.empty(total, np.int64)
    spare_values = np.empty(total, np.float64)
    count = np.empty((1 << bits) + 1, np.int64)
    for step in range(passes):
        shift = bits * step
        count[:] = 0
        for q in range(total):
            count[((items[q] >> shift) & mask) + 1] += 1
        for b in range(1 << bits):
            count[b + 1] += count[b]
        for q in range(total):
            b = (items[q] >> shift) & mask
            spare_items[count[b]] = items[q]
            spare_values[count[b]] = values[q]
            count[b] += 1
        items, spare_items = spare_items, items
        values, spare_values = spare_values, values
    m = -1
    last = -1
    for q in range(total):  # in place: the write position never passes the read position
        if items[q] != last:
            m += 1
            last = items[q]
            items[m] = last
            spare_values[m] = 0.0
        spare_values[m] += values[q]
    return items[: m + 1], spare_values[: m + 1]


def posting_sums(features: np.ndarray, weights: np.ndarray, indptr: np.ndarray, indices: np.ndarray,
                 data: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """``(items, sums)``: every item in the postings of ``features`` (rows of a CSR features × items matrix
    of ``width`` items), ascending, with ``Σ data · weight`` over its postings.

    Equals ``np.unique`` of the touched postings plus ``np.bincount`` of their weighted data. The touched
    postings are radix-sorted by item, which reads and writes them in sequence: at 1M a dense accumulator
    over every item cost a cache miss per posting, and a heap merge of the lists 1.6 × the sort."""
    return _posting_sums(np.asarray(features, np.int64), weights, indptr, indices, data, width)


@njit(cache=True, nogil=True)
def _cut_key(rows: np.ndarray, scores: np.ndarray, alive: np.ndarray, code: np.ndarray, standing: np.ndarray,
             county_of_code: np.ndarray, distance: np.ndarray, cross: np.ndarray, w_product: float,
             w_distance: np.generic, w_cross: np.generic, w_standing: np.generic, key: np.ndarray) -> bool:
    for i in range(len(rows)):
        row = rows[i]
        if row >= len(alive) or not alive[row]:
            key[i] = -np.inf
            continue
        if row >= len(code) or row >= len(standing):
            return False  # columns read mid-append: the caller's NumPy path decides
        c = code[row]
        county = 0  # no code (or one out of the table's range): the table's "no code" entry
        if 0 <= c < len(county_of_code):
            county = county_of_code[c]
            if county < 0 or county >= len(distance):
                return False  # a county the table has not seen (or added after ``distance``): ask again
        # each term in its column's dtype, as NumPy multiplies a column by a Python float; summed in float64
        key[i] = (w_product * scores[i] + np.float64(w_distance * distance[county])
                  + np.float64(w_cross * cross[county]) + np.float64(w_standing * standing[row]))
    return True


def cut_key(rows: np.ndarray, scores: np.ndarray, alive: np.ndarray, code: np.ndarray, standing: np.ndarray,
            county_of_code: np.ndarray, distance: np.ndarray, cross: np.ndarray,
            weights: tuple[float, float, float, float]) -> np.ndarray | None:
    """The graph cut's key per offer ``rows[i]`` (see :func:`matching.candidates._supplier_key`):
    ``w·score + w·distance + w·cross-region + w·standing`` of the offer's county and standing (``code`` and
    ``standing`` are per offer row), ``-inf`` for dead rows. ``None`` when a county is missing from
    ``county_of_code`` or ``distance`` (the caller adds it to the table and asks again)."""
    key = np.empty(len(rows), np.float64)
    wp, wd, wc, ws = weights
    done = _cut_key(np.asarray(rows, np.int64), scores, alive, code, standing, county_of_code, distance, cross,
                    float(wp), distance.dtype.type(wd), cross.dtype.type(wc), standing.dtype.type(ws), key)
    return key if done else None


@njit(cache=True, nogil=True)
def best_links_into(matrix: np.ndarray, dn: np.ndarray, dc: np.ndarray, sn: np.ndarray, sc: np.ndarray,
                    rows: np.ndarray, best: np.ndarray, d_best: np.ndarray, s_best: np.ndarray) -> None:
    """The kernel of :func:`best_links`, writing into the given outputs (other kernels call it too)."""
    # link columns looked at: the most links any selected row has on each side (NumPy slices ``[:, :w]``)
    wd = 0
    ws = 0
    for p in range(len(dn)):
        if rows[p] and dn[p, 0] >= 0 and sn[p, 0] >= 0:
            nd = 0
            for a in range(dn.shape[1]):
                nd += dn[p, a] >= 0
            ns = 0
            for b in range(sn.shape[1]):
                ns += sn[p, b] >= 0
            wd = max(wd, nd)
            ws = max(ws, ns)
    for p in range(len(dn)):
        if not (rows[p] and dn[p, 0] >= 0 and sn[p, 0] >= 0):
            continue
        top = np.float32(-1.0)
        for a in range(wd):
            for b in range(ws):
                d, s = dn[p, a], sn[p, b]
                v = np.float32(0.0)
                if d >= 0 and s >= 0:
                    v = matrix[d, s]
                v = v * dc[p, a] * sc[p, b]
                if v > top:  # the first maximum in (demand link, supply link) order, as argmax takes it
                    top, d_best[p], s_best[p] = v, d, s
        best[p] = top


def best_links(matrix: np.ndarray, dn: np.ndarray, dc: np.ndarray, sn: np.ndarray, sc: np.ndarray,
               rows: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best ``dc · M[dn, sn] · sc`` of each pair over its link combinations (float32 ``matrix`` and
    confidences): ``(score, demand node, supply node)``; pairs outside ``rows`` or without links score 0
    with nodes −1 (see :func:`matching.relevance._best`)."""
    pairs = len(dn)
    best = np.zeros(pairs, np.float32)
    d_best = np.full(pairs, -1, np.int64)
    s_best = np.full(pairs, -1, np.int64)
    mask = np.ones(pairs, np.bool_) if rows is None else rows
    best_links_into(matrix, dn, dc, sn, sc, mask, best, d_best, s_best)
    return best, d_best, s_best


@njit(cache=True, nogil=True)
def _pair_dots(a_indptr: np.ndarray, a_indices: np.ndarray, a_data: np.ndarray, b_indptr: np.ndarray,
               b_indices: np.ndarray, b_data: np.ndarray, ai: np.ndarray, bi: np.ndarray, dense: np.ndarray,
               out: np.ndarray) -> None:
    done = np.zeros(len(a_indptr) - 1, np.bool_)
    for first in range(len(ai)):
        r = ai[first]
        if done[r]:
            continue
        done[r] = True
        for k in range(a_indptr[r], a_indptr[r + 1]):
            dense[a_indices[k]] = a_data[k]
        for p in range(first, len(ai)):
            if ai[p] != r:
                continue
            acc = 0.0
            for k in range(b_indptr[bi[p]], b_indptr[bi[p] + 1]):
                acc += np.float64(b_data[k]) * dense[b_indices[k]]
            out[p] = acc
        for k in range(a_indptr[r], a_indptr[r + 1]):
            dense[a_indices[k]] = 0.0


def pair_dots_few(a_indptr: np.ndarray, a_indices: np.ndarray, a_data: np.ndarray, b_indptr: np.ndarray,
                  b_indices: np.ndarray, b_data: np.ndarray, ai: np.ndarray, bi: np.ndarray, width: int
                  ) -> np.ndarray:
    """Float64 dot products of the CSR row pairs ``(a[ai[p]], b[bi[p]])`` (``width`` features): each ``a``
    row is scattered once into a dense vector and read at the stored entries of its pairs' ``b`` rows."""
    dense = _dense(width)
    out = np.zeros(len(ai), np.float64)
    _pair_dots(a_indptr, a_indices, a_data, b_indptr, b_indices, b_data, np.asarray(ai, np.int64),
               np.asarray(bi, np.int64), dense, out)
    return out


def _dense(width: int) -> np.ndarray:
    """This thread's zeroed dense vector, at least ``width`` long (the kernel leaves it zeroed). ``width`` is
    the text model's feature count, which writes do not change."""
    dense: np.ndarray | None = getattr(_scratch, "dense", None)
    if dense is None or len(dense) < width:
        dense = _scratch.dense = np.zeros(width, np.float64)
    return dense


def warm_up(postings: list[tuple[np.ndarray, np.ndarray, np.ndarray]], cut_columns: tuple[np.ndarray, ...],
            relations: Sequence[np.ndarray], text: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> None:
    """Compile (or load from numba's cache) every kernel for the column types of one index, on empty inputs,
    so that no query pays for it: ``postings`` and ``text`` are CSR ``(indptr, indices, data)`` triples,
    ``cut_columns`` is ``(alive, code, standing, county_of_code, distance, cross)`` and ``relations`` the
    relation matrices in every memory layout a query passes (a transposed one is compiled apart)."""
    none = np.zeros(0, np.int64)
    for indptr, indices, data in postings:
        posting_sums(none, np.zeros(0, np.float32), indptr, indices, data, 1)
    alive, code, standing, county_of_code, distance, cross = cut_columns
    cut_key(none, np.zeros(0), alive, code, standing, county_of_code, distance, cross, (0.0, 0.0, 0.0, 0.0))
    links = np.full((0, 1), -1, np.int32)
    for relation in relations:
        best_links(relation, links, np.zeros((0, 1), np.float32), links, np.zeros((0, 1), np.float32), None)
    for indptr, indices, data in text:
        pair_dots_few(indptr, indices, data, indptr, indices, data, none, none, 1)
