"""Who supplies and who needs each chain node, as polars tables over the engine's link columns.

Everything is computed from the index's arrays with sparse products and polars joins, never per firm:

* ``firms`` — one row per live enterprise slot: id, name, county code, province, circle membership.
* ``supply`` — one row per (live offer, strongest head node) link: the firm offers that node.
* ``demand`` — one row per demand on a node: the strongest head links of a posted need (``inferred`` false), and each
  input a firm is inferred to buy because it makes a product the graph says the input goes into.
* ``viable`` — one row per (demand node, offer) where the offer can answer demand at that node: its product is
  the node or a kind of it (relation ≥ ``viable_relation``) and confidently linked (``viable_link_confidence``).

Inferred demand follows the graph's ``input_of`` edges into the made node and into its categories (an NCM811
maker buys 三元前驱体 because 三元正极材料 is made from it): direct inputs only, since a 2-hop input is bought by
the maker of the intermediate, which the map counts in its own right. A firm is never inferred to need a node
it already posts a need for or viably supplies itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from matching.chainmap.params import DEFAULT_MAP_PARAMS, MapParams
from matching.chains import Chain, ChainGraph
from matching.item_columns import ItemColumns
from matching.item_index import ItemIndex

REQ_SEP = "\x1f"
"""Joins a need's required certification keys into its ``req`` column ("" when it requires none)."""


def chain_node_ids(chain: Chain) -> list[str]:
    """A chain's nodes: its segments' nodes, then the nodes its file defines (as ``/v1/chains/{id}`` lists)."""
    return list(dict.fromkeys([*chain.node_ids(), *(n.id for n in chain.nodes)]))


@dataclass(frozen=True)
class ChainFacts:
    """The tables every chain-map analysis reads (see the module docstring)."""

    index: ItemIndex
    params: MapParams
    firms: pl.DataFrame
    supply: pl.DataFrame
    demand: pl.DataFrame
    viable: pl.DataFrame
    base_units: dict[int, str]
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """Results derived from these facts alone (e.g. the firms supplying the circle), kept while they live."""

    @property
    def graph(self) -> ChainGraph:
        return self.index.graph

    @property
    def node_ids(self) -> list[str]:
        return self.index.relations.node_ids

    def node_frame(self) -> pl.DataFrame:
        """``node`` (position), ``node_id`` and ``node_name`` of every graph node."""
        ids = self.node_ids
        graph = self.graph
        return pl.DataFrame({
            "node": pl.Series(range(len(ids)), dtype=pl.Int64), "node_id": ids,
            "node_name": [graph.nodes[i].name for i in ids],
        })

    def chain_nodes(self, chain_id: str | None) -> pl.Series | None:
        """Node positions of one chain (``None``: every node)."""
        if chain_id is None:
            return None
        chain = self.graph.chains[chain_id]
        pos = self.index.relations.pos
        return pl.Series([pos[n] for n in chain_node_ids(chain) if n in pos], dtype=pl.Int64)


def region_prefix(region_code: str | None) -> str | None:
    """``520300`` → ``5203`` (a city), ``500000`` → ``50`` (a province), a county code stays whole."""
    if region_code is None:
        return None
    code = region_code
    while len(code) > 2 and code.endswith("00"):
        code = code[:-2]
    return code


def in_region(column: str, region_code: str | None) -> pl.Expr:
    """Rows whose county code (string column) lies in ``region_code`` (county, city or province)."""
    prefix = region_prefix(region_code)
    if prefix is None:
        return pl.lit(True)
    return pl.col(column).str.starts_with(prefix)


