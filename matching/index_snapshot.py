"""Index snapshots: a built index plus the change-log position it reflects, published atomically on disk.

Layout under the snapshot root (``<data_dir>/index`` by default)::

    CURRENT             name of the published snapshot (replaced atomically)
    snap-<seq>-<token>/ one snapshot: :func:`matching.persist.save_index` files, sync.pkl, snapshot.json
    .lock               flock: one process builds or saves at a time

A snapshot is written to ``tmp-<pid>-<token>/``, fsynced, renamed to ``snap-…`` and only then named in
``CURRENT``: a reader never sees a half-written one. Loading checks the store it belongs to (a random id the
database keeps in ``store_meta``), that its sequence is not ahead of the store, the code and seed files it
was built with, the persist fingerprint (graph, parameters, format) and every file's size.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import pickle
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from matching.chains import ChainGraph, default_seeds_dir
from matching.collector import collector_paused
from matching.durable import fsync_path
from matching.regions import RegionRegistry

if TYPE_CHECKING:
    from matching.engine import MatchEngine

log = logging.getLogger("chainmatch.service")

SNAPSHOT_FORMAT = 1
POINTER = "CURRENT"
META = "snapshot.json"
SYNC = "sync.pkl"


class SnapshotMismatchError(Exception):
    """A well-formed snapshot that does not fit this store, code or configuration (rebuild, no warning)."""


@dataclass
class SyncSnapshot:
    """What :class:`matching.index_sync.IndexSync` keeps besides the engine."""

    seq: int
    applied: dict[str, int]
    chains_of: dict[str, frozenset[str]]


@dataclass
class LoadedSnapshot:
    engine: MatchEngine
    state: SyncSnapshot
    name: str


def build_identity(seeds_dir: Path | None) -> str:
    """A hash of what an index depends on besides the graph and parameters (which persist checks): this
    package's source, the region and policy seed files, and the ``cpca`` version. Any change rebuilds."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    seeds = seeds_dir or default_seeds_dir()
    files = sorted(package.rglob("*.py"))
    files += [seeds / "regions.yaml", *sorted((seeds / "policy").rglob("*"))]
    for file in files:
        if file.is_file():
            digest.update(file.name.encode())
            digest.update(file.read_bytes())
    with contextlib.suppress(metadata.PackageNotFoundError):
        digest.update(metadata.version("cpca").encode())
    return digest.hexdigest()


