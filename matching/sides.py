"""Blocks of demands and supplies as columns: stored needs and offers, inferred demand, or an ad-hoc query.

A block is what the vectorised stages read: one row per demand (or supply) with its party's columns
(slot, coordinates, region code, circle membership, standing, policy mask) and its item's columns (links,
family, quantity, text vector). Stored rows are gathered from :class:`~matching.item_index.ItemIndex`;
inferred demand and ad-hoc queries are built the same way, so one scoring path serves all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import overload

import numpy as np
import scipy.sparse as sp

from matching.columns import SMALL_SIDE, RowBlocks, pair_dots
from matching.item_columns import FOR_WIDTH, HEAD_WIDTH, USE_WIDTH, ItemColumns
from matching.item_index import ItemIndex
from matching.item_links import FAMILY_CODES
from matching.linking import ItemLinks
from matching.scoring import NO_STANDING


class _Deferred:
    """A column of a stored block gathered from the index on first read (``Side.source``), or set when built.

    A supplier list reads a dozen of a candidate block's columns; the rest (its needs' purposes and required
    certificates, the parties' certificates and circle flags) are gathered only where a reader asks for them.
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.party = name in _PARTY_COLUMNS

    @overload
    def __get__(self, obj: None, owner: type) -> _Deferred: ...
    @overload
    def __get__(self, obj: Side, owner: type) -> np.ndarray: ...
    def __get__(self, obj: Side | None, owner: type) -> np.ndarray | _Deferred:
        if obj is None:
            return self  # the dataclass's default: "not given"
        value = obj.columns.get(self.name)
        if value is None:
            index, cols = obj.source or (None, None)
            if index is None or (cols is None and not self.party):
                raise AttributeError(f"column {self.name!r} was neither given nor can be gathered")
            value = (getattr(index, f"ent_{self.name}").view[obj.slot] if self.party
                     else getattr(cols, self.name).view[obj.row])
            obj.columns[self.name] = value
        return value

    def __set__(self, obj: Side, value: np.ndarray | _Deferred) -> None:
        if not isinstance(value, _Deferred):
            obj.columns[self.name] = value


_PARTY_COLUMNS = frozenset({"circle", "certs"})


@dataclass(kw_only=True)
class Side:
    """A block of demands or supplies (``slot`` −1 is the ad-hoc querying party)."""

    columns: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # the deferred columns read so far
    source: tuple[ItemIndex, ItemColumns | None] | None = field(default=None, repr=False)  # deferred columns from
    slot: np.ndarray
    row: np.ndarray  # need / offer row, −1 for inferred demand and queries
    use_node: np.ndarray  # inferred demand: the node the buyer makes (−1 otherwise)
    code: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    circle: _Deferred = _Deferred()
    standing: np.ndarray
    priority: np.ndarray
    certs: _Deferred = _Deferred()  # object array of frozensets (only read for pairs whose need requires any)
    head_nodes: np.ndarray
    head_conf: np.ndarray
    use_nodes: _Deferred = _Deferred()
    use_conf: _Deferred = _Deferred()
    for_nodes: _Deferred = _Deferred()
    family: np.ndarray
    confident: np.ndarray
    use_alone: _Deferred = _Deferred()
    part_of_category: _Deferred = _Deferred()
    qty: np.ndarray
    qty_dim: np.ndarray
    required: _Deferred = _Deferred()  # object array of frozensets
    has_required: _Deferred = _Deferred()
    text: sp.csr_matrix | None  # None: not gathered yet, read from the source's text at ``row`` (text_rows)

    def __len__(self) -> int:
        return len(self.slot)

    def take(self, sel: np.ndarray) -> Side:
        """The rows ``sel`` of the block (columns not gathered yet stay so)."""
        out: dict[str, object] = {
            "source": self.source,
            "text": None if self.text is None else self.text[sel],
            "columns": {name: column[sel] for name, column in self.columns.items()},
        }
        for name in Side.__dataclass_fields__:
            if name not in out and not isinstance(getattr(Side, name, None), _Deferred):
                out[name] = getattr(self, name)[sel]
        return Side(**out)  # type: ignore[arg-type]

    def text_rows(self) -> sp.csr_matrix:
        """The text vectors of the block's rows, gathered from the index on first use."""
        if self.text is None:
            blocks = self.stored_text()
            assert blocks is not None
            self.text = blocks.rows(self.row)
        return self.text

    def stored_text(self) -> RowBlocks | None:
        """The index's text rows this block's ``row`` points into, for stored rows."""
        cols = None if self.source is None else self.source[1]
        return None if cols is None else cols.text


def party_columns(index: ItemIndex, slots: np.ndarray) -> dict[str, object]:
    """The enterprise columns of a side, for the enterprises in ``slots``."""
    return {
        "slot": slots, "code": index.ent_code.view[slots], "lat": index.ent_lat.view[slots],
        "lon": index.ent_lon.view[slots], "standing": index.ent_standing.view[slots],
        "priority": index.ent_priority.view[slots], "source": (index, None),
    }