def build_facts(index: ItemIndex, params: MapParams = DEFAULT_MAP_PARAMS) -> ChainFacts:
    """The firm, supply, demand and viable-supply tables of the index as it is now."""
    tags, parks, flagged = _profile_fields(index)
    firms = _firms(index, tags, parks)
    supply = _links(index.offers, "offer")
    viable = _viable(index, params)
    explicit = _links(index.needs, "need").with_columns(inferred=pl.lit(False), via=pl.lit(-1, dtype=pl.Int64))
    explicit = explicit.join(_import_flags(flagged), on=["slot", "item_id"], how="left").with_columns(
        pl.col("import_dependent").fill_null(False))
    required = index.needs.required.view
    explicit = explicit.with_columns(req=pl.Series(
        [REQ_SEP.join(sorted(required[r] or ())) for r in explicit["row"].to_list()], dtype=pl.String))
    implied = _inferred(index, explicit, viable).with_columns(req=pl.lit(""))
    demand = pl.concat([explicit, implied], how="diagonal_relaxed")
    circle = firms.select("slot", "region_code", "in_circle")
    supply = supply.join(circle, on="slot")
    demand = demand.join(circle, on="slot")
    viable = viable.join(circle, on="slot")
    units = {code: base for base, code in index.unit_dims.items()}
    return ChainFacts(index, params, firms, supply, demand, viable, units)


def _profile_fields(index: ItemIndex) -> tuple[dict[int, list[str]], dict[int, str], list[tuple[int, str]]]:
    """Tags, park and import-dependent need ids per slot: the fields no index column holds, read in one pass
    over the profiles (one profile access per firm)."""
    tags: dict[int, list[str]] = {}
    parks: dict[int, str] = {}
    flagged: list[tuple[int, str]] = []
    for rec in index.records.values():
        e = rec.enterprise
        tags[rec.slot] = list(e.tags)
        parks[rec.slot] = e.park or ""
        flagged += [(rec.slot, n.id) for n in e.needs if n.import_dependent]
    return tags, parks, flagged


def _firms(index: ItemIndex, tags: dict[int, list[str]], parks: dict[int, str]) -> pl.DataFrame:
    n = len(index.ent_id)
    slots = np.flatnonzero(index.ent_alive.view[:n])
    codes = index.ent_code.view[slots]
    return pl.DataFrame({
        "slot": slots.astype(np.int64),
        "enterprise_id": [index.ent_id[s] for s in slots],
        "name": [index.ent_name[s] for s in slots],
        "region_code": [str(c) if c >= 0 else None for c in codes.tolist()],
        "in_circle": index.ent_circle.view[slots],
        "tags": [tags.get(int(s), []) for s in slots],
        "park": [parks.get(int(s), "") for s in slots],
    }, schema={"slot": pl.Int64, "enterprise_id": pl.String, "name": pl.String, "region_code": pl.String,
               "in_circle": pl.Boolean, "tags": pl.List(pl.String), "park": pl.String})


def _links(cols: ItemColumns, kind: str) -> pl.DataFrame:
    """One row per (live item, strongest head link): ``slot, row, item_id, node, conf, qty, dim``.

    Only an item's strongest links count (ties all do: "仪表板、保险杠" asks for both): a weaker one is a category
    fallback or an alternative (线束 beside 汽车线束), and counting it would count the same need twice."""
    n = len(cols)
    rows = np.flatnonzero(cols.alive.view[:n])
    heads = cols.head_nodes.view[rows]
    confs = cols.head_conf.view[rows]
    r_idx, c_idx = np.nonzero(heads >= 0)
    item_rows = rows[r_idx]
    ids = np.asarray(cols.item_id, dtype=object)
    return pl.DataFrame({
        "slot": cols.ent.view[item_rows].astype(np.int64),
        "row": item_rows.astype(np.int64),
        "item_id": pl.Series(ids[item_rows] if len(item_rows) else [], dtype=pl.String),
        "node": heads[r_idx, c_idx].astype(np.int64),
        "conf": confs[r_idx, c_idx].astype(np.float64),
        "qty": cols.qty.view[item_rows],
        "dim": cols.qty_dim.view[item_rows].astype(np.int64),
    }).with_columns(pl.col("qty").fill_nan(None)).filter(pl.col("conf") == pl.col("conf").max().over("row"))


def _import_flags(flagged: list[tuple[int, str]]) -> pl.DataFrame:
    return pl.DataFrame({"slot": [s for s, _ in flagged], "item_id": [i for _, i in flagged],
                         "import_dependent": [True] * len(flagged)},
                        schema={"slot": pl.Int64, "item_id": pl.String, "import_dependent": pl.Boolean})