class SnapshotStore:
    """The snapshots of one store under ``root``; ``store_id`` and ``identity`` must match to load one.
    ``freeze``: a loaded snapshot's objects are moved out of the garbage collector's reach (a server's
    ``gc_freeze``; see :func:`matching.collector.collector_paused`)."""

    def __init__(self, root: Path, store_id: str, identity: str, *, freeze: bool = False) -> None:
        self.root = root
        self.store_id = store_id
        self.identity = identity
        self.freeze = freeze

    # -- locking and naming -------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, *, blocking: bool = True) -> Iterator[bool]:
        """An exclusive lock across processes; yields whether it was taken (always, when blocking).

        A directory that cannot be created or opened yields ``True`` unlocked: nothing can be saved there
        anyway (the save fails with a warning), and the service must still build and serve."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fh = (self.root / ".lock").open("a")
        except OSError as exc:
            log.warning("index snapshot directory unusable (%s: %s)", type(exc).__name__, exc)
            yield True
            return
        with fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def current(self) -> str | None:
        """Name of the published snapshot, if any."""
        try:
            name = (self.root / POINTER).read_text().strip()
        except OSError:  # none yet, or an unusable directory (reported by :meth:`lock`)
            return None
        return name or None

    def current_seq(self) -> int | None:
        """Sequence of the published snapshot (``None`` if none or unreadable)."""
        name = self.current()
        if name is None:
            return None
        try:
            return int(json.loads((self.root / name / META).read_text())["seq"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    # -- saving -------------------------------------------------------------------------------------
    def save(self, engine: MatchEngine, state: SyncSnapshot) -> str:
        """Write and publish a snapshot; the caller holds :meth:`lock` and keeps ``engine`` and ``state`` still.

        Returns the snapshot's name. Older snapshots but the previous one are removed (a process may still be
        opening the previous one; mapped files stay readable after removal anyway)."""
        self.root.mkdir(parents=True, exist_ok=True)
        token = secrets.token_hex(4)
        tmp = self.root / f"tmp-{os.getpid()}-{token}"
        try:
            engine.save(tmp)
            chain_sets: dict[frozenset[str], int] = {}
            chains = {eid: chain_sets.setdefault(c, len(chain_sets)) for eid, c in state.chains_of.items()}
            with (tmp / SYNC).open("wb") as f:
                pickle.dump({"applied": state.applied, "chain_sets": [sorted(c) for c in chain_sets],
                             "chains_of": chains}, f, protocol=pickle.HIGHEST_PROTOCOL)
            sizes = {p.name: p.stat().st_size for p in sorted(tmp.iterdir())}
            meta = {"format": SNAPSHOT_FORMAT, "store_id": self.store_id, "identity": self.identity,
                    "seq": state.seq, "enterprises": len(engine), "created_at": time.time(), "files": sizes}
            (tmp / META).write_text(json.dumps(meta, indent=2))
            for file in tmp.iterdir():
                fsync_path(file)
            fsync_path(tmp)
            name = f"snap-{state.seq}-{token}"
            tmp.rename(self.root / name)
            previous = self.current()
            pointer = self.root / f"{POINTER}.{os.getpid()}-{token}"
            pointer.write_text(name)
            fsync_path(pointer)
            pointer.replace(self.root / POINTER)
            fsync_path(self.root)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self._prune(keep={name, previous})
        return name

    def _prune(self, keep: set[str | None]) -> None:
        for path in self.root.iterdir():
            stale = path.name.startswith(("snap-", "tmp-")) and path.name not in keep
            if stale and path.is_dir():  # tmp dirs of other processes are dead: savers hold the lock
                shutil.rmtree(path, ignore_errors=True)

    # -- loading ------------------------------------------------------------------------------------
    def load(self, graph: ChainGraph, regions: RegionRegistry, policy: object, store_seq: int,
             name: str) -> LoadedSnapshot:
        """Load snapshot ``name`` memory-mapped. Raises :class:`SnapshotMismatchError` when it belongs elsewhere,
        any other exception when it is damaged."""
        from matching.engine import MatchEngine
        from matching.errors import InvalidInputError

        path = self.root / name
        meta = json.loads((path / META).read_text())
        if meta.get("format") != SNAPSHOT_FORMAT:
            raise SnapshotMismatchError(f"snapshot format {meta.get('format')} is not {SNAPSHOT_FORMAT}")
        if meta.get("store_id") != self.store_id:
            raise SnapshotMismatchError("snapshot belongs to another database")
        if int(meta["seq"]) > store_seq:
            raise SnapshotMismatchError(f"snapshot seq {meta['seq']} is ahead of the store's {store_seq}")
        if meta.get("identity") != self.identity:
            raise SnapshotMismatchError("snapshot was built by other code or other region/policy seeds")
        for file, size in meta["files"].items():
            actual = (path / file).stat().st_size
            if actual != size:
                raise ValueError(f"{file} has {actual} bytes, {size} expected (truncated?)")
        with collector_paused(freeze=self.freeze):  # unpickling: millions of objects that all stay alive
            try:
                engine = MatchEngine.load(path, graph, regions, policy)  # type: ignore[arg-type]
            except InvalidInputError as exc:  # fingerprint: another graph or other parameters
                raise SnapshotMismatchError(str(exc)) from None
            with (path / SYNC).open("rb") as f:
                sync = pickle.load(f)
        sets = [frozenset(c) for c in sync["chain_sets"]]
        state = SyncSnapshot(seq=int(meta["seq"]), applied=sync["applied"],
                             chains_of={eid: sets[i] for eid, i in sync["chains_of"].items()})
        if len(engine) != meta["enterprises"] or len(state.chains_of) != len(engine):
            raise ValueError(f"snapshot holds {len(engine)} enterprises, its manifest {meta['enterprises']}")
        return LoadedSnapshot(engine, state, name)