def stored(index: ItemIndex, cols: ItemColumns, rows: np.ndarray) -> Side:
    """Stored offers or needs (``rows`` into ``cols``)."""
    rows = np.asarray(rows, dtype=np.int64)
    slots = cols.ent.view[rows].astype(np.int64)
    n = len(rows)
    return Side(
        **party_columns(index, slots) | {"source": (index, cols)},  # type: ignore[arg-type]
        row=rows, use_node=np.full(n, -1, dtype=np.int64),
        head_nodes=cols.head_nodes.view[rows], head_conf=cols.head_conf.view[rows],
        family=cols.family.view[rows], confident=cols.confident.view[rows],
        qty=cols.qty.view[rows], qty_dim=cols.qty_dim.view[rows],
        text=None,  # a single query reads its supplies' rows in place (text_dots)
    )  # the other item columns are gathered where they are read (_Deferred)


def inferred(index: ItemIndex, slots: np.ndarray, nodes: np.ndarray, conf: np.ndarray) -> Side:
    """Inferred demand: enterprise ``slots[i]`` makes ``nodes[i]`` (link confidence ``conf[i]``)."""
    slots = np.asarray(slots, dtype=np.int64)
    n = len(slots)
    use_nodes = np.full((n, USE_WIDTH), -1, dtype=np.int32)
    use_conf = np.zeros((n, USE_WIDTH), dtype=np.float32)
    use_nodes[:, 0] = nodes
    use_conf[:, 0] = conf
    node_matrix = index.linker.node_matrix_
    assert node_matrix is not None
    return Side(
        **party_columns(index, slots),  # type: ignore[arg-type]
        row=np.full(n, -1, dtype=np.int64), use_node=np.asarray(nodes, dtype=np.int64),
        head_nodes=np.full((n, HEAD_WIDTH), -1, dtype=np.int32), head_conf=np.zeros((n, HEAD_WIDTH), np.float32),
        use_nodes=use_nodes, use_conf=use_conf, for_nodes=np.full((n, FOR_WIDTH), -1, dtype=np.int32),
        family=np.zeros(n, dtype=np.int8), confident=np.ones(n, dtype=np.bool_),
        use_alone=np.zeros(n, dtype=np.bool_), part_of_category=np.zeros(n, dtype=np.bool_),
        qty=np.full(n, np.nan), qty_dim=np.full(n, -1, dtype=np.int16), required=_objects([frozenset()] * n),
        has_required=np.zeros(n, dtype=np.bool_),
        text=sp.csr_matrix(node_matrix[np.asarray(nodes)], dtype=np.float32),  # same sorted node order
    )


def query(
    index: ItemIndex, links: ItemLinks, text: sp.csr_matrix, *, product: str, region_code: str | None,
    certs: frozenset[str], qty: tuple[float, int], required: frozenset[str], is_need: bool,
) -> Side:
    """An ad-hoc need or offer of a party that is not stored (slot −1)."""
    from matching.columns import padded

    pos = index.relations.pos
    hn, hc = padded([[(pos[lk.node_id], lk.confidence) for lk in links.head]], HEAD_WIDTH)
    un, uc = padded([[(pos[lk.node_id], lk.confidence) for lk in links.use]], USE_WIDTH)
    fn, _ = padded([[(pos[u], 1.0) for u in index.links.equipment_uses(links)]], FOR_WIDTH)
    region = index.regions.get(region_code) if region_code else None
    prio = index.relations.chain_mask(index._priority(region_code))
    return Side(
        slot=np.array([-1]), row=np.array([-1]), use_node=np.array([-1]),
        code=np.array([int(region_code) if region_code and region_code.isdigit() else -1]),
        lat=np.array([float(getattr(region, "lat", np.nan)) if region else np.nan]),
        lon=np.array([float(getattr(region, "lon", np.nan)) if region else np.nan]),
        circle=np.array([bool(getattr(region, "in_circle", False)) if region else False]),
        standing=np.array([NO_STANDING], dtype=np.float32), priority=prio.reshape(1, -1), certs=_objects([certs]),
        head_nodes=hn, head_conf=hc, use_nodes=un, use_conf=uc, for_nodes=fn,
        family=np.array([FAMILY_CODES.get(links.family, 0)], dtype=np.int8),
        confident=np.array([links.confident]),
        use_alone=np.array([is_need and index.links.use_alone(links)]),
        part_of_category=np.array([is_need and index.links.part_of_category(product, links)]),
        qty=np.array([qty[0]]), qty_dim=np.array([qty[1]], dtype=np.int16), required=_objects([required]),
        has_required=np.array([bool(required)]),
        text=sp.csr_matrix(text, dtype=np.float32),
    )


def _objects(values: list[frozenset[str]]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def concat(a: Side, b: Side) -> Side:
    """The rows of ``a`` followed by the rows of ``b`` (e.g. explicit needs, then inferred demand)."""
    out: dict[str, object] = {"text": sp.vstack([a.text_rows(), b.text_rows()], format="csr")}
    for f in Side.__dataclass_fields__:
        if f in ("text", "columns", "source"):
            continue
        out[f] = np.concatenate([getattr(a, f), getattr(b, f)])
    return Side(**out)  # type: ignore[arg-type]


def text_dots(demand: Side, supply: Side, di: np.ndarray, si: np.ndarray) -> np.ndarray:
    """Text cosines of the pairs ``(demand[di], supply[si])``, as :func:`~matching.columns.pair_dots`.

    A few demands against stored supplies (a single query) read the supplies' rows where the index keeps
    them: at 1M, gathering a thousand candidates' rows first cost half of building the supply side.
    """
    a = demand.text_rows()
    blocks = supply.stored_text()
    if supply.text is None and blocks is not None and a.shape[0] <= SMALL_SIDE:
        return blocks.pair_dots(a, di, supply.row[si])
    return pair_dots(a, supply.text_rows(), di, si)