def _viable(index: ItemIndex, params: MapParams) -> pl.DataFrame:
    """(demand node, offer row) pairs whose offer viably answers the node: ``(S · Hᵀ)`` as a sparse product."""
    cols = index.offers
    n = len(cols)
    n_nodes = index.relations.n_nodes
    rows = np.flatnonzero(cols.alive.view[:n])
    heads = cols.head_nodes.view[rows]
    confs = cols.head_conf.view[rows]
    ok = (heads >= 0) & (confs >= params.viable_link_confidence)
    r_idx, c_idx = np.nonzero(ok)
    offers_nodes = sp.csr_matrix((np.ones(len(r_idx), np.float32), (rows[r_idx], heads[r_idx, c_idx])),
                                 shape=(n, n_nodes))
    answers = sp.csr_matrix((index.relations.head >= params.viable_relation).astype(np.float32))
    pairs = (offers_nodes @ answers.T).tocoo()  # offer row × demand node
    offer_rows = pairs.row.astype(np.int64)
    return pl.DataFrame({
        "node": pairs.col.astype(np.int64), "row": offer_rows,
        "slot": cols.ent.view[offer_rows].astype(np.int64),
        "qty": cols.qty.view[offer_rows], "dim": cols.qty_dim.view[offer_rows].astype(np.int64),
    }).with_columns(pl.col("qty").fill_nan(None))


def _inputs_matrix(index: ItemIndex) -> sp.csr_matrix:
    """``[u, i] = 1`` when ``i`` is an ``input_of`` the node ``u`` or of one of its categories."""
    graph = index.graph
    pos = index.relations.pos
    r: list[int] = []
    c: list[int] = []
    for node, u in pos.items():
        inputs = {i for m in (node, *graph.ancestors(node)) for i in graph.inputs.get(m, ())}
        for i in sorted(inputs):
            if i in pos and i != node:
                r.append(u)
                c.append(pos[i])
    n = len(pos)
    return sp.csr_matrix((np.ones(len(r), np.float32), (r, c)), shape=(n, n))


def _inferred(index: ItemIndex, explicit: pl.DataFrame, viable: pl.DataFrame) -> pl.DataFrame:
    made = [(rec.slot, node, conf) for rec in index.records.values() for node, conf in rec.made.items()]
    n_slots = len(index.ent_id)
    n_nodes = index.relations.n_nodes
    made_m = sp.csr_matrix((np.array([c for *_, c in made], np.float32),
                            (np.array([s for s, *_ in made], np.int64), np.array([m for _, m, _ in made], np.int64))),
                           shape=(n_slots, n_nodes))
    inputs = _inputs_matrix(index)
    need = (made_m @ inputs).tocoo()  # firm × input node (value: summed confidence, unused)
    frame = pl.DataFrame({"slot": need.row.astype(np.int64), "node": need.col.astype(np.int64)})
    # ``via``: the made node with the highest confidence that the input goes into (explains the inference)
    via_pairs = (made_m.multiply(made_m > 0)).tocoo()
    made_df = pl.DataFrame({"slot": via_pairs.row.astype(np.int64), "via": via_pairs.col.astype(np.int64),
                            "conf": via_pairs.data.astype(np.float64)})
    inputs_coo = inputs.tocoo()
    edges = pl.DataFrame({"via": inputs_coo.row.astype(np.int64), "node": inputs_coo.col.astype(np.int64)})
    via = (made_df.join(edges, on="via").sort(["slot", "node", "conf", "via"], descending=[False, False, True, False])
           .unique(["slot", "node"], keep="first", maintain_order=True))
    frame = frame.join(via, on=["slot", "node"])
    frame = frame.join(explicit.select("slot", "node").unique(), on=["slot", "node"], how="anti")
    frame = frame.join(viable.select("slot", "node").unique(), on=["slot", "node"], how="anti")
    return frame.with_columns(
        row=pl.lit(-1, dtype=pl.Int64), item_id=pl.lit(None, dtype=pl.String), qty=pl.lit(None, dtype=pl.Float64),
        dim=pl.lit(-1, dtype=pl.Int64), inferred=pl.lit(True), import_dependent=pl.lit(False),
    )
