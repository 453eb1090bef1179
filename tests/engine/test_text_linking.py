"""Text normalisation, segmentation and node linking (kind discipline, use phrasing)."""

from __future__ import annotations

import pytest
import scipy.sparse as sp

from matching.chains import ChainGraph
from matching.engine import MatchEngine
from matching.linking import CONSUMER, EQUIPMENT, MATERIAL, SERVICE, Linker
from matching.text import TextModel, normalise_text, terms_in


def test_normalise_folds_width_traditional_and_case() -> None:
    assert normalise_text("ＮＣＭ８１１　正極材料") == "ncm811 正极材料"


def test_chain_terms_stay_whole_tokens() -> None:
    model = TextModel(["磷酸锰铁锂", "PTMEG"])
    tokens = model.tokens("供应磷酸锰铁锂和PTMEG，的了")
    assert "磷酸锰铁锂" in tokens and "ptmeg" in tokens
    assert "的" not in tokens and "，" not in tokens


def test_vectors_are_unit_length_and_unseen_terms_weigh_nothing() -> None:
    model = TextModel(["硫酸锰"]).fit(["电池级硫酸锰", "高纯电解锰"])
    idf = model.word_idf_
    m = model.transform(["电池级硫酸锰", "全新未见词汇xyz", "硫酸锰 全新未见词汇xyz"])
    assert m.multiply(m).sum(axis=1)[0, 0] == pytest.approx(1.0)
    assert m[1].nnz == 0  # no fitted document has any of its terms: like an out-of-vocabulary text
    assert (m[2] @ m[0].T)[0, 0] == pytest.approx((m[0] @ model.transform(["硫酸锰"]).T)[0, 0], rel=1e-5)
    assert model.word_idf_ is idf  # transforming never refits


def test_chunked_fit_equals_whole_fit() -> None:
    texts = ["电池级硫酸锰 高纯", "高纯电解锰", "磷酸铁锂正极材料", "导电炭黑 SP级", "电解锰片"]
    whole = TextModel(["硫酸锰"])
    expected = whole.fit_transform(texts)
    chunked = TextModel(["硫酸锰"])
    counts = [chunked.counts(texts[:2]), chunked.counts(texts[2:])]
    chunked.fit_counts(counts)
    got = [chunked.weigh(*c) for c in counts]
    assert abs(sp.vstack(got) - expected).max() < 1e-6


@pytest.fixture(scope="module")
def linker(engine: MatchEngine) -> Linker:
    return engine.index.linker


def test_longest_term_wins_and_category_gives_way_to_specific(linker: Linker) -> None:
    links = linker.link("NCM811三元正极材料")
    assert links.head_nodes() == ["ncm811"]  # 正极材料 inside 三元正极材料; 三元正极材料 is NCM811's category


def test_equipment_for_a_material_links_to_the_equipment(linker: Linker) -> None:
    links = linker.link("正极材料烧结窑炉")
    assert links.family == EQUIPMENT
    assert links.head_nodes() == ["sintering_kiln"]
    assert "cathode_material" not in links.head_nodes()


def test_equipment_cue_without_a_node_never_links_the_material(linker: Linker) -> None:
    links = linker.link("正极材料回转炉")
    assert links.family == EQUIPMENT
    assert "cathode_material" not in links.head_nodes()


def test_testing_service_is_a_service(linker: Linker) -> None:
    links = linker.link("正极材料检测服务")
    assert links.family == SERVICE
    assert not any(linker.family[n] == MATERIAL for n in links.head_nodes())


def test_consumer_goods_do_not_link_to_industrial_material(linker: Linker) -> None:
    links = linker.link("锂电池充电宝")
    assert links.family == CONSUMER
    assert links.head_nodes() in ([], ["power_bank"])
    assert "battery_cell" not in links.head_nodes()


def test_need_phrased_by_use_reaches_pvdf_via_description(linker: Linker) -> None:
    links = linker.link("正极浆料用粘结剂")
    assert links.head_nodes()[0] == "pvdf"
    assert [lk.node_id for lk in links.use] == ["cathode_slurry"]
    assert links.head[0].method == "text" and links.head[0].confidence < 1.0


def test_parenthesised_use_and_shared_synonym(linker: Linker) -> None:
    links = linker.link("锰源（磷酸锰铁锂用）")
    assert set(links.head_nodes()) == {"manganese_sulfate", "electrolytic_manganese"}
    assert [lk.node_id for lk in links.use] == ["lmfp"]
    assert all(lk.confidence < 1.0 for lk in links.head)  # a shared term is ambiguous


def test_input_suffix_means_the_buyer_makes_it(linker: Linker) -> None:
    links = linker.link("磷酸锰铁锂原料")
    assert links.head == () and [lk.node_id for lk in links.use] == ["lmfp"]


def test_ascii_terms_respect_word_boundaries(graph: ChainGraph) -> None:
    linker = Linker(graph)
    assert "mdi" not in linker.link("HMDI改性料").head_nodes()
    assert linker.link("MDI-100").head_nodes() == ["mdi"]


def test_terms_in_finds_need_words_inside_longer_offer_words() -> None:
    """Shared terms segment only the need: a need's word counts when the offer's text contains it, even
    inside a longer word; single characters never count; longest first, then by position in the offer."""
    need_tokens = ["正极材料", "锂", "三元", "采购", "正极材料"]
    assert terms_in("供应三元正极材料（NCM811）", need_tokens) == ["正极材料", "三元"]
    assert terms_in("ＡＢＣ碳酸锂", ["碳酸锂", "abc"]) == ["abc", "碳酸锂"]  # normalised; equal length: by position
    assert terms_in("电解液", need_tokens) == []
    assert terms_in("正极材料 三元 采购", need_tokens, limit=2) == ["正极材料", "三元"]
