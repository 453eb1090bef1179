"""The matching engine facade: candidates → relevance → components → filters → score → top-k → items.

One vectorised path serves a portal query (a block of one demand) and a batch run (blocks of thousands of
needs); see DESIGN.md §3. The stages live in their own modules: :mod:`matching.candidates`,
:mod:`matching.relevance`, :mod:`matching.components`, :mod:`matching.ranking` and :mod:`matching.items`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import polars as pl

from matching.array_sets import unique
from matching.batch import ProgressFn, top_suppliers_all
from matching.candidates import demand_candidates, supply_candidates
from matching.chains import ChainGraph
from matching.components import components, filter_mask, weighted_score
from matching.corpus import FrameChunks
from matching.county_terms import county_table
from matching.errors import InvalidInputError, NotFoundError
from matching.explicit_relevance import warm_up as warm_explicit
from matching.filters import PairFilter, certification_keys
from matching.frames import frames_to_profiles, profiles_to_frames
from matching.item_columns import EntRecord
from matching.item_index import ItemIndex
from matching.item_work import StartedWork
from matching.items import QUERY_ID, ItemBuilder
from matching.kernels import warm_up
from matching.linking import ItemLinks
from matching.pair_components import warm_up as warm_components
from matching.params import DEFAULT_PARAMS, MatchParams
from matching.persist import load_index, save_index
from matching.profiles import Enterprise, Need, Offer
from matching.ranking import Scored, dedupe, mark_served, top_k
from matching.relation_matrix import RelationMatrix
from matching.relevance import relevance
from matching.results import MatchResult
from matching.scoring import PolicyLookup, RegionLookup
from matching.sides import Side, concat, inferred, query, stored
from matching.text import TextModel, item_text
from matching.units import parse_unit, to_base
from matching.weights import DEFAULT_PROFILE, MatchFilters, WeightProfile

__all__ = ["MatchEngine", "frames_to_profiles", "profiles_to_frames"]

COMPACT_AFTER_BLOCKS = 8  # appended write batches before a background merge


class MatchEngine:
    """Ranked suppliers and buyers over an append-only columnar index. Build with :meth:`build`."""

    def __init__(self, index: ItemIndex) -> None:
        self.index = index
        self.params = index.params
        self._writes = threading.Lock()  # serialises writers (reads never take it)
        self._compactor: threading.Thread | None = None
        _warm_kernels(index)

    # -- construction and updates ---------------------------------------------------------------

    @classmethod
    def build(
        cls, graph: ChainGraph, regions: RegionLookup, policy: PolicyLookup,
        enterprises: pl.DataFrame | tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame] | Iterable[Enterprise],
        params: MatchParams = DEFAULT_PARAMS, processes: int = 1,
    ) -> MatchEngine:
        """Index ``enterprises``: profiles, :func:`profiles_to_frames` frames, or one nested frame.

        Frames are validated into profiles one chunk at a time (:class:`matching.corpus.FrameChunks`).
        ``processes`` forked processes count, link and vectorise the items (the same index as with one).
        """
        corpus: list[Enterprise] | FrameChunks
        if isinstance(enterprises, pl.DataFrame):
            corpus = frames_to_profiles(enterprises)
            ids = [e.id for e in corpus]
        elif isinstance(enterprises, tuple) and all(isinstance(f, pl.DataFrame) for f in enterprises):
            corpus = FrameChunks(*enterprises)
            ids = corpus.enterprises.get_column("id").to_list()
        else:
            corpus = list(enterprises)  # type: ignore[arg-type]
            ids = [e.id for e in corpus]
        seen: set[str] = set()
        for eid in ids:
            if eid in seen:
                raise InvalidInputError(f"duplicate enterprise id {eid!r}")
            seen.add(eid)
        index = ItemIndex(RelationMatrix(graph, params), regions, policy, params)
        index.processes = processes
        index.fit(corpus)
        return cls(index)

    def upsert(self, enterprise: Enterprise) -> None:
        """Insert or replace one profile without refitting the vocabulary."""
        self.upsert_many([enterprise])

    def upsert_many(self, enterprises: Sequence[Enterprise], started: StartedWork | None = None
                    ) -> dict[str, frozenset[str]]:  # fmt: skip
        """Insert or replace many profiles as one batch (the bulk-load path); returns the chain nodes each
        one links to (as :meth:`linked_nodes` would). ``started``: their item work begun early
        (:meth:`ItemIndex.start_items`)."""
        last = {e.id: e for e in enterprises}
        with self._writes:
            linked = self.index.add(list(last.values()), started)
        self._maybe_compact()
        return linked

    def remove(self, enterprise_id: str) -> None:
        with self._writes:
            if enterprise_id not in self.index.records:
                raise NotFoundError("enterprise", enterprise_id)
            self.index.remove([enterprise_id])

    def get(self, enterprise_id: str) -> Enterprise | None:
        rec = self.index.records.get(enterprise_id)
        return None if rec is None else rec.enterprise

    def __len__(self) -> int:
        return len(self.index.records)

    def enterprise_ids(self) -> list[str]:
        """Ids of every indexed enterprise, sorted."""
        return sorted(self.index.records)

    def linked_nodes(self, enterprise_id: str) -> frozenset[str]:
        """Chain nodes the enterprise's offers and needs link to (head nodes, not categories)."""
        rec = self._record(enterprise_id)
        ix = self.index
        links = [ix.item_links(ix.offers, r) for r in rec.offer_rows]
        links += [ix.item_links(ix.needs, r) for r in rec.need_rows]
        return frozenset(n for lk in links for n in lk.head_nodes())

    def links_of(self, enterprise_id: str, item_id: str, kind: str = "offer") -> ItemLinks:
        """The chain-graph links of one indexed offer (``kind="offer"``) or need."""
        rec = self._record(enterprise_id)
        cols = self.index.offers if kind == "offer" else self.index.needs
        for r in rec.offer_rows if kind == "offer" else rec.need_rows:
            if cols.item_id[r] == item_id:
                return self.index.item_links(cols, r)
        raise NotFoundError(kind, item_id)

    def after_fork(self) -> None:
        """In a forked child that saves this engine: new writer locks (see :meth:`ItemIndex.after_fork`)."""
        self._writes = threading.Lock()
        self.index.after_fork()

    def save(self, path: Path) -> None:
        """Save the index under ``path`` for :meth:`load` (see :mod:`matching.persist`)."""
        self.compact()
        save_index(self.index, path)

    @classmethod
    def load(cls, path: Path, graph: ChainGraph, regions: RegionLookup, policy: PolicyLookup,
             params: MatchParams = DEFAULT_PARAMS) -> MatchEngine:
        """A saved index, memory-mapped: no rebuild; refuses one built for another graph or parameters."""
        return cls(load_index(path, RelationMatrix(graph, params), regions, policy, params))

    @property
    def text_model(self) -> TextModel:
        """The fitted text model (kept until :meth:`refit`)."""
        return self.index.text

    def refit(self) -> None:
        """Explicit full rebuild: refit TF-IDF on the current profiles, re-link everything, swap it in."""
        with self._writes:
            old = self.index
            fresh = ItemIndex(old.relations, old.regions, old.policy, old.params)
            fresh.fit([r.enterprise for r in old.records.values()])
            self.index = fresh  # one reference swap: a running query keeps the index it started with

    def compact(self) -> bool:
        """Merge appended blocks now (normally done in the background)."""
        return self.index.compact()

    def _maybe_compact(self) -> None:
        if self.index.block_count() <= COMPACT_AFTER_BLOCKS:
            return
        if self._compactor is not None and self._compactor.is_alive():
            return
        self._compactor = threading.Thread(target=self.index.compact, name="chainmatch-compact", daemon=True)
        self._compactor.start()

    @property
    def frames(self) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        """``(enterprises_df, offers_df, needs_df)``; item frames carry ``row`` and ``alive``."""
        ix = self.index
        ents, offers, needs = profiles_to_frames(r.enterprise for r in ix.records.values())
        offer_rows = [r for rec in ix.records.values() for r in rec.offer_rows]
        need_rows = [r for rec in ix.records.values() for r in rec.need_rows]
        offers = offers.with_columns(row=pl.Series(offer_rows, dtype=pl.Int64))
        needs = needs.with_columns(row=pl.Series(need_rows, dtype=pl.Int64))
        alive_o = ix.offers.alive.view
        dead = [i for i in range(len(ix.offers)) if not alive_o[i]]
        dead_df = pl.DataFrame({
            "enterprise_id": [ix.ent_id[int(ix.offers.ent.view[i])] for i in dead],
            "offer_id": [ix.offers.item_id[i] for i in dead], "row": pl.Series(dead, dtype=pl.Int64),
        })
        offers = pl.concat([offers.with_columns(alive=pl.lit(True)), dead_df.with_columns(alive=pl.lit(False))],
                           how="diagonal_relaxed")
        needs = needs.with_columns(alive=pl.lit(True))
        return ents, offers, needs

    # -- queries --------------------------------------------------------------------------------

    def suppliers_for(
        self, enterprise_id: str, need_id: str | None = None, *, k: int = 10,
        weights: WeightProfile | None = None, filters: MatchFilters | None = None,
    ) -> MatchResult:
        """Suppliers for one need, or for all of the enterprise's explicit and inferred needs."""
        ix = self.index
        rec = self._record(enterprise_id, ix)
        if need_id is not None:
            rows = [r for r in rec.need_rows if ix.needs.item_id[r] == need_id]
            if not rows:
                raise NotFoundError("need", need_id)
            demand = stored(ix, ix.needs, np.array(rows))
        else:
            explicit = stored(ix, ix.needs, np.array(rec.need_rows, dtype=np.int64))
            made = sorted(rec.made.items())
            implied = inferred(ix, np.full(len(made), rec.slot), np.array([m for m, _ in made], dtype=np.int64),
                               np.array([c for _, c in made], dtype=np.float32))
            demand = concat(explicit, implied)
        return self._suppliers(ix, demand, k, weights, filters, self._warnings(ix, rec), enterprise_id)

    def buyers_for(
        self, enterprise_id: str, offer_id: str | None = None, *, k: int = 10,
        weights: WeightProfile | None = None, filters: MatchFilters | None = None,
    ) -> MatchResult:
        """Likely buyers (explicit needs and inferred demand) for one offer or all of them."""
        ix = self.index
        rec = self._record(enterprise_id, ix)
        rows = rec.offer_rows if offer_id is None else [r for r in rec.offer_rows if ix.offers.item_id[r] == offer_id]
        if offer_id is not None and not rows:
            raise NotFoundError("offer", offer_id)
        supply = stored(ix, ix.offers, np.array(rows, dtype=np.int64))
        return self._buyers(ix, supply, k, weights, filters, self._warnings(ix, rec), enterprise_id)

    def match(
        self, query_item: Need | Offer, *, region_code: str | None = None, certifications: list[str] | None = None,
        k: int = 10, weights: WeightProfile | None = None, filters: MatchFilters | None = None,
    ) -> MatchResult:
        """Ad-hoc: a Need returns suppliers, an Offer returns buyers (explicit and inferred); nothing stored."""
        ix = self.index
        is_need = isinstance(query_item, Need)
        qty = query_item.volume if isinstance(query_item, Need) else query_item.capacity
        warnings: list[str] = []
        if qty is not None and not qty.unit_known():
            warnings.append(_unit_warning("volume.unit" if is_need else "capacity.unit", qty.unit))
        base = to_base(qty.value, qty.unit) if qty is not None and qty.value is not None else None
        dims = ix.unit_dims
        qty_cols = (np.nan, -1) if base is None or base[1] not in dims else (base[0], dims[base[1]])
        links = ix.links.link(query_item.product, query_item.description, is_need=is_need)
        side = query(
            ix, links, ix.text.transform([item_text(query_item.product, query_item.description)]),
            product=query_item.product, region_code=region_code, certs=certification_keys(certifications or []),
            qty=qty_cols, is_need=is_need,
            required=certification_keys(query_item.required_certifications) if isinstance(query_item, Need)
            else frozenset(),
        )
        text = f"{query_item.product} {query_item.description or ''}".strip()
        if is_need:
            return self._suppliers(ix, side, k, weights, filters, warnings, None, query_item.id, text, region_code)
        return self._buyers(ix, side, k, weights, filters, warnings, None, query_item.id, text, region_code)

    def top_suppliers_all(
        self, k: int = 10, *, block_size: int = 4096, weights: WeightProfile | None = None,
        filters: MatchFilters | None = None, progress: ProgressFn | None = None,
    ) -> pl.DataFrame:
        """Top-k suppliers for every explicit need (see :func:`matching.batch.top_suppliers_all`)."""
        return top_suppliers_all(self.index, k, block_size=block_size, weights=weights, filters=filters,
                                 progress=progress)

    # -- the pipeline ---------------------------------------------------------------------------

    def _suppliers(self, ix: ItemIndex, demand: Side, k: int, weights: WeightProfile | None,
                   filters: MatchFilters | None, warnings: list[str], asking: str | None,
                   query_id: str | None = None, query_text: str = "",
                   query_region: str | None = None) -> MatchResult:
        di, rows = supply_candidates(ix, demand, self.params.graph_top_n, (weights or DEFAULT_PROFILE).weights)
        alive = ix.offers.alive.view  # rows a concurrent write appended but has not published yet are skipped
        keep = rows < len(alive)
        di, rows = di[keep], rows[keep]
        keep = alive[rows]
        di, rows = di[keep], rows[keep]
        uniq, si = np.unique(rows, return_inverse=True)
        supply = stored(ix, ix.offers, uniq)
        return self._finish(ix, demand, supply, di, si, k, weights, filters, warnings, asking, query_id,
                            query_text, query_region)

    def _buyers(self, ix: ItemIndex, supply: Side, k: int, weights: WeightProfile | None, filters: MatchFilters | None,
                warnings: list[str], asking: str | None, query_id: str | None = None, query_text: str = "",
                query_region: str | None = None) -> MatchResult:
        need_rows, slots, nodes = demand_candidates(ix, supply, self.params.buyer_top_n)
        alive = ix.needs.alive.view
        need_rows = need_rows[need_rows < len(alive)]
        need_rows = need_rows[alive[need_rows]]
        explicit = stored(ix, ix.needs, unique(need_rows))
        made = {(int(s), int(n)): ix.records[ix.ent_id[s]].made.get(int(n), 0.0)
                for s, n in zip(slots, nodes, strict=True)}
        made = {key: conf for key, conf in made.items() if conf > 0}
        keys = sorted(made)
        implied = inferred(ix, np.array([s for s, _ in keys], dtype=np.int64),
                           np.array([n for _, n in keys], dtype=np.int64),
                           np.array([made[key] for key in keys], dtype=np.float32))
        demand = concat(explicit, implied)
        di = np.repeat(np.arange(len(demand)), len(supply))
        si = np.tile(np.arange(len(supply)), len(demand))
        return self._finish(ix, demand, supply, di, si, k, weights, filters, warnings, asking, query_id,
                            query_text, query_region, equipment=True)

    def _finish(self, ix: ItemIndex, demand: Side, supply: Side, di: np.ndarray, si: np.ndarray, k: int,
                weights: WeightProfile | None, filters: MatchFilters | None, warnings: list[str],
                asking: str | None, query_id: str | None, query_text: str, query_region: str | None,
                equipment: bool = False) -> MatchResult:
        if k < 1:
            raise InvalidInputError("k must be at least 1")
        profile = weights or DEFAULT_PROFILE
        active = filters or profile.filters
        pfilter = PairFilter.from_filters(active, ix.regions.in_circle_codes())
        ok = filter_mask(ix, demand, supply, di, si, active)
        di, si = di[ok], si[ok]
        rel = relevance(ix, demand, supply, di, si, equipment=equipment)
        comps, km = components(ix, demand, supply, di, si, rel)
        score = weighted_score(comps, profile)
        keep = rel.keep & (score >= active.min_score)
        scored = Scored(di=di, si=si, score=score, backfill=rel.backfill.copy(), kind=rel.kind,
                        product=rel.product, inferred=demand.use_node[di] >= 0, buyer=demand.slot[di],
                        supply_row=supply.row[si])
        mark_served(scored, self.params.served)
        idx = np.flatnonzero(keep)
        sub = Scored(*(getattr(scored, f)[idx] for f in Scored.__dataclass_fields__))
        order = idx[top_k(sub, dedupe(sub), k, lambda sel: self._tie_keys(ix, demand, sub, sel))]
        builder = ItemBuilder(ix)
        # the k picked pairs' values as Python numbers, one gather per column (not one scalar read per value)
        picked = {c: v[order].tolist() for c, v in comps.items()}
        d_picked, s_picked = di[order], si[order]
        columns = zip(d_picked.tolist(), s_picked.tolist(), score[order].tolist(), rel.kind[order].tolist(),
                      rel.demand_node[order].tolist(), rel.supply_node[order].tolist(), km[order].tolist(),
                      strict=True)
        items = [
            builder.item(
                i + 1, demand=demand, supply=supply, d=d, s=s, score=sc, comps={c: v[i] for c, v in picked.items()},
                kind=kd, demand_node=dn, supply_node=sn, km=dist, profile=profile, pfilter=pfilter,
                query_region=query_region, query_item=query_id, query_text=query_text,
            )
            for i, (d, s, sc, kd, dn, sn, dist) in enumerate(columns)
        ]
        prefix = f"{asking}: " if asking else ""
        all_warnings = [prefix + w for w in warnings]
        # a listed item's unit, read at the row that was scored (not by walking its firm's rows: at 1M each
        # firm record is a cache miss)
        listed = zip(items, supply.row[s_picked].tolist(), demand.row[d_picked].tolist(), strict=True)
        for it, offer_row, need_row in listed:
            for party, what, cols, row, item_id in ((it.supplier.id, "offer", ix.offers, offer_row, it.offer_id),
                                                    (it.buyer.id, "need", ix.needs, need_row, it.need_id)):
                if party in (asking, QUERY_ID) or item_id is None or row < 0:
                    continue
                unit = cols.unit[row]
                if unit is not None and parse_unit(unit) is None:
                    w = f"{party}: {_unit_warning(f'{what} {item_id}', unit)}"
                    if w not in all_warnings:
                        all_warnings.append(w)
        return MatchResult(items=items, weights={"name": profile.name, "version": profile.version},
                           warnings=all_warnings)

    @staticmethod
    def _tie_keys(ix: ItemIndex, demand: Side, s: Scored, sel: np.ndarray) -> list[np.ndarray]:
        """Supplier id, offer id, buyer id, need id and inferred node of the pairs ``sel`` (tie-breakers)."""
        ids = ix.ent_id
        rows = s.supply_row[sel].tolist()
        supplier = [ids[int(ix.offers.ent.view[r])] if r >= 0 else QUERY_ID for r in rows]
        offer = [ix.offers.item_id[r] if r >= 0 else "" for r in rows]
        buyer = [ids[b] if b >= 0 else QUERY_ID for b in s.buyer[sel].tolist()]
        need = [ix.needs.item_id[r] if r >= 0 else "" for r in demand.row[s.di[sel]].tolist()]
        return [np.array(x, dtype=str) for x in (supplier, offer, buyer, need)] + [demand.use_node[s.di[sel]]]

    def _record(self, enterprise_id: str, ix: ItemIndex | None = None) -> EntRecord:
        rec = (ix or self.index).records.get(enterprise_id)
        if rec is None:
            raise NotFoundError("enterprise", enterprise_id)
        return rec

    @staticmethod
    def _warnings(ix: ItemIndex, rec: EntRecord) -> list[str]:
        """Unknown-unit warnings of an enterprise, read from the unit columns: a query must not parse whole
        profiles for them."""
        out: list[str] = []
        for what, cols, rows, field in (("offer", ix.offers, rec.offer_rows, "capacity"),
                                        ("need", ix.needs, rec.need_rows, "volume")):
            for i, row in enumerate(rows):
                unit = cols.unit[row]
                if unit is not None and parse_unit(unit) is None:
                    out.append(_unit_warning(f"{what}s[{i}].{field}.unit", unit))
        return out


