"""Deterministic synthetic enterprise profiles drawn from the seed chain graph (for benchmarks).

Two generators:

* :func:`synthetic_enterprises` — the original corpus of ``bench_engine.py``: graph node names and
  descriptions verbatim (kept unchanged so its recorded results stay reproducible).
* :func:`realistic_frames` — profiles written the way firms write them: synonyms, grade and spec prefixes,
  brand prefixes, generic suffixes, mixed English, and descriptions with specs, capacities and the shared
  boilerplate ("可长期供货", "量大从优" …) that makes naive char n-gram products dense. Vectorised (numpy
  draws, polars string assembly); returns the three frames of :func:`matching.frames.profiles_to_frames`.
  :func:`cached_frames` stores a corpus once as Parquet under ``data/bench/`` and reuses it.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from matching.chains import ChainGraph, Node
from matching.frames import ENTERPRISE_SCHEMA, NEED_SCHEMA, OFFER_SCHEMA, frames_to_profiles
from matching.profiles import Enterprise
from matching.regions import RegionRegistry, short_name

_PRODUCT_KINDS = {"raw_material", "intermediate", "component", "end_product"}

Frames = tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]


def synthetic_enterprises(graph: ChainGraph, regions: RegionRegistry, n: int, seed: int = 7) -> list[Enterprise]:
    """``n`` profiles: each offers 1–3 products and needs inputs of what it makes (plus a random need)."""
    rng = random.Random(seed)
    products = sorted(nid for nid, node in graph.nodes.items() if node.kind.value in _PRODUCT_KINDS)
    codes = sorted(r.code for r in regions.all())
    out: list[Enterprise] = []
    for i in range(n):
        offers = rng.sample(products, rng.randint(1, 3))
        inputs = sorted({inp for o in offers for inp in graph.inputs.get(o, ())})
        needs = [*rng.sample(inputs, min(len(inputs), rng.randint(0, 2))), rng.choice(products)]
        out.append(Enterprise.model_validate({
            "id": f"bench-{i:06d}",
            "name": f"基准企业{i}",
            "region_code": rng.choice(codes),
            "tags": rng.sample(["规上", "专精特新", "链主"], rng.randint(0, 1)),
            "offers": [{"id": f"o{j}", "product": graph.nodes[nid].name,
                        "description": graph.nodes[nid].description}
                       for j, nid in enumerate(offers)],
            "needs": [{"id": f"n{j}", "product": graph.nodes[nid].name} for j, nid in enumerate(needs)],
        }))
    return out


# -- realistic corpus -------------------------------------------------------------------------------------

GENERATOR_VERSION = 1

# How often a kind is offered, relative to a material.
_KIND_WEIGHT = {"raw_material": 1.0, "intermediate": 1.0, "component": 1.0, "end_product": 0.8,
                "equipment": 0.35, "service": 0.15}
_SUFFIXES = ("原料", "材料", "产品", "系列", "类")
_GRADES_BY_KIND = {
    "raw_material": ("工业级", "高纯", "99.5%", "99.9%", "国标", "一级品", "优级品", "精选"),
    "intermediate": ("电池级", "工业级", "电子级", "高纯", "99.9%", "99.5%", "纳米", "超细", "改性",
                     "食品级", "试剂级", "国标"),
    "component": ("高精度", "非标定制", "车规级", "精密", "汽车级", "进口替代", "OEM", "定制"),
    "end_product": ("新款", "国标", "出口型", "高端", "智能", "定制款", "标准型"),
    "equipment": ("全自动", "数控", "大型", "非标定制", "智能化", "节能型", "二手"),
    "service": ("专业", "一站式", "第三方", "定制化"),
}
# Name keywords that call for a trade grade of their own (checked in order, first match wins).
_GRADES_BY_KEYWORD = (
    ("铝", ("6061-T6", "6063-T5", "5052-H32", "7075-T651", "3003-H14", "1060")),
    ("不锈钢", ("304", "316L", "201", "430")),
    ("钢", ("Q235B", "Q345B", "45#", "40Cr", "SPCC", "DC04")),
    ("铜", ("T2", "H62", "C1100", "无氧")),
    ("锂", ("电池级", "工业级", "99.5%", "99.9%")),
    ("硅", ("太阳能级", "电子级", "421#", "553#", "3303#")),
    ("芯片", ("车规级", "工业级", "国产替代", "MCU")),
)
_BRAND_CHARS = "鑫达宏源华晟金龙泰丰瑞恒盛德新创力天宇远航川渝蜀黔嘉禾兴旺正通百联众合中科"
_INDUSTRY_WORDS = ("新材料", "科技", "实业", "机械", "化工", "电子", "新能源", "制造", "工贸", "精工", "材料科技")
_COMPANY_FORMS = ("有限公司", "有限责任公司", "股份有限公司")
_OFFER_LEADS = ("", "", "主营", "专业生产", "公司主要从事", "本厂长期生产", "厂家直供")
_NEED_LEADS = ("", "长期采购", "求购", "现需采购", "寻找", "诚求")
_OFFER_BOILERPLATE = ("可长期供货", "量大从优", "欢迎来电洽谈", "支持来样定制", "质量保证", "价格优惠",
                      "全国发货", "厂家直销", "现货供应", "诚信经营", "交货及时", "提供检测报告",
                      "欢迎新老客户来电咨询", "品质保障", "售后无忧")
_NEED_BOILERPLATE = ("长期合作", "现款结算", "欢迎优质供应商报价", "量大长期", "要求提供样品", "账期可谈",
                     "有意者请联系", "可长期供货者优先", "欢迎来电洽谈")
_UNITS_OFFER = {"raw_material": ("万吨/年", "吨/年"), "intermediate": ("吨/年", "万吨/年"),
                "component": ("万件/年", "万套/年"), "end_product": ("台/年", "万件/年", "套/年"),
                "equipment": ("台/年", "套/年"), "service": ()}
_UNITS_NEED = {"raw_material": ("吨/月", "万吨/年"), "intermediate": ("吨/月", "吨/年"),
               "component": ("万件/年", "件/月"), "end_product": ("台/年", "套/年"),
               "equipment": ("台", "套"), "service": ()}
_CERTS = (("ISO9001", 0.4), ("ISO14001", 0.15), ("IATF16949", 0.08), ("GB/T45001", 0.05))
_TAGS = (("规上", 0.3), ("专精特新", 0.08), ("小巨人", 0.02), ("链主", 0.01))


def _specs(kind: str, rng: random.Random, count: int = 60) -> list[str]:
    """Spec phrases with numbers, the way descriptions state them."""
    def num(lo: float, hi: float, nd: int = 1) -> str:
        return f"{rng.uniform(lo, hi):.{nd}f}".rstrip("0").rstrip(".")

    makers = {
        "raw_material": [lambda: f"品位{num(1, 60)}%", lambda: f"含量≥{num(60, 99.9)}%",
                         lambda: f"水分≤{num(0.1, 8)}%", lambda: f"粒度{rng.choice([20, 40, 60, 100, 200])}目"],
        "intermediate": [lambda: f"纯度≥{num(95, 99.99, 2)}%", lambda: f"粒度D50 {num(0.5, 20)}μm",
                         lambda: f"比表面积{num(0.5, 30)}m²/g", lambda: f"执行GB/T {rng.randint(1000, 40000)}标准",
                         lambda: f"磁性异物≤{rng.randint(20, 500)}ppb"],
        "component": [lambda: f"精度±{num(0.005, 0.1, 3)}mm", lambda: f"厚度{num(0.1, 3)}-{num(3, 20)}mm",
                      lambda: f"额定功率{rng.randint(1, 200)}kW", lambda: f"耐温{rng.randint(80, 300)}℃",
                      lambda: f"尺寸可按图纸定制，公差{num(0.01, 0.2, 2)}mm"],
        "end_product": [lambda: f"型号{rng.choice('ABCDEFGHJKMX')}{rng.randint(100, 9999)}",
                        lambda: f"通过{rng.choice(['3C', 'CE', 'UL', 'CQC'])}认证",
                        lambda: f"质保{rng.randint(1, 8)}年",
                        lambda: f"包装{rng.choice([10, 20, 25, 50])}{rng.choice(['件', '台', '套', 'kg'])}/箱"],
        "equipment": [lambda: f"产能{rng.randint(1, 500)}件/小时", lambda: f"功率{rng.randint(5, 800)}kW",
                      lambda: f"可配套{rng.choice(['PLC', 'MES', '机器人', '视觉检测'])}系统"],
        "service": [lambda: f"{rng.randint(3, 30)}天出报告", lambda: f"服务半径{rng.randint(50, 800)}km",
                    lambda: f"具备{rng.choice(['CNAS', 'CMA', '甲级', '一级'])}资质"],
    }[kind]
    return sorted({rng.choice(makers)() for _ in range(count)})


def _latin(text: str) -> bool:
    return re.fullmatch(r"[A-Za-z0-9 .+#/()-]+", text) is not None


@dataclass
class _Pools:
    """Per-node string pools flattened into one list: node ``i`` owns ``values[start[i] : start[i] + size[i]]``."""

    values: pl.Series
    start: np.ndarray
    size: np.ndarray

    @classmethod
    def of(cls, per_node: list[list[str]]) -> _Pools:
        sizes = np.array([len(p) for p in per_node], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        return cls(pl.Series([v for p in per_node for v in p], dtype=pl.String), starts, sizes)

    def pick(self, nodes: np.ndarray, rng: np.random.Generator) -> pl.Series:
        """One value per row from its node's pool (nodes with an empty pool must not be passed)."""
        flat = self.start[nodes] + (rng.random(len(nodes)) * self.size[nodes]).astype(np.int64)
        return self.values.gather(flat)


