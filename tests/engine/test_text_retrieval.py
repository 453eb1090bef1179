"""Text retrieval over champion lists: a feature shared by many items retrieves the ones it weighs most in."""

from __future__ import annotations

from matching.chains import ChainGraph
from matching.engine import MatchEngine
from matching.params import MatchParams
from matching.profiles import Enterprise, Need
from matching.regions import RegionRegistry
from tests.engine.conftest import StaticPolicy, ent


def _makers(n: int) -> list[Enterprise]:
    """Makers of 景泰蓝 (no chain node knows it: text alone finds them); maker ``i`` repeats an unrelated word
    ``i`` times, so each of the product's features weighs less in each later maker's text."""
    return [ent(f"jtl-{i:02d}", "110101", [("o1", "景泰蓝", "铜胎" * i or None)]) for i in range(n)]


def _suppliers(engine: MatchEngine) -> set[str]:
    return {i.supplier.id for i in engine.match(Need(id="q", product="景泰蓝"), k=100).items}


def test_a_common_feature_retrieves_only_its_heaviest_items(
    graph: ChainGraph, regions: RegionRegistry, policy: StaticPolicy
) -> None:
    makers = _makers(10)
    everyone = MatchEngine.build(graph, regions, policy, makers)
    assert _suppliers(everyone) == {e.id for e in makers}  # 10 items: under the default list length
    capped = MatchEngine.build(graph, regions, policy, makers, MatchParams(text_champions=4))
    assert _suppliers(capped) == {f"jtl-{i:02d}" for i in range(4)}  # the four terse ones


def test_a_later_item_joins_the_list_only_when_it_outweighs_the_lightest(
    graph: ChainGraph, regions: RegionRegistry, policy: StaticPolicy
) -> None:
    engine = MatchEngine.build(graph, regions, policy, _makers(8), MatchParams(text_champions=4))
    engine.upsert(ent("terse", "110101", [("o1", "景泰蓝")]))
    engine.upsert(ent("wordy", "110101", [("o1", "景泰蓝", "铜胎" * 12)]))
    found = _suppliers(engine)
    assert "terse" in found
    assert "wordy" not in found
    assert {f"jtl-{i:02d}" for i in range(4)} <= found


def test_boilerplate_is_never_retrieved(graph: ChainGraph, regions: RegionRegistry, policy: StaticPolicy) -> None:
    makers = _makers(10)
    strict = MatchParams(text_max_df=0.5, text_max_df_floor=5)  # 景泰蓝 is in every item: boilerplate here
    assert _suppliers(MatchEngine.build(graph, regions, policy, makers, strict)) == set()
