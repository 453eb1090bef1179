"""The match index: polars frames in front, TF-IDF matrices and node postings behind them.

Row ``i`` of ``offers_df`` is row ``i`` of the offer matrix (likewise for needs). Updates append rows and
tombstone old ones (``alive = False`` and a zeroed matrix row), so the fitted vocabulary stays as it is
until :meth:`MatchIndex.fit` is called again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from matching.chains import ChainGraph
from matching.filters import certification_keys
from matching.linking import ItemLinks, Linker
from matching.profiles import Enterprise, Need, Offer, Quantity
from matching.relations import RelationIndex
from matching.scoring import RegionLookup, standing_component
from matching.text import TextModel, item_text

ENTERPRISE_SCHEMA: dict[str, Any] = {
    "id": pl.String, "name": pl.String, "credit_code": pl.String, "region_code": pl.String,
    "address": pl.String, "park": pl.String, "tags": pl.List(pl.String),
    "certifications": pl.List(pl.String), "source_doc": pl.String, "source_section": pl.String,
}
OFFER_SCHEMA: dict[str, Any] = {
    "enterprise_id": pl.String, "offer_id": pl.String, "product": pl.String, "description": pl.String,
    "capacity_value": pl.Float64, "capacity_unit": pl.String,
}
NEED_SCHEMA: dict[str, Any] = {
    "enterprise_id": pl.String, "need_id": pl.String, "product": pl.String, "description": pl.String,
    "volume_value": pl.Float64, "volume_unit": pl.String, "required_certifications": pl.List(pl.String),
}
_INDEX_COLUMNS: dict[str, Any] = {
    "row": pl.Int64, "alive": pl.Boolean, "family": pl.String, "nodes": pl.List(pl.String),
}


def profiles_to_frames(enterprises: Iterable[Enterprise]) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Flatten profiles into ``(enterprises_df, offers_df, needs_df)``."""
    ents: list[dict[str, Any]] = []
    offers: list[dict[str, Any]] = []
    needs: list[dict[str, Any]] = []
    for e in enterprises:
        ents.append({
            "id": e.id, "name": e.name, "credit_code": e.credit_code, "region_code": e.region_code,
            "address": e.address, "park": e.park, "tags": list(e.tags),
            "certifications": list(e.certifications),
            "source_doc": e.source.doc if e.source else None,
            "source_section": e.source.section if e.source else None,
        })
        for o in e.offers:
            offers.append({
                "enterprise_id": e.id, "offer_id": o.id, "product": o.product, "description": o.description,
                "capacity_value": o.capacity.value if o.capacity else None,
                "capacity_unit": o.capacity.unit if o.capacity else None,
            })
        for n in e.needs:
            needs.append({
                "enterprise_id": e.id, "need_id": n.id, "product": n.product, "description": n.description,
                "volume_value": n.volume.value if n.volume else None,
                "volume_unit": n.volume.unit if n.volume else None,
                "required_certifications": list(n.required_certifications),
            })
    return (
        pl.DataFrame(ents, schema=ENTERPRISE_SCHEMA),
        pl.DataFrame(offers, schema=OFFER_SCHEMA),
        pl.DataFrame(needs, schema=NEED_SCHEMA),
    )


def _quantity(value: float | None, unit: str | None) -> Quantity | None:
    return None if unit is None else Quantity(value=value, unit=unit)


def frames_to_profiles(
    enterprises_df: pl.DataFrame, offers_df: pl.DataFrame | None = None, needs_df: pl.DataFrame | None = None
) -> list[Enterprise]:
    """Rebuild validated profiles from :func:`profiles_to_frames` frames (offers/needs frames optional).

    A single frame with nested ``offers`` / ``needs`` columns (one row per ``Enterprise.model_dump()``)
    is accepted as well.
    """
    if "offers" in enterprises_df.columns or "needs" in enterprises_df.columns:
        return [
            Enterprise.model_validate({k: v for k, v in row.items() if v is not None})
            for row in enterprises_df.to_dicts()
        ]
    offers: dict[str, list[Offer]] = defaultdict(list)
    needs: dict[str, list[Need]] = defaultdict(list)
    if offers_df is not None:
        for r in offers_df.to_dicts():
            offers[r["enterprise_id"]].append(Offer(
                id=r["offer_id"], product=r["product"], description=r.get("description"),
                capacity=_quantity(r.get("capacity_value"), r.get("capacity_unit")),
            ))
    if needs_df is not None:
        for r in needs_df.to_dicts():
            needs[r["enterprise_id"]].append(Need(
                id=r["need_id"], product=r["product"], description=r.get("description"),
                volume=_quantity(r.get("volume_value"), r.get("volume_unit")),
                required_certifications=r.get("required_certifications") or [],
            ))
    out: list[Enterprise] = []
    for r in enterprises_df.to_dicts():
        source = {"doc": r["source_doc"], "section": r.get("source_section")} if r.get("source_doc") else None
        data = {
            "id": r["id"], "name": r["name"], "credit_code": r.get("credit_code"),
            "region_code": r.get("region_code"), "address": r.get("address"), "park": r.get("park"),
            "tags": r.get("tags") or [], "certifications": r.get("certifications") or [],
            "offers": offers.get(r["id"], []), "needs": needs.get(r["id"], []), "source": source,
        }
        out.append(Enterprise.model_validate(data))
    return out


