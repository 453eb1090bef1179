"""The columnar match index: enterprises, offers and needs as arrays, their link and text matrices.

Row ``i`` of the offer columns is offer ``i`` everywhere (links, text, frames). Writes append rows and
tombstone the old ones (``alive``); a bulk load is one batch. Reads take the arrays they need once and never
lock. The text vocabulary is fitted at build time and kept until :meth:`ItemIndex.fit` runs again.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse as sp

from matching.columns import Growable, padded, padded_to_csr
from matching.corpus import ListChunks, ProfileChunks
from matching.filters import certification_keys
from matching.item_columns import FOR_WIDTH, HEAD_WIDTH, USE_WIDTH, EntRecord, ItemColumns
from matching.item_links import FAMILY_CODES, ProductLinker
from matching.item_work import ItemKey, ItemWorker, StartedWork, count_chunks
from matching.linking import ItemLinks, Linker
from matching.params import DEFAULT_PARAMS, MatchParams
from matching.profiles import Enterprise, Quantity
from matching.relation_matrix import RelationMatrix
from matching.scoring import PolicyLookup, RegionLookup, standing_component
from matching.text import TextModel
from matching.units import to_base

_Item = tuple[int, str, str, "str | None", "Quantity | None", frozenset[str]]
"""(enterprise slot, item id, product, description, capacity or volume, required certifications)"""

class ItemIndex:
    """Everything a query reads, as columns; :meth:`add` and :meth:`remove` are the only writers."""

    def __init__(
        self, relations: RelationMatrix, regions: RegionLookup, policy: PolicyLookup,
        params: MatchParams = DEFAULT_PARAMS,
    ) -> None:
        self.relations = relations
        self.graph = relations.graph
        self.regions = regions
        self.policy = policy
        self.params = params
        self.linker = Linker(self.graph)
        self.links = ProductLinker(self.linker, params)
        self.text = TextModel(self.linker.terms())
        self.write_lock = threading.Lock()
        self.unit_dims: dict[str, int] = {}  # base-unit dimension → code, so capacity fit compares codes
        self.processes = 1  # processes that link and vectorise a large batch (see matching.item_work)
        self._reset()

    def _reset(self) -> None:
        n_nodes = self.relations.n_nodes
        self.records: dict[str, EntRecord] = {}
        self.ent_id: list[str] = []
        self.ent_name: list[str] = []
        self.ent_region: list[str | None] = []
        self.ent_alive = Growable(np.bool_, fill=False)
        self.ent_code = Growable(np.int64, fill=-1)
        self.ent_lat = Growable(np.float64, fill=np.nan)
        self.ent_lon = Growable(np.float64, fill=np.nan)
        self.ent_circle = Growable(np.bool_)
        self.ent_standing = Growable(np.float32)
        self.ent_priority = Growable(np.uint64, self.relations.node_chains.shape[1])
        self.ent_certs = Growable(object, fill=None)
        self.offers = ItemColumns(self.text.n_features, n_nodes)
        self.needs = ItemColumns(self.text.n_features, n_nodes)
        self.retrieval_floor: np.ndarray | None = None  # per text feature (see :meth:`_champions`)

    # -- building --------------------------------------------------------------------------------

    def fit(self, corpus: Sequence[Enterprise] | ProfileChunks,
            linked: Callable[[dict[str, frozenset[str]]], None] | None = None) -> None:
        """Full (re)build: refit TF-IDF on the item texts plus node texts, then index everything, a chunk
        at a time (see :mod:`matching.corpus`). ``linked`` receives each chunk's head nodes per profile (as
        :meth:`add` returns them), so a caller need not link the corpus again."""
        chunks = ListChunks(corpus) if isinstance(corpus, Sequence) else corpus
        text = TextModel(self.linker.terms())
        counts = count_chunks(text, chunks.texts, self.processes)
        text.fit_counts([*counts, text.counts([self.linker.node_text(n) for n in self.linker.node_ids])])
        vectors: list[sp.csr_matrix] = []
        while counts:  # each chunk's raw counts are freed as soon as it is weighed
            vectors.append(text.weigh(*counts.pop(0)))
        self.linker.fit_text(text)
        with self.write_lock:
            self.text = text
            self.links = ProductLinker(self.linker, self.params)
            self._reset()
            self.retrieval_floor, retrieval = self._champions(vectors)
            vectors.reverse()
            retrieval.reverse()
            for profiles in chunks.profiles():
                nodes = self._add(profiles, vectors.pop(), retrieval.pop())
                if linked is not None:
                    linked(nodes)
        self.compact()  # one block per matrix, as a query prefers

    def _champions(self, chunks: list[sp.csr_matrix]) -> tuple[np.ndarray, list[sp.csr_matrix]]:
        """Champion lists for text retrieval: per feature, the weight a later item's entry must exceed to be
        retrieved, and the retrieval rows of ``chunks``.

        A feature in more than ``max(text_max_df_floor, text_max_df × items)`` items is boilerplate and never
        retrieved (floor ``inf``). One in more than ``text_champions`` items lists only that many of its
        heaviest entries (ties: the earlier item), so a query walks a bounded posting list at any corpus size.
        """
        p = self.params
        df = np.zeros(self.text.n_features, dtype=np.int64)
        for m in chunks:
            df += np.bincount(m.indices, minlength=len(df))
        cap = max(p.text_max_df_floor, math.ceil(p.text_max_df * sum(m.shape[0] for m in chunks)))
        floor = np.where(df > cap, np.inf, 0.0).astype(np.float32)
        capped = (df > p.text_champions) & (df <= cap)
        feats, weights, where = [], [], []
        offset = 0
        for m in chunks:
            sel = np.flatnonzero(capped[m.indices])
            feats.append(m.indices[sel])
            weights.append(m.data[sel])
            where.append(sel + offset)
            offset += m.nnz
        keep = np.ones(offset, dtype=np.bool_)
        if feats:
            f, w, g = np.concatenate(feats), np.concatenate(weights), np.concatenate(where)
            order = np.lexsort((g, -w, f))  # by feature, then heaviest first, then earliest entry
            fs = f[order]
            rank = np.arange(len(order)) - np.searchsorted(fs, fs, side="left")
            keep[g[order[rank >= p.text_champions]]] = False
            last = order[rank == p.text_champions - 1]
            floor[f[last]] = w[last]
        out: list[sp.csr_matrix] = []
        offset = 0
        for m in chunks:
            mask = keep[offset : offset + m.nnz] & np.isfinite(floor[m.indices])
            offset += m.nnz
            out.append(_masked(m, mask))
        return floor, out

    def _retrieval_rows(self, vectors: sp.csr_matrix) -> sp.csr_matrix:
        """Retrieval rows of items added after the build: an entry joins its feature's champion list when it
        outweighs the list's lightest entry at the build."""
        if self.retrieval_floor is None:
            return sp.csr_matrix(vectors, copy=True)
        return _masked(vectors, vectors.data > self.retrieval_floor[vectors.indices])

    def start_items(self, enterprises: Sequence[Enterprise]) -> StartedWork | None:
        """Start linking and vectorising the items of profiles about to be added (in forked processes, see
        :meth:`ItemWorker.start`); pass the result to :meth:`add`. ``None`` when a batch this size is worked
        in this process only."""
        return ItemWorker(self.links, self.text, self.processes).start(_item_keys(enterprises))

    def add(self, enterprises: Sequence[Enterprise], started: StartedWork | None = None) -> dict[str, frozenset[str]]:
        """Index new or replaced profiles as one batch. The new rows are complete before a replaced record
        is swapped out and its rows tombstoned, so a reader never finds an enterprise without its items.
        ``started`` is their item work begun by :meth:`start_items` (used only if this index's linker and
        text model did it).

        Returns the head nodes each one's offers and needs link to (what :meth:`item_links` would give for
        its rows, without linking them again)."""
        with self.write_lock:
            replaced = [self.records[e.id] for e in enterprises if e.id in self.records]
            linked = self._add(enterprises, started=started)
            self._retire(replaced)
        return linked

    def remove(self, enterprise_ids: Sequence[str]) -> None:
        with self.write_lock:
            self._remove(enterprise_ids)

    def _remove(self, enterprise_ids: Sequence[str]) -> None:
        self._retire([self.records.pop(eid) for eid in enterprise_ids])

    def _retire(self, records: Sequence[EntRecord]) -> None:
        offer_rows: list[int] = []
        need_rows: list[int] = []
        for rec in records:
            self.ent_alive.set([rec.slot], False)
            offer_rows += rec.offer_rows
            need_rows += rec.need_rows
        for cols, rows in ((self.offers, offer_rows), (self.needs, need_rows)):
            if rows:
                cols.alive.set(rows, False)  # readers skip dead rows; compaction drops their entries

    def _add(self, enterprises: Sequence[Enterprise], vectors: sp.csr_matrix | None = None,
             retrieval: sp.csr_matrix | None = None, started: StartedWork | None = None) -> dict[str, frozenset[str]]:
        """Append profiles; ``vectors`` are their items' text rows (all offers, then all needs) if known, and
        ``retrieval`` their retrieval rows (the build's champion lists); ``started`` their item work begun
        early (see :meth:`add`). Returns the head nodes of each profile's items (see :meth:`add`)."""
        rel = self.relations
        pos = rel.pos
        slot0 = len(self.ent_id)
        codes, lats, lons, circle, standing, prio = [], [], [], [], [], []
        certs: list[frozenset[str]] = []
        new_offers: list[_Item] = []
        new_needs: list[_Item] = []
        fresh: dict[str, EntRecord] = {}  # published once their rows exist
        masks: dict[str | None, np.ndarray] = {}  # priority chains by region (many firms share one)
        cert_keys: dict[tuple[str, ...], frozenset[str]] = {}
        for i, e in enumerate(enterprises):
            slot = slot0 + i
            code = self._region_code(e)
            region = self.regions.get(code) if code else None
            held = tuple(e.certifications)
            has = cert_keys.get(held)
            if has is None:
                has = cert_keys[held] = certification_keys(held)
            rec = EntRecord(e.model_dump_json(exclude_defaults=True), slot, code, has)
            fresh[e.id] = rec
            self.ent_id.append(e.id)
            self.ent_name.append(e.name)
            self.ent_region.append(code)
            certs.append(rec.certs)
            codes.append(int(code) if code and code.isdigit() else -1)
            lats.append(float(getattr(region, "lat", np.nan)) if region else np.nan)
            lons.append(float(getattr(region, "lon", np.nan)) if region else np.nan)
            circle.append(bool(getattr(region, "in_circle", False)) if region else False)
            standing.append(standing_component(e.tags))
            mask = masks.get(code)
            if mask is None:
                mask = masks[code] = rel.chain_mask(self._priority(code))
            prio.append(mask)
            for o in e.offers:
                new_offers.append((slot, o.id, o.product, o.description, o.capacity, frozenset()))
            for n in e.needs:
                wanted = tuple(n.required_certifications)
                req = cert_keys.get(wanted)
                if req is None:
                    req = cert_keys[wanted] = certification_keys(wanted)
                new_needs.append((slot, n.id, n.product, n.description, n.volume, req))
        self.ent_certs.extend(_objects(certs))
        self.ent_code.extend(np.array(codes, dtype=np.int64))
        self.ent_lat.extend(np.array(lats))
        self.ent_lon.extend(np.array(lons))
        self.ent_circle.extend(np.array(circle, dtype=np.bool_))
        self.ent_standing.extend(np.array(standing, dtype=np.float32))
        width = self.relations.node_chains.shape[1]  # explicit: an empty batch cannot infer it
        self.ent_priority.extend(np.array(prio, dtype=np.uint64).reshape(len(prio), width))
        split = len(new_offers)
        keys = [(it[2], it[3], False) for it in new_offers] + [(it[2], it[3], True) for it in new_needs]
        ours = started is not None and started.worker.links is self.links and started.worker.text is self.text
        if started is not None and ours and vectors is None:
            worked = started.collect(keys)
        else:
            worked = ItemWorker(self.links, self.text, self.processes).work(keys, vectors=vectors is None)
        rows = vectors if vectors is not None else worked.vectors
        assert rows is not None
        linked: dict[str, set[str]] = {e.id: set() for e in enterprises}
        order = self._by_node(worked.links[:split])
        first = len(self.offers)
        offer_links = self._append_items(
            self.offers, [new_offers[i] for i in order], [worked.links[i] for i in order], rows[:split][order],
            None if retrieval is None else retrieval[:split][order])
        need_links = self._append_items(self.needs, new_needs, worked.links[split:], rows[split:],
                                        None if retrieval is None else retrieval[split:])
        offer_row = np.empty(split, dtype=np.int64)
        offer_row[order] = np.arange(first, first + split)
        for i, (slot, *_) in enumerate(new_offers):  # each record lists its offers in its profile's order
            row = int(offer_row[i])
            links = offer_links[row - first]
            rec = fresh[self.ent_id[slot]]
            rec.offer_rows.append(row)
            linked[self.ent_id[slot]].update(links.head_nodes())
            for lk in links.head:
                if self.links.makes(links, lk.node_id):
                    node = pos[lk.node_id]
                    rec.made[node] = max(rec.made.get(node, 0.0), lk.confidence)
        for (slot, *_), row, links in zip(new_needs, range(len(self.needs) - len(new_needs), len(self.needs)),
                                          need_links, strict=True):
            rec = fresh[self.ent_id[slot]]
            rec.need_rows.append(row)
            linked[self.ent_id[slot]].update(links.head_nodes())
            rec.need_heads = (*rec.need_heads, *(pos[lk.node_id] for lk in links.head))
        self.ent_alive.extend(np.ones(len(enterprises), dtype=np.bool_))  # last: readers see complete rows
        self.records.update(fresh)
        return {eid: frozenset(nodes) for eid, nodes in linked.items()}

    def _by_node(self, links: list[ItemLinks]) -> np.ndarray:
        """A batch's offers in the order of their strongest head node (unlinked first, stable otherwise).

        A query walks a few nodes' postings and gathers the columns of the offers it keeps; offers of one
        node on neighbouring rows share cache lines and pages. At 1M firms (built in 50k-firm chunks) this
        halved the cost of gathering a query's candidates (see benchmarks/README.md)."""
        pos = self.relations.pos
        primary = np.array([min(((-lk.confidence, pos[lk.node_id]) for lk in lks.head), default=(0.0, -1))[1]
                            for lks in links], dtype=np.int64)
        return np.argsort(primary, kind="stable")

    def _append_items(
        self, cols: ItemColumns, items: list[_Item], links: list[ItemLinks], vectors: sp.csr_matrix,
        retrieval: sp.csr_matrix | None = None,
    ) -> list[ItemLinks]:
        is_need = cols is self.needs
        pos = self.relations.pos
        heads = [[(pos[lk.node_id], lk.confidence) for lk in lks.head] for lks in links]
        uses = [[(pos[lk.node_id], lk.confidence) for lk in lks.use] for lks in links]
        fors = [[(pos[u], 1.0) for u in self.links.equipment_uses(lks)] for lks in links]
        hn, hc = padded(heads, HEAD_WIDTH)
        un, uc = padded(uses, USE_WIDTH)
        fn, _ = padded(fors, FOR_WIDTH)
        qty: list[float] = []
        dims: list[int] = []
        units: list[str | None] = []
        required = [it[5] for it in items]
        for *_, q, _ in items:
            units.append(q.unit if q is not None else None)
            base = to_base(q.value, q.unit) if q is not None and q.value is not None else None
            qty.append(np.nan if base is None else base[0])
            dims.append(-1 if base is None else self.unit_dims.setdefault(base[1], len(self.unit_dims)))
        if retrieval is None:
            retrieval = self._retrieval_rows(vectors)
        n = len(items)
        slots = np.array([s for s, *_ in items], dtype=np.int32)
        cols.ent.extend(slots)
        cols.code.extend(self.ent_code.view[slots].astype(np.int32))  # the slots' columns exist by now
        cols.standing.extend(self.ent_standing.view[slots])
        cols.family.extend(np.array([FAMILY_CODES.get(lk.family, 0) for lk in links], dtype=np.int8))
        cols.confident.extend(np.array([lk.confident for lk in links], dtype=np.bool_))
        cols.head_nodes.extend(hn)
        cols.head_conf.extend(hc)
        cols.use_nodes.extend(un)
        cols.use_conf.extend(uc)
        cols.for_nodes.extend(fn)
        cols.qty.extend(np.array(qty, dtype=np.float64))
        cols.qty_dim.extend(np.array(dims, dtype=np.int16))
        cols.use_alone.extend(np.array([is_need and self.links.use_alone(lk) for lk in links], dtype=np.bool_))
        cols.part_of_category.extend(np.array(
            [is_need and self.links.part_of_category(it[2], lk) for it, lk in zip(items, links, strict=True)],
            dtype=np.bool_))
        cols.has_required.extend(np.array([bool(r) for r in required], dtype=np.bool_))
        cols.item_id += [it[1] for it in items]
        cols.product += [it[2] for it in items]
        cols.description += [it[3] for it in items]
        cols.unit += units
        cols.required.extend(_objects(required))
        n_nodes = self.relations.n_nodes
        cols.text.append(vectors)
        cols.retrieval.append(retrieval)
        cols.head_matrix.append(padded_to_csr(hn, hc, n_nodes))
        cols.use_matrix.append(padded_to_csr(un, uc, n_nodes))
        cols.for_matrix.append(padded_to_csr(fn, np.ones_like(fn, dtype=np.float32), n_nodes))
        cols.alive.extend(np.ones(n, dtype=np.bool_))  # last: readers see complete rows
        return links

    def compact(self) -> bool:
        """Merge appended blocks of every matrix, dropping dead rows; returns whether anything was merged."""
        with self.write_lock:  # a consistent snapshot of blocks and flags; the merge runs without the lock
            work = [(m, m.blocks, cols.alive.view.copy()) for cols in (self.offers, self.needs)
                    for m in cols.matrices()]
        merged = False
        for m, blocks, alive in work:
            merged = m.compact(alive, blocks) or merged
        return merged

    def item_links(self, cols: ItemColumns, row: int) -> ItemLinks:
        """The chain-graph links of one item, linked again (deterministic, and cached by the linker):
        a million items' link objects would cost a GB to keep for the rare lookup."""
        return self.links.link(cols.product[row], cols.description[row], is_need=cols is self.needs)

    def block_count(self) -> int:
        return max(len(self.offers.text.blocks), len(self.needs.text.blocks))

    def after_fork(self) -> None:
        """In a forked child that saves this index: new locks for those a writer or a compaction in another
        thread of the parent may have held at the fork (see :mod:`matching.forked_save`)."""
        self.write_lock = threading.Lock()
        for m in (*self.offers.matrices(), *self.needs.matrices()):
            m.after_fork()

    def _region_code(self, e: Enterprise) -> str | None:
        if e.region_code is not None:
            return e.region_code
        if e.address:
            region = self.regions.resolve_address(e.address)
            if region is not None:
                return str(region.code)
        return None

    def _priority(self, code: str | None) -> frozenset[str]:
        if code is None:
            return frozenset()
        try:
            return frozenset(self.policy.priority_chains(code))
        except (KeyError, LookupError, ValueError):
            return frozenset()


def _item_keys(enterprises: Sequence[Enterprise]) -> list[ItemKey]:
    """The item keys :meth:`ItemIndex._add` works for ``enterprises``: every offer, then every need."""
    return ([(o.product, o.description, False) for e in enterprises for o in e.offers]
            + [(n.product, n.description, True) for e in enterprises for n in e.needs])  # fmt: skip


def _masked(m: sp.csr_matrix, keep: np.ndarray) -> sp.csr_matrix:
    """``m`` with only the entries ``keep`` (a mask over ``m.data``)."""
    out = sp.csr_matrix((m.data * keep, m.indices.copy(), m.indptr.copy()), shape=m.shape, dtype=np.float32)
    out.eliminate_zeros()
    return out


def _objects(values: Sequence[frozenset[str]]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out