def _choice(values: tuple[str, ...] | list[str], n: int, rng: np.random.Generator, p: list[float] | None = None,
            ) -> pl.Series:
    idx = rng.choice(len(values), size=n, p=p)
    return pl.Series(list(values), dtype=pl.String).gather(idx)


def _maybe(series: pl.Series, prob: float, rng: np.random.Generator) -> pl.Series:
    """``series`` where a coin with ``prob`` lands heads, else the empty string."""
    keep = pl.Series(rng.random(len(series)) < prob)
    return pl.select(pl.when(keep).then(series).otherwise(pl.lit(""))).to_series()


def _distinct(values: tuple[str, ...], k: int, n: int, rng: np.random.Generator) -> list[pl.Series]:
    """``k`` columns of distinct phrases per row, Zipf-weighted (weighted sampling without replacement)."""
    weight = 1.0 / np.arange(1, len(values) + 1)
    keys = np.log1p(-rng.random((n, len(values)), dtype=np.float32)) / weight  # Efraimidis–Spirakis keys
    top = np.argsort(-keys, axis=1)[:, :k]
    table = pl.Series(list(values), dtype=pl.String)
    return [table.gather(top[:, j]) for j in range(k)]


class _Vocabulary:
    """Per-node surface forms, grades, specs and link pools derived from the graph (small, built once)."""

    def __init__(self, graph: ChainGraph, seed: int) -> None:
        rng = random.Random(seed)
        nodes = [node for nid, node in sorted(graph.nodes.items()) if node.kind.value in _KIND_WEIGHT]
        self.nodes = nodes
        self.kind = [n.kind.value for n in nodes]
        pos = {n.id: i for i, n in enumerate(nodes)}
        # Popularity: kind weight times a Zipf-like weight over a seeded shuffle of the nodes.
        order = list(range(len(nodes)))
        rng.shuffle(order)
        rank = np.empty(len(nodes))
        rank[order] = np.arange(1, len(nodes) + 1)
        weight = np.array([_KIND_WEIGHT[k] for k in self.kind]) / rank**0.6
        self.popularity = weight / weight.sum()
        self.surface = _Pools.of([self._surfaces(n) for n in nodes])
        self.latin = _Pools.of([[s for s in (n.name_en, *n.synonyms) if _latin(s)] or [n.name_en] for n in nodes])
        specs = {k: _specs(k, rng) for k in _KIND_WEIGHT}
        self.grade = _Pools.of([self._grades(n) for n in nodes])
        self.spec = _Pools.of([specs[n.kind.value] for n in nodes])
        self.description = pl.Series([n.description or "" for n in nodes], dtype=pl.String)
        self.has_description = np.array([bool(n.description) for n in nodes])
        self.kind_code = np.array([list(_KIND_WEIGHT).index(k) for k in self.kind])
        # Link pools as node indices: inputs (for needs), chain peers (a firm's further offers), categories.
        inputs = [[pos[i] for i in graph.inputs.get(n.id, ()) if i in pos] for n in nodes]
        peers: list[list[int]] = []
        for n in nodes:
            chain_nodes = {m for c in graph.node_chains.get(n.id, ()) for m in graph.chains[c].node_ids()}
            peers.append(sorted(pos[m] for m in chain_nodes if m in pos and m != n.id))
        self.inputs = _IntPools.of(inputs)
        self.peers = _IntPools.of(peers)
        parents = [[p for p in n.is_a if p in graph.nodes] for n in nodes]
        self.category = _Pools.of([[graph.nodes[p].name for p in ps] or [n.name] for n, ps in zip(nodes, parents,
                                                                                                    strict=True)])

    @staticmethod
    def _surfaces(node: Node) -> list[str]:
        """Chinese names firms use: the name (weighted double) and its Chinese synonyms."""
        chinese = [s for s in node.synonyms if not _latin(s)]
        return [node.name, node.name, *chinese]

    @staticmethod
    def _grades(node: Node) -> list[str]:
        for key, grades in _GRADES_BY_KEYWORD:
            if key in node.name:
                return list(grades)
        return list(_GRADES_BY_KIND[node.kind.value])


