"""Component scores of candidate pairs as column operations, and the hard filters as masks.

Every component lies in [0, 1] (see :mod:`matching.scoring` for the per-pair definitions these vectorise):
product and text come from :mod:`matching.relevance`; distance decays with the great-circle distance;
capacity is the share of the volume the capacity covers; cross-region rewards other provinces and cities;
policy rewards chains a plan names for either party's region; standing reads the supplier's tags.
"""

from __future__ import annotations

import numpy as np

from matching.item_index import ItemIndex
from matching.pair_components import pair_components
from matching.regions import EARTH_RADIUS_KM
from matching.relevance import Relevance
from matching.scoring import DISTANCE_SCALE_KM, NEUTRAL
from matching.sides import Side
from matching.weights import COMPONENTS, MatchFilters, WeightProfile

_MUNICIPALITY = np.isin(np.arange(100), [11, 12, 31, 50])  # by province code: a lookup, not np.isin per pair


def distance_km(demand: Side, supply: Side, di: np.ndarray, si: np.ndarray) -> np.ndarray:
    """Great-circle distance per pair (NaN when a region is unknown)."""
    return great_circle_km(demand.lat[di], demand.lon[di], supply.lat[si], supply.lon[si])


def great_circle_km(lat1: np.ndarray | float, lon1: np.ndarray | float, lat2: np.ndarray, lon2: np.ndarray
                    ) -> np.ndarray:
    """Great-circle distance of coordinates in degrees (NaN where one is unknown)."""
    lat1, lon1, lat2, lon2 = np.radians(lat1), np.radians(lon1), np.radians(lat2), np.radians(lon2)
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    km: np.ndarray = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return km


def _city(code: np.ndarray) -> np.ndarray:
    province = code // 10000
    # xx90xx counties (仙桃市, 石河子市…) are administered by the province directly: each is its own city.
    own = (code // 100) % 100 == 90
    city: np.ndarray = np.where(_MUNICIPALITY[np.clip(province, 0, 99)], province * 100,
                                np.where(own, code, code // 100))
    return city


def distance_score(km: np.ndarray) -> np.ndarray:
    """The distance component: exponential decay with the distance, neutral when it is unknown."""
    score: np.ndarray = np.where(np.isnan(km), NEUTRAL, np.exp(-np.maximum(km, 0.0) / DISTANCE_SCALE_KM))
    return score


def cross_region_score(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The cross-region component of region codes ``a`` and ``b``: another province 1, another city 0.7,
    the same city 0.3, the same county 0, unknown neutral."""
    cross = np.where(a // 10000 != b // 10000, 1.0, np.where(_city(a) != _city(b), 0.7, 0.3))
    cross = np.where(a == b, 0.0, cross)
    score: np.ndarray = np.where((a < 0) | (b < 0), NEUTRAL, cross)
    return score


def components(
    index: ItemIndex, demand: Side, supply: Side, di: np.ndarray, si: np.ndarray, rel: Relevance, *,
    compiled: bool = True,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """``({component: column}, distance in km)`` for the pairs; all but the distance are compiled
    (:mod:`matching.pair_components`) unless ``compiled`` is false, the NumPy code below being their reference."""
    km = distance_km(demand, supply, di, si)
    distance = distance_score(km)
    if compiled:
        n = len(di)
        capacity, cross, policy, standing = (np.empty(n, np.float64) for _ in range(4))
        pair_components(np.asarray(di, np.int64), np.asarray(si, np.int64), demand.qty, demand.qty_dim, demand.code,
                        demand.priority, supply.qty, supply.qty_dim, supply.code, supply.priority, supply.standing,
                        rel.demand_node, rel.supply_node, index.relations.node_chains, capacity, cross, policy,
                        standing)
        return {"product": rel.product, "text": rel.text, "distance": distance, "capacity": capacity,
                "cross_region": cross, "policy": policy, "standing": standing}, km
    cap, vol = supply.qty[si], demand.qty[di]
    same_dim = (supply.qty_dim[si] >= 0) & (supply.qty_dim[si] == demand.qty_dim[di])
    with np.errstate(divide="ignore", invalid="ignore"):
        capacity = np.where(vol <= 0, 1.0, np.minimum(1.0, cap / vol))
    capacity = np.where(same_dim & ~np.isnan(cap) & ~np.isnan(vol), capacity, NEUTRAL)
    cross = cross_region_score(demand.code[di], supply.code[si])
    chains = index.relations.node_chains
    pair = chains[np.maximum(rel.demand_node, 0)] | chains[np.maximum(rel.supply_node, 0)]
    pair = np.where((rel.demand_node >= 0)[:, None] | (rel.supply_node >= 0)[:, None], pair, 0)
    on_chain = (pair != 0).any(axis=1)
    prio = (pair & (demand.priority[di] | supply.priority[si])) != 0
    policy = np.where(prio.any(axis=1), 1.0, np.where(on_chain, 0.5, 0.0))
    return {
        "product": rel.product, "text": rel.text, "distance": distance, "capacity": capacity,
        "cross_region": cross, "policy": policy, "standing": supply.standing[si].astype(np.float64),
    }, km


def weighted_score(comps: dict[str, np.ndarray], profile: WeightProfile) -> np.ndarray:
    total = np.zeros(len(comps["product"]))
    for c in COMPONENTS:
        total += profile.weights.get(c, 0.0) * comps[c]
    rounded: np.ndarray = np.round(total, 6)
    return rounded


def filter_mask(
    index: ItemIndex, demand: Side, supply: Side, di: np.ndarray, si: np.ndarray, filters: MatchFilters
) -> np.ndarray:
    """Pairs every hard filter allows (``min_score`` is applied after scoring)."""
    ds, ss = demand.slot[di], supply.slot[si]
    ok = (ds != ss) | (ds < 0)
    rows = np.flatnonzero(demand.has_required[di])
    if len(rows):  # a need's required certifications against each candidate's (sets: one Python loop)
        required, certs = demand.required.tolist(), supply.certs.tolist()
        ok[rows] &= np.fromiter((required[d] <= certs[s] for d, s in zip(di[rows].tolist(), si[rows].tolist(),
                                                                          strict=True)), np.bool_, len(rows))
    ids = index.ent_id
    if filters.exclude_enterprises:
        excluded = set(filters.exclude_enterprises)
        bad = np.array([s >= 0 and ids[s] in excluded for s in ss.tolist()], dtype=np.bool_)
        bad |= np.array([s >= 0 and ids[s] in excluded for s in ds.tolist()], dtype=np.bool_)
        ok &= ~bad
    if filters.exclude_regions:
        codes = np.array([int(c) for c in filters.exclude_regions if c.isdigit()], dtype=np.int64)
        ok &= ~np.isin(demand.code[di], codes) & ~np.isin(supply.code[si], codes)
    if filters.cross_region_only:
        ok &= ~((demand.code[di] == supply.code[si]) & (demand.code[di] >= 0))
    if filters.in_circle_only:
        ok &= demand.circle[di] & supply.circle[si]
    mask: np.ndarray = ok
    return mask
