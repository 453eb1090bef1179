"""PairFilter's circle filter, checked directly with the real registry's circle codes."""

from __future__ import annotations

import pytest

from matching.filters import PairFilter
from matching.regions import RegionRegistry
from matching.weights import MatchFilters

NONE: frozenset[str] = frozenset()


@pytest.fixture(scope="module")
def circle() -> frozenset[str]:
    return RegionRegistry.load().in_circle_codes()


def _allows(f: PairFilter, supplier_region: str | None, buyer_region: str | None) -> bool:
    return f.allows("s", supplier_region, NONE, "b", buyer_region, NONE)


def test_in_circle_only_needs_both_parties_in_the_circle(circle: frozenset[str]) -> None:
    f = PairFilter.from_filters(MatchFilters(in_circle_only=True), circle)
    assert _allows(f, "500115", "500117")  # 长寿 → 合川
    assert _allows(f, "510104", "500228")  # 成都锦江 → 梁平 (its old code)
    assert not _allows(f, "430104", "500117")  # supplier in Hunan
    assert not _allows(f, "500115", "520303")  # buyer in Guizhou
    assert not _allows(f, None, "500117") and not _allows(f, "500115", None)  # unknown is not in the circle
    assert "in_circle_only" in f.applied([])


def test_off_by_default_and_ignores_the_codes(circle: frozenset[str]) -> None:
    f = PairFilter.from_filters(MatchFilters(), circle)
    assert not f.in_circle_only and _allows(f, "430104", "520303") and _allows(f, None, None)
    assert "in_circle_only" not in f.applied([])
    assert PairFilter.from_filters(MatchFilters()).circle == NONE  # the codes are optional when off


def test_in_circle_only_without_the_codes_is_refused() -> None:
    with pytest.raises(ValueError, match="in_circle_only"):
        PairFilter.from_filters(MatchFilters(in_circle_only=True))


def test_combines_with_cross_region_only(circle: frozenset[str]) -> None:
    f = PairFilter.from_filters(MatchFilters(in_circle_only=True, cross_region_only=True), circle)
    assert not _allows(f, "500115", "500115")  # same county
    assert _allows(f, "500115", "500117")
    assert f.applied([])[-2:] == ["cross_region_only", "in_circle_only"]
