"""Save a built index to a directory and load it back memory-mapped, so a restart skips the rebuild.

Arrays and the sparse matrices' ``data`` / ``indices`` / ``indptr`` are ``.npy`` files. The matrices, the bulk
of an index, are opened with ``mmap_mode="c"`` (copy-on-write; processes that load the same files share their
pages); the per-row columns are read into memory with room to grow, since every write appends to them.
Profiles, ids, links and the fitted text model are one pickle. A manifest holds the
format version and a fingerprint of the graph and the parameters; loading refuses a mismatch.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from matching.columns import Growable, RowBlocks
from matching.durable import TrickleWriter
from matching.errors import InvalidInputError
from matching.item_columns import ItemColumns
from matching.item_index import ItemIndex
from matching.item_links import ProductLinker
from matching.params import MatchParams
from matching.relation_matrix import RelationMatrix
from matching.scoring import PolicyLookup, RegionLookup

FORMAT = 3  # 3: champion-list floors for text retrieval (2: hashed text model, profiles as JSON)
_ENT_ARRAYS = ("ent_alive", "ent_code", "ent_lat", "ent_lon", "ent_circle", "ent_standing", "ent_priority")
_ITEM_ARRAYS = ("ent", "alive", "family", "confident", "head_nodes", "head_conf", "use_nodes", "use_conf",
                "for_nodes", "qty", "qty_dim", "use_alone", "part_of_category", "has_required")
_ITEM_LISTS = ("item_id", "product", "description", "unit")
_MATRICES = ("text", "retrieval", "head_matrix", "use_matrix", "for_matrix")
_FILLS = {"ent_alive": False, "ent_code": -1, "ent_lat": np.nan, "ent_lon": np.nan, "alive": False,
          "head_nodes": -1, "use_nodes": -1, "for_nodes": -1, "qty": np.nan, "qty_dim": -1}


def fingerprint(relations: RelationMatrix, params: MatchParams) -> str:
    """What a saved index depends on besides the profiles: the graph's nodes and edges and the parameters."""
    graph = relations.graph
    payload = json.dumps({
        "nodes": relations.node_ids,
        "is_a": {n: sorted(graph.parents.get(n, ())) for n in relations.node_ids},
        "inputs": {n: sorted(graph.inputs.get(n, ())) for n in relations.node_ids},
        "terms": {n: sorted(graph.nodes[n].terms()) for n in relations.node_ids},
        "params": params.model_dump(),
    }, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def _save_array(path: Path, array: np.ndarray) -> None:
    """``np.save`` in trickles (:class:`~matching.durable.TrickleWriter`): numpy writes a non-file object in
    16 MB chunks."""
    with TrickleWriter(path) as f:
        np.save(f, array)


def save_index(index: ItemIndex, path: Path) -> None:
    """Write ``index`` under ``path`` (created; existing files are replaced)."""
    path.mkdir(parents=True, exist_ok=True)
    with index.write_lock:
        for name in _ENT_ARRAYS:
            _save_array(path / f"{name}.npy", getattr(index, name).view)
        for kind in ("offers", "needs"):
            cols: ItemColumns = getattr(index, kind)
            for name in _ITEM_ARRAYS:
                _save_array(path / f"{kind}.{name}.npy", getattr(cols, name).view)
            for name in _MATRICES:
                blocks: RowBlocks = getattr(cols, name)
                matrix = sp.vstack([m for _, m, _ in blocks.blocks], format="csr") if blocks.blocks else \
                    sp.csr_matrix((0, blocks.n_features), dtype=blocks.dtype)
                transposed = matrix.T.tocsr() if blocks.keep_transposed else sp.csr_matrix((0, 0), dtype=blocks.dtype)
                for suffix, m in (("", matrix), (".t", transposed)):
                    for part in ("data", "indices", "indptr"):
                        _save_array(path / f"{kind}.{name}{suffix}.{part}.npy", getattr(m, part))
                (path / f"{kind}.{name}.shape.json").write_text(
                    json.dumps({"shape": list(matrix.shape), "transposed": blocks.keep_transposed}))
        objects: dict[str, Any] = {
            "ent_id": index.ent_id, "ent_name": index.ent_name, "ent_region": index.ent_region,
            "ent_certs": list(index.ent_certs.view), "records": index.records, "text": index.text,
            "retrieval_floor": index.retrieval_floor, "dims": index.unit_dims,
            **{f"{kind}.{name}": getattr(getattr(index, kind), name) for kind in ("offers", "needs")
               for name in _ITEM_LISTS},
            **{f"{kind}.required": list(getattr(index, kind).required.view) for kind in ("offers", "needs")},
        }
        with TrickleWriter(path / "objects.pkl") as f:
            pickle.dump(objects, f, protocol=pickle.HIGHEST_PROTOCOL)
        manifest = {"format": FORMAT, "fingerprint": fingerprint(index.relations, index.params),
                    "enterprises": len(index.records), "offers": len(index.offers), "needs": len(index.needs)}
        (path / "manifest.json").write_text(json.dumps(manifest, indent=2))


def load_index(path: Path, relations: RelationMatrix, regions: RegionLookup, policy: PolicyLookup,
               params: MatchParams) -> ItemIndex:
    """Load an index saved by :func:`save_index`; raises :class:`InvalidInputError` on a mismatch."""
    manifest_file = path / "manifest.json"
    if not manifest_file.is_file():
        raise InvalidInputError(f"no saved index at {path}")
    manifest = json.loads(manifest_file.read_text())
    if manifest.get("format") != FORMAT:
        raise InvalidInputError(f"saved index format {manifest.get('format')} is not {FORMAT}")
    if manifest.get("fingerprint") != fingerprint(relations, params):
        raise InvalidInputError("saved index was built with another chain graph or other parameters")
    index = ItemIndex(relations, regions, policy, params)
    with (path / "objects.pkl").open("rb") as f:
        objects = pickle.load(f)
    index.text = objects["text"]
    index.linker.fit_text(index.text)
    index.links = ProductLinker(index.linker, params)
    index.retrieval_floor = objects["retrieval_floor"]
    index.unit_dims = objects["dims"]
    index.records = objects["records"]
    index.ent_id, index.ent_name, index.ent_region = objects["ent_id"], objects["ent_name"], objects["ent_region"]
    index.ent_certs = Growable.with_room(_objects(objects["ent_certs"]), fill=None)
    for name in _ENT_ARRAYS:
        setattr(index, name, _column(path / f"{name}.npy", _FILLS.get(name, 0)))
    for kind in ("offers", "needs"):
        cols: ItemColumns = getattr(index, kind)
        for name in _ITEM_ARRAYS:
            setattr(cols, name, _column(path / f"{kind}.{name}.npy", _FILLS.get(name, 0)))
        for name in _ITEM_LISTS:
            setattr(cols, name, objects[f"{kind}.{name}"])
        cols.required = Growable.with_room(_objects(objects[f"{kind}.required"]), fill=None)
        slots = cols.ent.view  # the per-item party copies are derived, not saved (see ItemColumns)
        cols.code = Growable.with_room(index.ent_code.view[slots].astype(np.int32), fill=-1)
        cols.standing = Growable.with_room(index.ent_standing.view[slots], fill=0)
        for name in _MATRICES:
            meta = json.loads((path / f"{kind}.{name}.shape.json").read_text())
            shape = tuple(meta["shape"])
            m = _csr(path, f"{kind}.{name}", shape)
            mt = _csr(path, f"{kind}.{name}.t", (shape[1], shape[0]) if meta["transposed"] else (0, 0))
            setattr(cols, name, RowBlocks.wrap(m, mt, keep_transposed=bool(meta["transposed"])))
    return index


def _column(file: Path, fill: Any) -> Growable:
    # Mapped read-only and copied once into the growable array (np.load without a map would copy twice).
    return Growable.with_room(np.load(file, mmap_mode="r", allow_pickle=False), fill)


def _mmap(file: Path) -> np.ndarray:
    """The array memory-mapped copy-on-write and its pages mapped in now (see :func:`_populate`), as a plain
    ndarray view: ``np.memmap``'s Python-level ``__getitem__`` costs more than the gathers of a query."""
    array = np.load(file, mmap_mode="c", allow_pickle=False)
    if isinstance(array, np.memmap) and array.nbytes:
        _populate(array)
    plain: np.ndarray = array.view(np.ndarray)
    return plain


MADV_POPULATE_READ = 22  # Linux ≥ 5.14; Python's mmap module does not name it


def _populate(array: np.memmap) -> None:
    """Map every page of ``array`` in at load time, read-only (shared page cache, no private copy), so the
    first queries pay no page faults and a server's RSS does not creep up as queries touch its columns."""
    region = getattr(array, "_mmap", None)
    try:
        if region is None:
            raise OSError
        region.madvise(MADV_POPULATE_READ)
    except (OSError, ValueError):  # another OS or an older kernel: read one byte per page instead
        flat = array.reshape(-1).view(np.uint8)
        int(flat[:: mmap.PAGESIZE].max())


def _csr(path: Path, stem: str, shape: tuple[int, ...]) -> sp.csr_matrix:
    parts = [_mmap(path / f"{stem}.{p}.npy") for p in ("data", "indices", "indptr")]
    return sp.csr_matrix(tuple(parts), shape=shape, copy=False)


def _objects(values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out