@dataclass
class EntState:
    """An indexed enterprise with its resolved region and derived scoring inputs."""

    enterprise: Enterprise
    region_code: str | None
    standing: float
    certs: frozenset[str]
    offer_rows: list[int] = field(default_factory=list)
    need_rows: list[int] = field(default_factory=list)
    made_nodes: frozenset[str] = frozenset()
    need_cover: frozenset[str] = frozenset()  # offer nodes an explicit need already asks for


@dataclass
class ItemRow:
    """One indexed offer or need."""

    row: int
    enterprise_id: str
    item_id: str
    product: str
    description: str | None
    quantity: Quantity | None
    links: ItemLinks
    tokens: list[str]
    required: frozenset[str] = frozenset()
    alive: bool = True


class RowStore:
    """Rows, their TF-IDF matrix (kept in appended blocks) and node postings."""

    def __init__(self, n_features: int) -> None:
        self.rows: list[ItemRow] = []
        self._blocks: list[sp.csr_matrix] = []
        self._n_features = n_features
        self._matrix: sp.csr_matrix | None = None
        self._matrix_t: sp.csr_matrix | None = None
        self.head_postings: dict[str, set[int]] = defaultdict(set)
        self.use_postings: dict[str, set[int]] = defaultdict(set)

    def append(self, rows: Sequence[ItemRow], vectors: sp.csr_matrix) -> None:
        for r in rows:
            self.rows.append(r)
            for lk in r.links.head:
                self.head_postings[lk.node_id].add(r.row)
            for lk in r.links.use:
                self.use_postings[lk.node_id].add(r.row)
        if rows:
            self._blocks.append(vectors)
            self._matrix = self._matrix_t = None

    def tombstone(self, row: int) -> None:
        item = self.rows[row]
        item.alive = False
        for lk in item.links.head:
            self.head_postings[lk.node_id].discard(row)
        for lk in item.links.use:
            self.use_postings[lk.node_id].discard(row)
        matrix = self.matrix
        matrix.data[matrix.indptr[row] : matrix.indptr[row + 1]] = 0.0
        self._matrix_t = None

    @property
    def matrix(self) -> sp.csr_matrix:
        if self._matrix is None:
            if self._blocks:
                self._matrix = sp.vstack(self._blocks, format="csr")
                dead = [r.row for r in self.rows if not r.alive]
                for row in dead:
                    self._matrix.data[self._matrix.indptr[row] : self._matrix.indptr[row + 1]] = 0.0
            else:
                self._matrix = sp.csr_matrix((0, self._n_features), dtype=np.float64)
            self._blocks = [self._matrix]
        return self._matrix

    @property
    def matrix_t(self) -> sp.csr_matrix:
        """The transposed matrix (features × rows) for top-n products, zero rows eliminated."""
        if self._matrix_t is None:
            m = self.matrix.copy()
            m.eliminate_zeros()
            self._matrix_t = m.T.tocsr()
        return self._matrix_t


