"""The relevance rules of :func:`matching.relevance.relevance` for explicit demand only, compiled in one pass.

A supplier list for posted needs (and an ad-hoc need) has no inferred rows, so the rules that read an
enterprise's records (what an inferred buyer makes, equipment for it) never apply. What remains is about
sixty NumPy expressions over a thousand candidate pairs; here they are one loop that reads the two sides'
columns by row and releases the GIL. The NumPy code stays the reference and serves inferred demand:
``tests/engine/test_explicit_relevance.py`` compares the two bit for bit.

Dtypes follow NumPy 2's promotion exactly: relation scores are float32 and combine in float32 before they
meet a float64 column, and a float32 column compared with a Python float compares in float32.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from matching.kernels import best_links_into

# the parameters read, in this order (floats; ``low_confidence`` is compared in float32)
PARAMS = ("head_not_for_use", "sibling_floor", "sibling_text_full", "sibling_text_min", "spec_span",
          "spec_text_full", "backfill_text_min", "text_relation_min", "weak_link_text_factor", "linked_text_factor",
          "text_relation_factor")


@njit(cache=True, nogil=True)
def _gather(columns: np.ndarray, rows: np.ndarray) -> np.ndarray:
    out = np.empty((len(rows), columns.shape[1]), columns.dtype)
    for p in range(len(rows)):
        out[p] = columns[rows[p]]
    return out


@njit(cache=True, nogil=True)
def explicit_relevance(
    di: np.ndarray, si: np.ndarray, d_heads: np.ndarray, d_hconf: np.ndarray, d_uses: np.ndarray,
    d_uconf: np.ndarray, d_alone: np.ndarray, d_part: np.ndarray, d_family: np.ndarray, d_confident: np.ndarray,
    s_heads: np.ndarray, s_hconf: np.ndarray, s_family: np.ndarray, s_confident: np.ndarray, text: np.ndarray,
    head_m: np.ndarray, use_m: np.ndarray, sibling_m: np.ndarray, head_kind: np.ndarray, use_kind: np.ndarray,
    end_product: np.ndarray, downstream_m: np.ndarray, purpose_m: np.ndarray, params: np.ndarray,
    low_confidence: np.float32, kinds: np.ndarray,
    keep: np.ndarray, product: np.ndarray, kind: np.ndarray, d_node: np.ndarray, s_node: np.ndarray,
    backfill: np.ndarray, none: np.ndarray,
) -> None:
    """Fill the outputs for the pairs ``(demand di[p], supply si[p])`` (``text`` already clipped to [0, 1]).

    ``kinds`` holds the codes (text, same, specialisation, sibling). ``none`` marks the pairs the graph
    does not relate, for the caller's check of the offers' own words (``made_from``), which stays in Python.
    """
    head_not_for_use, sibling_floor, sibling_text_full, sibling_text_min = params[0], params[1], params[2], params[3]
    spec_span, spec_text_full, backfill_text_min, text_relation_min = params[4], params[5], params[6], params[7]
    weak_factor, linked_factor, text_factor_none = params[8], params[9], params[10]
    kind_text, same, spec, sibling_code = kinds[0], kinds[1], kinds[2], kinds[3]
    n = len(di)
    dn, dc = _gather(d_heads, di), _gather(d_hconf, di)
    un, uc = _gather(d_uses, di), _gather(d_uconf, di)
    sn, sc = _gather(s_heads, si), _gather(s_hconf, si)
    every = np.ones(n, np.bool_)
    head = np.zeros(n, np.float32)
    h_d = np.full(n, -1, np.int64)
    h_s = np.full(n, -1, np.int64)
    best_links_into(head_m, dn, dc, sn, sc, every, head, h_d, h_s)
    use = np.zeros(n, np.float32)
    u_d = np.full(n, -1, np.int64)
    u_s = np.full(n, -1, np.int64)
    best_links_into(use_m, un, uc, sn, sc, every, use, u_d, u_s)
    sib_rows = (head == 0) & (use == 0)
    sib = np.zeros(n, np.float32)
    b_d = np.full(n, -1, np.int64)
    b_s = np.full(n, -1, np.int64)
    best_links_into(sibling_m, dn, dc, sn, sc, sib_rows, sib, b_d, b_s)
    one = np.float32(1.0)
    weak = np.zeros(n, np.bool_)
    for p in range(n):
        d, t = di[p], text[p]
        hd, us = head[p], use[p]
        d0, u0, s0 = dn[p, 0], un[p, 0], sn[p, 0]
        dnode = np.int64(d0) if d0 >= 0 else np.int64(u0)
        snode = np.int64(s0)
        has_use = False
        for a in range(un.shape[1]):
            has_use = has_use or un[p, a] >= 0
        both = hd > 0 and us > 0
        only_head = hd > 0 and not both
        only_use = us > 0 and hd == 0 and d_alone[d]
        prod = 0.0
        if both:
            prod = np.float64(one - (one - hd) * (one - us))
        factor = head_not_for_use if has_use else 1.0
        if d_part[d] and end_product[max(h_s[p], 0)]:
            factor = factor * 0.5
        if only_head:
            prod = np.float64(hd) * factor
        if only_use:
            prod = np.float64(us)
        pick_use = only_use or (both and us > hd)
        k = kind_text
        if hd > 0:
            k = head_kind[max(h_d[p], 0), max(h_s[p], 0)]
            dnode, snode = h_d[p], h_s[p]
        if pick_use:
            k = use_kind[max(u_d[p], 0), max(u_s[p], 0)]
            dnode, snode = u_d[p], u_s[p]
        is_sibling = prod == 0 and sib[p] > 0
        bf = False
        if is_sibling:
            k = sibling_code
            dnode, snode = b_d[p], b_s[p]
            prod = np.float64(sib[p]) * max(sibling_floor, min(1.0, t / sibling_text_full))
            bf = t < sibling_text_min
        if k in (same, spec) and not has_use:
            prod = prod * (1 - spec_span * (1 - min(1.0, t / spec_text_full)))
        is_none = prod == 0
        d_max = d_hconf[d, 0]
        for a in range(1, d_hconf.shape[1]):
            d_max = max(d_max, d_hconf[d, a])
        u_max = d_uconf[d, 0]
        for a in range(1, d_uconf.shape[1]):
            u_max = max(u_max, d_uconf[d, a])
        weak[p] = d0 >= 0 and d_max < low_confidence and u_max < low_confidence
        linked = s0 >= 0 and (d0 >= 0 or u0 >= 0) and not d_part[d]
        if is_none:
            tf = weak_factor if weak[p] else (linked_factor if linked else text_factor_none)
            prod = tf * t
            bf = bf or t < text_relation_min
        sf = s_family[si[p]]
        df = d_family[d]
        clash = df > 0 and sf > 0 and df != sf and d_confident[d] and s_confident[si[p]]
        keep[p] = not clash and not (is_none and t < backfill_text_min)
        product[p], kind[p], d_node[p], s_node[p], backfill[p], none[p] = prod, k, dnode, snode, bf, is_none
    # a supplier downstream of what is asked for (made from it, or a kind of the buyer's purpose) never serves
    ones_d = np.ones(dn.shape, np.float32)
    ones_u = np.ones(un.shape, np.float32)
    ones_s = np.ones(sn.shape, np.float32)
    down = np.zeros(n, np.float32)
    best_links_into(downstream_m, dn, ones_d, sn, ones_s, none, down, np.full(n, -1, np.int64),
                    np.full(n, -1, np.int64))
    purpose = np.zeros(n, np.float32)
    best_links_into(purpose_m, un, ones_u, sn, ones_s, none, purpose, np.full(n, -1, np.int64),
                np.full(n, -1, np.int64))
    for p in range(n):
        if none[p] and (down[p] > 0 or purpose[p] > 0):
            keep[p] = False
        if weak[p] and not none[p]:
            product[p] = max(product[p], weak_factor * text[p])
        product[p] = min(product[p], 1.0)


def warm_up(columns: dict[str, np.ndarray], relations: tuple[np.ndarray, ...]) -> None:
    """Compile (or load from numba's cache) :func:`explicit_relevance` for an index's column types on empty
    inputs: ``columns`` maps the side column names to arrays of their dtypes, ``relations`` is ``(head, use,
    sibling, head_kind, use_kind, end_product, downstream, purpose)`` as a query passes them."""
    rows = np.zeros(0, np.int64)
    flag = np.zeros(0, np.bool_)
    c = {name: np.ascontiguousarray(column[:0]) for name, column in columns.items()}
    head, use, sibling, head_kind, use_kind, end_product, downstream, purpose = relations
    explicit_relevance(rows, rows, c["head_nodes"], c["head_conf"], c["use_nodes"], c["use_conf"], c["use_alone"],
                       c["part_of_category"], c["family"], c["confident"], c["head_nodes"], c["head_conf"],
                       c["family"], c["confident"], np.zeros(0), head, use, sibling, head_kind, use_kind,
                       end_product, downstream, purpose, np.zeros(len(PARAMS)), np.float32(0.8),
                       np.zeros(4, np.int8), flag, np.zeros(0), np.zeros(0, np.int8), rows, rows, flag, flag.copy())
