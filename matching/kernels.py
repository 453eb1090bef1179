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
SCRATCH_ROOM = 8
"""A grown accumulator has ``1 / SCRATCH_ROOM`` of its width spare (at 1M firms, room for 200k more rows)."""


@njit(cache=True, nogil=True)
def _posting_sums(features: np.ndarray, weights: np.ndarray, indptr: np.ndarray, indices: np.ndarray,
                  data: np.ndarray, sums: np.ndarray, seen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    total = 0
    for j in range(len(features)):
        total += indptr[features[j] + 1] - indptr[features[j]]
    touched = np.empty(total, np.int64)
    n = 0
    for j in range(len(features)):
        f = features[j]
        w = weights[j]
        for p in range(indptr[f], indptr[f + 1]):
            item = indices[p]
            if seen[item] == 0:
                seen[item] = 1
                touched[n] = item
                n += 1
            sums[item] += np.float64(data[p] * w)  # the float32 product, summed in float64 (np.bincount's way)
    items = np.sort(touched[:n])
    scores = np.empty(n, np.float64)
    for i in range(n):
        item = items[i]
        scores[i] = sums[item]
        sums[item] = 0.0
        seen[item] = 0
    return items, scores


@njit(cache=True, nogil=True)
def _sift_down(keys: np.ndarray, size: int, at: int) -> None:
    key = keys[at]
    while True:
        child = 2 * at + 1
        if child >= size:
            break
        if child + 1 < size and keys[child + 1] < keys[child]:
            child += 1
        if keys[child] >= key:
            break
        keys[at] = keys[child]
        at = child
    keys[at] = key


@njit(cache=True, nogil=True)
def _merged_sums(features: np.ndarray, weights: np.ndarray, indptr: np.ndarray, indices: np.ndarray,
                 data: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    # A k-way merge of the features' posting lists (each ascending), on a heap keyed ``item · k + list``: it
    # yields the items ascending and, for one item, its postings in feature order, which is the order the
    # accumulator adds them in; so the sums are the same, bit for bit. ``False``: a list is not ascending.
    k = len(features)
    pos = np.empty(k, np.int64)
    end = np.empty(k, np.int64)
    keys = np.empty(k, np.int64)
    total = 0
    size = 0
    for j in range(k):
        pos[j] = indptr[features[j]]
        end[j] = indptr[features[j] + 1]
        total += end[j] - pos[j]
        if end[j] > pos[j]:
            keys[size] = np.int64(indices[pos[j]]) * k + j
            size += 1
    for at in range(size // 2 - 1, -1, -1):
        _sift_down(keys, size, at)
    items = np.empty(total, np.int64)
    scores = np.empty(total, np.float64)
    n = -1
    last = -1
    while size > 0:
        item = keys[0] // k
        j = keys[0] - item * k
        p = pos[j]
        if item != last:
            n += 1
            items[n] = item
            scores[n] = 0.0
            last = item
        scores[n] += np.float64(data[p] * weights[j])  # the float32 product, summed in float64
        pos[j] = p + 1
        if p + 1 < end[j]:
            nxt = np.int64(indices[p + 1])
            if nxt < item:
                return items[:0], scores[:0], False
            keys[0] = nxt * k + j
        else:
            size -= 1
            keys[0] = keys[size]
        _sift_down(keys, size, 0)
    return items[: n + 1], scores[: n + 1], True


def posting_sums(features: np.ndarray, weights: np.ndarray, indptr: np.ndarray, indices: np.ndarray,
                 data: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """``(items, sums)``: every item in the postings of ``features`` (rows of a CSR features × items matrix
    of ``width`` items), ascending, with ``Σ data · weight`` over its postings.

    Equals ``np.unique`` of the touched postings plus ``np.bincount`` of their weighted data. Posting lists
    are merged (they are ascending, as scipy writes a transposed matrix); at 1M a dense accumulator over every
    item cost a cache miss per posting. Lists out of order fall back to the accumulator.
    """
    features = np.asarray(features, np.int64)
    items, sums, merged = _merged_sums(features, weights, indptr, indices, data)
    if merged:
        return items, sums
    acc, seen = _accumulators(width)
    return _posting_sums(features, weights, indptr, indices, data, acc, seen)


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
    dense, _ = _accumulators(width)
    out = np.zeros(len(ai), np.float64)
    _pair_dots(a_indptr, a_indices, a_data, b_indptr, b_indices, b_data, np.asarray(ai, np.int64),
               np.asarray(bi, np.int64), dense, out)
    return out


def _accumulators(width: int) -> tuple[np.ndarray, np.ndarray]:
    """This thread's zeroed accumulator and touched flags, at least ``width`` long (the kernel leaves them
    zeroed). They grow with room to spare: every write adds rows, and a query after each write must not
    allocate (and fault in) a new accumulator as long as the index."""
    sums: np.ndarray | None = getattr(_scratch, "sums", None)
    if sums is None or len(sums) < width:
        sums = _scratch.sums = np.zeros(width + width // SCRATCH_ROOM + 1024, np.float64)
        _scratch.seen = np.zeros(len(sums), np.uint8)
    return sums, _scratch.seen


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