class MatchIndex:
    """Everything a query needs: graph lookups, the text model, enterprises, offer and need rows."""

    def __init__(self, graph: ChainGraph, regions: RegionLookup) -> None:
        self.graph = graph
        self.regions = regions
        self.relations = RelationIndex(graph)
        self.linker = Linker(graph)
        self.text = TextModel(self.linker.terms())
        self.enterprises: dict[str, EntState] = {}
        self.offers = RowStore(0)
        self.needs = RowStore(0)
        self.enterprises_df, self.offers_df, self.needs_df = _empty_frames()

    # -- building -----------------------------------------------------------------------------------

    def fit(self, enterprises: Sequence[Enterprise]) -> None:
        """Full (re)build: refit TF-IDF on the profile corpus plus node texts, re-link, re-index."""
        items: list[Offer | Need] = [o for e in enterprises for o in e.offers]
        items += [n for e in enterprises for n in e.needs]
        corpus = [item_text(item.product, item.description) for item in items]
        corpus += [self.linker.node_text(n) for n in self.linker.node_ids]
        self.text = TextModel(self.linker.terms()).fit(corpus)
        self.linker.fit_text(self.text)
        self.enterprises = {}
        self.offers = RowStore(self.text.n_features)
        self.needs = RowStore(self.text.n_features)
        self.enterprises_df, self.offers_df, self.needs_df = _empty_frames()
        self.add_many(enterprises)

    def add_many(self, enterprises: Sequence[Enterprise]) -> None:
        """Index new profiles (ids must not be indexed yet) with the fitted vocabulary."""
        offer_rows: list[ItemRow] = []
        need_rows: list[ItemRow] = []
        for e in enterprises:
            state = EntState(
                enterprise=e,
                region_code=self._region_code(e),
                standing=standing_component(e.tags),
                certs=certification_keys(e.certifications),
            )
            made: set[str] = set()
            for o in e.offers:
                row = ItemRow(
                    row=len(self.offers.rows) + len(offer_rows), enterprise_id=e.id, item_id=o.id,
                    product=o.product, description=o.description, quantity=o.capacity,
                    links=self.linker.link(o.product, o.description),
                    tokens=self.text.tokens(f"{o.product} {o.description or ''}"),
                )
                made.update(row.links.head_nodes())
                state.offer_rows.append(row.row)
                offer_rows.append(row)
            for n in e.needs:
                row = ItemRow(
                    row=len(self.needs.rows) + len(need_rows), enterprise_id=e.id, item_id=n.id,
                    product=n.product, description=n.description, quantity=n.volume,
                    links=self.linker.link(n.product, n.description),
                    tokens=self.text.tokens(f"{n.product} {n.description or ''}"),
                    required=certification_keys(n.required_certifications),
                )
                state.need_rows.append(row.row)
                need_rows.append(row)
            state.made_nodes = frozenset(made)
            state.need_cover = frozenset(
                o
                for r in need_rows[len(need_rows) - len(e.needs) :]
                for n in r.links.head_nodes()
                for o in self.relations.head[n]
            )
            self.enterprises[e.id] = state
        self.offers.append(offer_rows, self.text.transform([_item_text(r) for r in offer_rows]))
        self.needs.append(need_rows, self.text.transform([_item_text(r) for r in need_rows]))
        self._append_frames(enterprises, offer_rows, need_rows)

    def remove(self, enterprise_id: str) -> None:
        state = self.enterprises.pop(enterprise_id)
        for row in state.offer_rows:
            self.offers.tombstone(row)
        for row in state.need_rows:
            self.needs.tombstone(row)
        self.enterprises_df = self.enterprises_df.filter(pl.col("id") != enterprise_id)
        dead_o = pl.col("row").is_in(state.offer_rows)
        dead_n = pl.col("row").is_in(state.need_rows)
        self.offers_df = self.offers_df.with_columns(alive=pl.col("alive") & ~dead_o)
        self.needs_df = self.needs_df.with_columns(alive=pl.col("alive") & ~dead_n)

    def _region_code(self, e: Enterprise) -> str | None:
        if e.region_code is not None:
            return e.region_code
        if e.address:
            region = self.regions.resolve_address(e.address)
            if region is not None:
                return str(region.code)
        return None

    def _append_frames(
        self, enterprises: Sequence[Enterprise], offer_rows: Sequence[ItemRow], need_rows: Sequence[ItemRow]
    ) -> None:
        ents, offers, needs = profiles_to_frames(enterprises)
        ents = ents.with_columns(
            region_code=pl.Series([self.enterprises[e.id].region_code for e in enterprises], dtype=pl.String)
        )
        offers = offers.with_columns(**_index_columns(offer_rows))
        needs = needs.with_columns(**_index_columns(need_rows))
        self.enterprises_df = pl.concat([self.enterprises_df, ents])
        self.offers_df = pl.concat([self.offers_df, offers])
        self.needs_df = pl.concat([self.needs_df, needs])


def _item_text(row: ItemRow) -> str:
    return item_text(row.product, row.description)


def _index_columns(rows: Sequence[ItemRow]) -> dict[str, pl.Series]:
    return {
        "row": pl.Series([r.row for r in rows], dtype=pl.Int64),
        "alive": pl.Series([True] * len(rows), dtype=pl.Boolean),
        "family": pl.Series([r.links.family for r in rows], dtype=pl.String),
        "nodes": pl.Series([r.links.head_nodes() for r in rows], dtype=pl.List(pl.String)),
    }


def _empty_frames() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    return (
        pl.DataFrame(schema=ENTERPRISE_SCHEMA),
        pl.DataFrame(schema={**OFFER_SCHEMA, **_INDEX_COLUMNS}),
        pl.DataFrame(schema={**NEED_SCHEMA, **_INDEX_COLUMNS}),
    )
