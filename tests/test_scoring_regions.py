"""The cross-region component on codes from all over China (DESIGN: suppliers are national)."""

from __future__ import annotations

import pytest

from matching.regions import RegionRegistry
from matching.scoring import cross_region_component


@pytest.mark.parametrize(
    ("a", "b", "relation"),
    [
        ("430104", "500117", "provinces"),  # 长沙岳麓 → 重庆合川
        ("441900", "440106", "cities"),  # 东莞 (a city without counties) → 广州天河
        ("430104", "430202", "cities"),  # 长沙岳麓 → 株洲荷塘
        ("429004", "429005", "cities"),  # 仙桃 → 潜江: both administered by 湖北省 directly
        ("429004", "420106", "cities"),  # 仙桃 → 武汉武昌
        ("430104", "430102", "counties"),  # 岳麓 → 芙蓉, both 长沙
        ("110105", "110108", "counties"),  # 北京朝阳 → 海淀: a municipality is one city
        ("500102", "500238", "counties"),  # 涪陵 → 巫溪
        ("430104", "430104", "same"),
    ],
)
def test_cross_region_levels(a: str, b: str, relation: str) -> None:
    regions = RegionRegistry.load()
    ra, rb = regions.get(a), regions.get(b)
    assert ra is not None and rb is not None
    assert (ra.province != rb.province) == (relation == "provinces")  # the registry agrees on provinces
    expected = {"provinces": 1.0, "cities": 0.7, "counties": 0.3, "same": 0.0}[relation]
    assert cross_region_component(a, b) == expected == cross_region_component(b, a)