def _warm_kernels(ix: ItemIndex) -> None:
    """Compile the query kernels for this index's column types before it serves (see :mod:`matching.kernels`)."""
    csr = [(m.indptr, m.indices, m.data) for cols in (ix.offers, ix.needs)
           for rows in (cols.retrieval, cols.head_matrix, cols.use_matrix) for _, _, m in rows.blocks]
    text = [(m.indptr, m.indices, m.data) for cols in (ix.offers, ix.needs) for _, m, _ in cols.text.blocks]
    counties = county_table(ix.regions)
    distance, cross = counties.terms(np.nan, np.nan, -1)
    warm_up(csr, (ix.offers.alive.view, ix.offers.code.view, ix.offers.standing.view, counties.lookup, distance,
                  cross), (ix.relations.head, ix.relations.downstream, ix.relations.is_kind_of.T), text)
    rel, needs = ix.relations, ix.needs
    warm_explicit({name: getattr(needs, name).view for name in ("head_nodes", "head_conf", "use_nodes", "use_conf",
                                                               "use_alone", "part_of_category", "family",
                                                               "confident")},
                  (rel.head, rel.use, rel.sibling, rel.head_kind, rel.use_kind, rel.end_product, rel.downstream,
                   rel.is_kind_of.T))
    warm_components(needs.qty.view, needs.qty_dim.view, ix.ent_code.view, ix.ent_priority.view,
                    ix.ent_standing.view, rel.node_chains)


def _unit_warning(where: str, unit: str) -> str:
    return f"{where}: unknown unit {unit!r} kept as given; capacity fit is neutral"


