"""Score components, each in [0, 1], and the weighted sum: the per-pair specification.

:mod:`matching.components` computes the same components as columns over candidate pairs;
``tests/engine/test_vectorised_components.py`` holds the two equal.

* ``product``: chain relation × link confidences (see :mod:`matching.relations`).
* ``text``: cosine of the TF-IDF vectors of the two texts.
* ``distance``: ``exp(-km / 300)`` between county seats; unknown → 0.5 (neutral).
* ``capacity``: offer capacity / need volume in the same base unit, capped at 1; missing, unknown unit or
  a different dimension → 0.5 (neutral, never a penalty).
* ``cross_region``: 1.0 different province, 0.7 different city in one province, 0.3 different county in one
  city, 0.0 same county; unknown → 0.5. Chongqing (like Beijing, Tianjin and Shanghai) is one city; a county
  administered by its province directly (``xx90xx``, e.g. 仙桃市) is a city of its own.
* ``policy``: 1.0 when a node of the pair lies on a chain named by the buyer's or supplier's regional plan,
  0.5 when it lies on some chain, 0.0 otherwise.
* ``standing``: the supplier's status (reliability of supply): 链主 / 单项冠军 1.0 (chain leaders and
  national manufacturing champions: formal designations on government lists), 龙头企业 / 头部企业 0.8 (a plan
  calls the firm a leading firm of its industry: a strong but informal signal, so below a formal 链主
  designation), 专精特新 / 小巨人 0.8 (state-vetted specialised SMEs), 规上 0.6 (above-designated-size, an
  established operation), none 0.3 (still above zero so new suppliers are not buried).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Protocol

from matching.profiles import Quantity
from matching.units import to_base
from matching.weights import COMPONENTS, WeightProfile

NEUTRAL = 0.5
DISTANCE_SCALE_KM = 300.0
_MUNICIPALITIES = frozenset({"11", "12", "31", "50"})


class RegionLike(Protocol):
    """What the engine reads from :class:`matching.regions.Region`."""

    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def province(self) -> str: ...
    @property
    def city(self) -> str | None: ...


class RegionLookup(Protocol):
    """What the engine needs from :class:`matching.regions.RegionRegistry`."""

    def get(self, code: str) -> RegionLike | None: ...
    def distance_km(self, a: str, b: str) -> float | None: ...
    def resolve_address(self, text: str) -> RegionLike | None: ...
    def in_circle_codes(self) -> frozenset[str]: ...


class PolicyLookup(Protocol):
    """What the engine needs from :class:`matching.policy.Policy`."""

    def priority_chains(self, region_code: str) -> frozenset[str]: ...


def distance_component(km: float | None, scale_km: float = DISTANCE_SCALE_KM) -> float:
    return NEUTRAL if km is None else math.exp(-max(km, 0.0) / scale_km)


def capacity_component(capacity: Quantity | None, volume: Quantity | None) -> float:
    if capacity is None or volume is None or capacity.value is None or volume.value is None:
        return NEUTRAL
    cap = to_base(capacity.value, capacity.unit)
    vol = to_base(volume.value, volume.unit)
    if cap is None or vol is None or cap[1] != vol[1]:
        return NEUTRAL
    if vol[0] <= 0:
        return 1.0
    return min(1.0, cap[0] / vol[0])


def _city_key(code: str) -> str:
    # xx90xx (仙桃市, 定安县, 石河子市…) are administered by the province directly: each is its own city.
    return code[:2] if code[:2] in _MUNICIPALITIES else code if code[2:4] == "90" else code[:4]


def cross_region_component(a: str | None, b: str | None) -> float:
    if a is None or b is None:
        return NEUTRAL
    if a == b:
        return 0.0
    if a[:2] != b[:2]:
        return 1.0
    if _city_key(a) != _city_key(b):
        return 0.7
    return 0.3


def policy_component(pair_chains: Iterable[str], priority: frozenset[str]) -> float:
    chains = set(pair_chains)
    if chains & priority:
        return 1.0
    return 0.5 if chains else 0.0


STANDING_TAGS: tuple[tuple[tuple[str, ...], float], ...] = (
    (("链主", "单项冠军"), 1.0),
    (("龙头", "头部企业"), 0.8),
    (("专精特新", "小巨人"), 0.8),
    (("规上", "规模以上"), 0.6),
)
"""Tag keywords (matched as substrings of a tag) and the standing they give; the best match wins."""
NO_STANDING = 0.3


def standing_component(tags: Iterable[str]) -> float:
    best = NO_STANDING
    for tag in tags:
        for keys, value in STANDING_TAGS:
            if any(k in tag for k in keys):
                best = max(best, value)
    return best


def weighted(components: Mapping[str, float], profile: WeightProfile) -> tuple[float, dict[str, float]]:
    """The weighted score and each component's contribution (weight × component)."""
    contributions = {c: profile.weights.get(c, 0.0) * components.get(c, 0.0) for c in COMPONENTS}
    return sum(contributions.values()), contributions
