"""The capacity, cross-region, policy and standing components of candidate pairs, compiled in one pass.

:func:`matching.components.components` is the reference: each value here is computed with the same
arithmetic in the same dtypes (``tests/engine/test_pair_components.py`` compares them bit for bit). The
distance stays in NumPy there: its sines and cosines must be NumPy's own to give the same bits.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from matching.scoring import NEUTRAL

_MUNICIPALITIES = (11, 12, 31, 50)  # by province code (北京, 天津, 上海, 重庆)


@njit(cache=True, nogil=True)
def _city(code: np.int64) -> np.int64:
    province = code // 10000
    if province in _MUNICIPALITIES:  # NumPy's lookup clips to 0..99: no clipped code is a municipality either
        return province * 100
    if (code // 100) % 100 == 90:  # xx90xx counties: each its own city
        return code
    return code // 100


@njit(cache=True, nogil=True)
def _cross(a: np.int64, b: np.int64) -> float:
    if a < 0 or b < 0:
        return NEUTRAL
    if a == b:
        return 0.0
    if a // 10000 != b // 10000:
        return 1.0
    return 0.7 if _city(a) != _city(b) else 0.3


@njit(cache=True, nogil=True)
def pair_components(
    di: np.ndarray, si: np.ndarray, d_qty: np.ndarray, d_dim: np.ndarray, d_code: np.ndarray, d_prio: np.ndarray,
    s_qty: np.ndarray, s_dim: np.ndarray, s_code: np.ndarray, s_prio: np.ndarray, s_standing: np.ndarray,
    demand_node: np.ndarray, supply_node: np.ndarray, node_chains: np.ndarray,
    capacity: np.ndarray, cross: np.ndarray, policy: np.ndarray, standing: np.ndarray,
) -> None:
    """Fill the four component columns for the pairs ``(demand di[p], supply si[p])``."""
    for p in range(len(di)):
        d, s = di[p], si[p]
        cap, vol = s_qty[s], d_qty[d]
        value = NEUTRAL
        if s_dim[s] >= 0 and s_dim[s] == d_dim[d] and not np.isnan(cap) and not np.isnan(vol):
            value = 1.0
            if vol > 0:
                share = cap / vol
                value = share if share < 1.0 or np.isnan(share) else 1.0  # np.minimum keeps a NaN
        capacity[p] = value
        cross[p] = _cross(d_code[d], s_code[s])
        dn, sn = demand_node[p], supply_node[p]
        on_chain = False
        prio = False
        if dn >= 0 or sn >= 0:
            for w in range(node_chains.shape[1]):
                chains = node_chains[max(dn, 0), w] | node_chains[max(sn, 0), w]
                on_chain = on_chain or chains != 0
                prio = prio or (chains & (d_prio[d, w] | s_prio[s, w])) != 0
        policy[p] = 1.0 if prio else (0.5 if on_chain else 0.0)
        standing[p] = np.float64(s_standing[s])


def warm_up(qty: np.ndarray, dim: np.ndarray, code: np.ndarray, priority: np.ndarray, standing: np.ndarray,
            node_chains: np.ndarray) -> None:
    """Compile (or load from numba's cache) :func:`pair_components` for an index's column types, on empty
    inputs (each column given as the index keeps it; a query passes them gathered, C-ordered)."""
    rows = np.zeros(0, np.int64)
    out = np.zeros(0)
    q, d, c, p, s = (np.ascontiguousarray(a[:0]) for a in (qty, dim, code, priority, standing))
    pair_components(rows, rows, q, d, c, p, q, d, c, p, s, rows, rows, node_chains, out, out, out, out)
