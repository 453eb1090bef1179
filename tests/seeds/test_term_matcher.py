"""The one term matcher: occurrence rules, spans, and the engine's linker and ``seeds check`` sharing it."""

from __future__ import annotations

from functools import cache

from matching.chains import ChainGraph, Node, NodeKind, load_graph
from matching.linking import Linker
from matching.seed_enterprises import load_seed_enterprises
from matching.seeds_check import linked_nodes
from matching.term_matcher import TermMatcher, literal_text
from matching.text import normalise_text

K = NodeKind


def _graph() -> ChainGraph:
    nodes = [
        Node(id="adipic_acid", name="己二酸", name_en="adipic acid", kind=K.intermediate, synonyms=("AA",)),
        Node(id="pa6", name="PA6切片", name_en="PA6 chips", kind=K.intermediate, synonyms=("尼龙6", "PA6")),
        Node(id="pa66", name="PA66切片", name_en="PA66 chips", kind=K.intermediate, synonyms=("尼龙66",)),
        Node(id="tin", name="锡", name_en="tin", kind=K.raw_material),
        Node(id="mn_sulfate", name="硫酸锰", name_en="manganese sulfate", kind=K.raw_material,
             shared_synonyms=("锰源",)),
        Node(id="mn_metal", name="电解锰", name_en="electrolytic manganese", kind=K.raw_material,
             shared_synonyms=("锰源",)),
    ]
    return ChainGraph.from_parts(nodes, [])


def test_matches_carry_spans_nodes_and_the_shared_flag() -> None:
    matcher = TermMatcher(_graph())
    text = normalise_text("采购尼龙66切片和锰源")
    found = [(m.start, m.end, m.term, m.nodes, m.shared) for m in matcher.find(text)]
    assert found == [(2, 6, "尼龙66", ("pa66",), False), (9, 11, "锰源", ("mn_metal", "mn_sulfate"), True)]
    assert all(text[m.start : m.end] == m.term for m in matcher.find(text))


def test_ascii_edges_match_whole_words_only() -> None:
    matcher = TermMatcher(_graph())
    assert matcher.nodes_in("依托 AA 原料") == ["adipic_acid"]
    assert matcher.nodes_in("依托PAA原料") == []
    assert matcher.nodes_in("尼龙66盐") == ["pa66"]  # 尼龙6 ends in a digit that runs on into 66
    assert matcher.nodes_in("PA6 切片") == ["pa6"]


def test_a_one_character_term_counts_only_as_the_whole_text() -> None:
    matcher = TermMatcher(_graph())
    assert matcher.nodes_in(" 锡 ") == ["tin"]
    assert matcher.nodes_in("锡锭") == []


def test_containing_agrees_with_a_scan_over_all_terms() -> None:
    graph = load_graph()
    matcher = TermMatcher.for_graph(graph)
    terms = [(normalise_text(t), n.id) for n in graph.nodes.values() for t in n.terms()]
    for fragment in ("集流体", "正极", "粉", "树脂", "ncm", "不存在的词"):
        expected = sorted({nid for t, nid in terms if fragment in t and t != fragment})
        assert list(matcher.containing(fragment)) == expected, fragment


@cache
def _real_linker() -> Linker:
    return Linker(load_graph())


def test_the_linker_and_seeds_check_share_one_matcher() -> None:
    linker = _real_linker()
    assert linker.matcher is TermMatcher.for_graph(linker.graph)


def test_every_dictionary_link_of_a_seed_product_is_a_node_seeds_check_finds() -> None:
    linker = _real_linker()
    enterprises = load_seed_enterprises()
    products = sorted({o.product for e in enterprises for o in e.offers}
                      | {n.product for e in enterprises for n in e.needs})
    assert len(products) > 100
    for product in products:
        links = linker.link(product)
        dictionary = {lk.node_id for lk in (*links.head, *links.use) if lk.method == "dictionary"}
        assert dictionary <= set(linked_nodes(linker.graph, product)), product


def test_seeds_check_reads_terms_as_written() -> None:
    """The engine folds Traditional script; ``seeds check`` asks whether the seeds' own words occur."""
    graph = load_graph()
    assert linked_nodes(graph, "電梯導軌") == []
    assert set(linked_nodes(graph, normalise_text("電梯導軌"))) >= {"elevator"}
    assert literal_text("ＮＣＭ８１１　正極") == "ncm811 正極"