@dataclass
class _IntPools:
    values: np.ndarray
    start: np.ndarray
    size: np.ndarray

    @classmethod
    def of(cls, per_node: list[list[int]]) -> _IntPools:
        sizes = np.array([len(p) for p in per_node], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        values = np.array([v for p in per_node for v in p], dtype=np.int64)
        return cls(values, starts, sizes)

    def pick(self, nodes: np.ndarray, fallback: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One pool member per row, or ``fallback`` where the node's pool is empty."""
        size = self.size[nodes]
        flat = self.start[nodes] + (rng.random(len(nodes)) * size).astype(np.int64)
        out = fallback.copy()
        has = size > 0
        out[has] = self.values[flat[has]]
        return out


def _product_text(v: _Vocabulary, nodes: np.ndarray, brand: pl.Series, rng: np.random.Generator) -> pl.Series:
    """``[brand牌][grade]surface[suffix][(English)]``, or now and then the English name alone."""
    n = len(nodes)
    surface = v.surface.pick(nodes, rng)
    english = v.latin.pick(nodes, rng)
    grade = _maybe(v.grade.pick(nodes, rng), 0.35, rng)
    suffix = _maybe(_choice(_SUFFIXES, n, rng), 0.2, rng)
    brand_part = _maybe(brand + "牌", 0.06, rng)
    paren = _maybe("(" + english + ")", 0.08, rng)
    chinese = pl.select(pl.concat_str([brand_part, grade, surface, suffix, paren])).to_series()
    english_only = pl.Series(rng.random(n) < 0.04)
    return pl.select(pl.when(english_only).then(english).otherwise(chinese)).to_series()


def _clause(series: pl.Series) -> pl.Series:
    """A description clause: the text plus "，" when non-empty, else empty."""
    return pl.select(pl.when(series != "").then(series + "，").otherwise(pl.lit(""))).to_series()


def _description(v: _Vocabulary, nodes: np.ndarray, lead: tuple[str, ...], boilerplate: tuple[str, ...],
                 quantity: pl.Series, rng: np.random.Generator) -> pl.Series:
    """Lead + product + node description + 0–2 specs + quantity + 1–3 boilerplate phrases."""
    n = len(nodes)
    lead_part = _choice(lead, n, rng) + v.surface.pick(nodes, rng)
    node_desc = _maybe(v.description.gather(nodes), 0.3, rng)
    spec1 = _maybe(v.spec.pick(nodes, rng), 0.7, rng)
    spec2 = _maybe(v.spec.pick(nodes, rng), 0.35, rng)
    boiler = [_maybe(b, prob, rng) for b, prob in zip(_distinct(boilerplate, 3, n, rng), (0.8, 0.5, 0.25),
                                                        strict=True)]
    parts = [lead_part, node_desc, spec1, spec2, quantity, *boiler]
    text = pl.select(pl.concat_str([_clause(p) for p in parts])).to_series()
    has = pl.Series(rng.random(n) < 0.85)  # some items carry no description at all
    done = text.str.strip_chars_end("，") + "。"
    return pl.select(pl.when(has & (text != "")).then(done).otherwise(pl.lit(None, pl.String))).to_series()


def _quantities(v: _Vocabulary, nodes: np.ndarray, units: dict[str, tuple[str, ...]], prob: float,
                rng: np.random.Generator) -> tuple[pl.Series, pl.Series]:
    """``(value, unit)`` columns: a unit fitting the node's kind, a round value; null where absent."""
    n = len(nodes)
    kinds = list(_KIND_WEIGHT)
    unit = np.full(n, None, dtype=object)
    pick = rng.random(n)
    for code, kind in enumerate(kinds):
        options = units[kind]
        mask = (v.kind_code[nodes] == code) & (rng.random(n) < prob)
        if options and mask.any():
            unit[mask] = np.array(options, dtype=object)[(pick[mask] * len(options)).astype(np.int64)]
    value = np.round(10 ** rng.uniform(0, 4, n), -1).clip(1)
    units_s = pl.Series(unit.tolist(), dtype=pl.String)
    values_s = pl.select(pl.when(units_s.is_not_null()).then(pl.Series(value)).otherwise(None)).to_series()
    return values_s.cast(pl.Float64), units_s


def _flags(pairs: tuple[tuple[str, float], ...], n: int, rng: np.random.Generator) -> pl.Series:
    """A list column: each label present independently with its probability."""
    cols = [pl.when(pl.Series(rng.random(n) < p)).then(pl.lit(label)).otherwise(None) for label, p in pairs]
    return pl.select(pl.concat_list(cols).list.drop_nulls()).to_series()


def realistic_frames(
    graph: ChainGraph, regions: RegionRegistry, n: int, *, seed: int = 7, id_prefix: str = "bench",
) -> Frames:
    """``n`` profiles as ``(enterprises_df, offers_df, needs_df)`` (the :func:`profiles_to_frames` schemas).

    Each firm offers 1–3 products (further offers mostly from the first one's chains) and needs 0–3, mostly
    inputs of what it makes, sometimes only their category, sometimes anything. Same inputs, same output.
    """
    rng = np.random.default_rng(seed)
    v = _Vocabulary(graph, seed)
    n_nodes = len(v.nodes)
    codes = sorted(r.code for r in regions.all())
    names = {r.code: short_name(r.name) for r in regions.all()}

    # Enterprises.
    ids = pl.select(pl.format(f"{id_prefix}-{{}}", pl.int_range(0, n, eager=True).cast(pl.String).str.zfill(7)))
    ids_s = ids.to_series()
    region_idx = rng.integers(0, len(codes), n)
    region = pl.Series(codes, dtype=pl.String).gather(region_idx)
    brand_a = rng.integers(0, len(_BRAND_CHARS), n)
    brand_b = rng.integers(0, len(_BRAND_CHARS), n)
    chars = pl.Series(list(_BRAND_CHARS), dtype=pl.String)
    brand = chars.gather(brand_a) + chars.gather(brand_b)
    place = pl.Series([names[c] for c in codes], dtype=pl.String).gather(region_idx)
    firm_name = place + brand + _choice(_INDUSTRY_WORDS, n, rng) + _choice(_COMPANY_FORMS, n, rng)
    enterprises = pl.DataFrame({
        "id": ids_s, "name": firm_name, "credit_code": pl.Series([None] * n, dtype=pl.String),
        "region_code": region, "address": pl.Series([None] * n, dtype=pl.String),
        "park": pl.Series([None] * n, dtype=pl.String), "tags": _flags(_TAGS, n, rng),
        "certifications": _flags(_CERTS, n, rng), "source_doc": pl.Series([None] * n, dtype=pl.String),
        "source_section": pl.Series([None] * n, dtype=pl.String),
    }, schema=ENTERPRISE_SCHEMA)

    # Offers: 1–3 per firm; the first by popularity, later ones mostly chain peers of the first.
    n_offers = rng.choice([1, 2, 3], size=n, p=[0.5, 0.3, 0.2])
    firm = np.repeat(np.arange(n), n_offers)
    slot = np.arange(len(firm)) - np.repeat(np.cumsum(n_offers) - n_offers, n_offers)
    first = rng.choice(n_nodes, size=n, p=v.popularity)
    anywhere = rng.choice(n_nodes, size=len(firm), p=v.popularity)
    peer = v.peers.pick(first[firm], anywhere, rng)
    onode = np.where(slot == 0, first[firm], np.where(rng.random(len(firm)) < 0.6, peer, anywhere))
    cap_value, cap_unit = _quantities(v, onode, _UNITS_OFFER, 0.5, rng)
    cap_text = _maybe(pl.select(pl.format("产能{}{}", cap_value.cast(pl.Int64), cap_unit)).to_series()
                      .fill_null(""), 0.6, rng)
    offers = pl.DataFrame({
        "enterprise_id": ids_s.gather(firm), "offer_id": pl.Series("o" + pl.Series(slot).cast(pl.String)),
        "product": _product_text(v, onode, brand.gather(firm), rng),
        "description": _description(v, onode, _OFFER_LEADS, _OFFER_BOILERPLATE, cap_text, rng),
        "capacity_value": cap_value, "capacity_unit": cap_unit,
    }, schema=OFFER_SCHEMA)

    # Needs: 0–3 per firm; inputs of one of its offers (75%), their category (10%), anything (15%).
    n_needs = rng.choice([0, 1, 2, 3], size=n, p=[0.15, 0.4, 0.3, 0.15])
    nfirm = np.repeat(np.arange(n), n_needs)
    nslot = np.arange(len(nfirm)) - np.repeat(np.cumsum(n_needs) - n_needs, n_needs)
    offer_start = np.cumsum(n_offers) - n_offers
    own_offer = onode[offer_start[nfirm] + (rng.random(len(nfirm)) * n_offers[nfirm]).astype(np.int64)]
    anything = rng.choice(n_nodes, size=len(nfirm), p=v.popularity)
    as_input = v.inputs.pick(own_offer, anything, rng)
    roll = rng.random(len(nfirm))
    nnode = np.where(roll < 0.85, as_input, anything)
    vague = pl.Series((roll >= 0.75) & (roll < 0.85))
    product = _product_text(v, nnode, brand.gather(nfirm), rng)
    product = pl.select(pl.when(vague).then(v.category.pick(nnode, rng)).otherwise(product)).to_series()
    vol_value, vol_unit = _quantities(v, nnode, _UNITS_NEED, 0.4, rng)
    vol_text = _maybe(pl.select(pl.format("用量{}{}", vol_value.cast(pl.Int64), vol_unit)).to_series()
                      .fill_null(""), 0.7, rng)
    required = _flags((("ISO9001", 0.05), ("IATF16949", 0.02)), len(nfirm), rng)
    needs = pl.DataFrame({
        "enterprise_id": ids_s.gather(nfirm), "need_id": pl.Series("n" + pl.Series(nslot).cast(pl.String)),
        "product": product,
        "description": _description(v, nnode, _NEED_LEADS, _NEED_BOILERPLATE, vol_text, rng),
        "volume_value": vol_value, "volume_unit": vol_unit, "required_certifications": required,
    }, schema=NEED_SCHEMA)
    return enterprises, offers, needs


def realistic_enterprises(
    graph: ChainGraph, regions: RegionRegistry, n: int, *, seed: int = 7, id_prefix: str = "bench",
) -> list[Enterprise]:
    """:func:`realistic_frames` as validated profiles (slow for large ``n``: one model per firm)."""
    return frames_to_profiles(*realistic_frames(graph, regions, n, seed=seed, id_prefix=id_prefix))


def corpus_key(graph: ChainGraph, regions: RegionRegistry, n: int, seed: int, id_prefix: str) -> str:
    """A cache key that changes with the generator, the graph's surface forms and the region codes."""
    h = hashlib.sha256()
    h.update(json.dumps([GENERATOR_VERSION, n, seed, id_prefix]).encode())
    for nid, node in sorted(graph.nodes.items()):
        h.update(json.dumps([nid, node.kind.value, node.name, node.name_en, node.synonyms, node.description,
                             node.is_a, node.inputs]).encode())
    h.update(",".join(sorted(r.code for r in regions.all())).encode())
    return h.hexdigest()[:12]


def corpus_paths(
    graph: ChainGraph, regions: RegionRegistry, n: int, *, seed: int, id_prefix: str, cache_dir: Path,
) -> list[Path]:
    """The three Parquet files (enterprises, offers, needs) a corpus is cached in."""
    key = corpus_key(graph, regions, n, seed, id_prefix)
    return [cache_dir / f"corpus-{id_prefix}-{n}-s{seed}-{key}-{part}.parquet"
            for part in ("enterprises", "offers", "needs")]


def write_frames(frames: Frames, paths: list[Path]) -> None:
    """Write the frames atomically (a half-written cache is never read)."""
    for frame, path in zip(frames, paths, strict=True):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        frame.write_parquet(tmp)
        tmp.replace(path)


def read_frames(paths: list[Path]) -> Frames:
    e, o, nd = (pl.read_parquet(p) for p in paths)
    return e, o, nd


def cached_frames(
    graph: ChainGraph, regions: RegionRegistry, n: int, *, seed: int = 7, id_prefix: str = "bench",
    cache_dir: Path | None = Path("data/bench"),
) -> tuple[Frames, float | None]:
    """Frames from the Parquet cache, else generated (and cached). Returns ``(frames, generate_s or None)``."""
    paths = None if cache_dir is None else corpus_paths(graph, regions, n, seed=seed, id_prefix=id_prefix,
                                                         cache_dir=cache_dir)
    if paths is not None and all(p.exists() for p in paths):
        return read_frames(paths), None
    start = time.perf_counter()
    frames = realistic_frames(graph, regions, n, seed=seed, id_prefix=id_prefix)
    elapsed = time.perf_counter() - start
    if paths is not None:
        write_frames(frames, paths)
    return frames, elapsed
