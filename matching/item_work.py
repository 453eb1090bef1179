"""The per-item work of a large index batch (chain-graph links, TF-IDF rows), split across forked processes.

Both are pure functions of an item's product and description (the caches only remember results), so a batch
can be cut into contiguous parts, worked on at once and joined back in order: the result equals the serial
one, row for row. The calling process works on the first part itself; every other part goes to a process
forked from it, which shares the linker, the text model and their caches copy-on-write (nothing is pickled on
the way in; links and rows come back pickled). Without ``fork``, for a small batch, or when a process fails,
the batch is worked serially.

A bulk import starts the work early (:meth:`ItemWorker.start`): ``processes`` forked processes link and
vectorise its items, a chunk at a time, while this process writes the store and prepares the other columns;
:meth:`StartedWork.collect` then takes their results. The cores stay busy without this process taking chunks.
"""

from __future__ import annotations

import gc
import itertools
import logging
import multiprocessing
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import scipy.sparse as sp

from matching.item_links import ProductLinker
from matching.linking import ItemLinks
from matching.text import TextModel, item_text

log = logging.getLogger("chainmatch.index")
ItemKey = tuple[str, "str | None", bool]
"""``(product, description, is_need)`` of one offer or need."""
_T = TypeVar("_T")
PARALLEL_MIN_ITEMS = 20_000  # below this a process costs more than it saves
CHUNKS_PER_PROCESS = 12  # chunks of work started early, per process (small chunks keep the processes level)
CHILD_GRACE_S = 120.0
CHILD_S_PER_ITEM = 0.005
"""A forked process that has not returned its part within ``CHILD_GRACE_S + CHILD_S_PER_ITEM × items`` (about
25 times the measured 0.2 ms per item) is taken as hung (e.g. a lock another thread held at the fork): it is
killed and the batch is worked serially, so an import never waits for ever."""


@dataclass(frozen=True)
class Worked:
    """Links of each item, and their text rows (``None`` when not asked for), in the order given; from a
    forked process also the linker cache entries it made (the parent absorbs them: looking an item's links
    up again later, e.g. for the chains of its firm, must not link it again)."""

    links: list[ItemLinks]
    vectors: sp.csr_matrix | None
    cache: list[tuple[tuple[str, str], ItemLinks]] = field(default_factory=list)


class ItemWorker:
    """Links and vectorises items with up to ``processes`` processes (``1``: in this one only)."""

    def __init__(self, links: ProductLinker, text: TextModel, processes: int = 1) -> None:
        self.links = links
        self.text = text
        self.processes = processes

    def work(self, items: Sequence[ItemKey], *, vectors: bool = True) -> Worked:
        parts = self.processes if len(items) >= PARALLEL_MIN_ITEMS else 1
        if parts <= 1 or "fork" not in multiprocessing.get_all_start_methods():
            return self.serial(items, vectors=vectors)
        step = -(-len(items) // parts)
        bounds = [(lo, min(lo + step, len(items))) for lo in range(0, len(items), step)]
        global _FORKED
        with _FORK_LOCK:  # one parallel batch at a time: the children read their work from the global
            _FORKED = (self, items, vectors)
            pool: ProcessPoolExecutor | None = None
            try:
                pool = ProcessPoolExecutor(len(bounds) - 1, mp_context=multiprocessing.get_context("fork"))
                deadline = _deadline(len(items))
                futures = [pool.submit(_work_forked, lo, hi) for lo, hi in bounds[1:]]
                done = [self.serial(items[bounds[0][0] : bounds[0][1]], vectors=vectors)]
                done += _results(futures, deadline)
                pool.shutdown(wait=True)
            except (BrokenProcessPool, OSError, FutureTimeout) as exc:
                log.warning("parallel indexing failed (%s: %s); working serially", type(exc).__name__, exc)
                _kill(pool)
                return self.serial(items, vectors=vectors)
            except BaseException:
                _kill(pool)
                raise
            finally:
                _FORKED = None
        for part in done[1:]:
            self.links.absorb(part.cache)
        links = [lk for part in done for lk in part.links]
        if not vectors:
            return Worked(links, None)
        return Worked(links, sp.csr_matrix(sp.vstack([p.vectors for p in done], format="csr")))

    def start(self, items: Sequence[ItemKey]) -> StartedWork | None:
        """Start linking and vectorising ``items`` in ``processes`` forked processes, a chunk at a time, for a
        batch to be applied later (``None`` when :meth:`work` would work serially). Close the result (or
        :meth:`StartedWork.collect` it): until then the processes run."""
        forks = "fork" in multiprocessing.get_all_start_methods()
        if self.processes <= 1 or len(items) < PARALLEL_MIN_ITEMS or not forks:
            return None
        step = max(1, -(-len(items) // (self.processes * CHUNKS_PER_PROCESS)))
        bounds = [(lo, min(lo + step, len(items))) for lo in range(0, len(items), step)]
        global _FORKED
        with _FORK_LOCK:  # the processes are forked by the first submit and keep their copy of the global
            _FORKED = (self, items, True)
            try:
                pool = ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("fork"))
                futures = [pool.submit(_work_forked, lo, hi) for lo, hi in bounds]
            except OSError as exc:
                log.warning("could not start the parallel indexing (%s: %s)", type(exc).__name__, exc)
                return None
            finally:
                _FORKED = None
        return StartedWork(self, items, pool, futures, _deadline(len(items)))

    def serial(self, items: Sequence[ItemKey], *, vectors: bool = True) -> Worked:
        links = [self.links.link(product, description, is_need=is_need) for product, description, is_need in items]
        if not vectors:
            return Worked(links, None)
        rows = self.text.transform([item_text(product, description) for product, description, _ in items])
        return Worked(links, rows.astype(np.float32))


class StartedWork:
    """Chunks of :meth:`ItemWorker.start`, worked (or waiting) in forked processes."""

    def __init__(self, worker: ItemWorker, items: Sequence[ItemKey], pool: ProcessPoolExecutor,
                 futures: list[Future[Worked]], deadline: float) -> None:  # fmt: skip
        self.worker = worker
        self.items = items
        self._pool = pool
        self._futures = futures
        self._deadline = deadline  # time.monotonic() by which every chunk must be back

    def close(self) -> None:
        """Drop the chunks not begun (nothing was collected); the processes exit after their current one."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def collect(self, items: Sequence[ItemKey]) -> Worked:
        """Links and text rows of ``items`` (any keys, in any order), equal to ``serial(items)``: taken from
        the chunks once every process has finished; keys that were not started are worked here. A failed
        process makes this process work everything serially."""
        try:
            parts = _results(self._futures, self._deadline)
        except (BrokenProcessPool, OSError, FutureTimeout) as exc:
            log.warning("parallel indexing failed (%s: %s); working serially", type(exc).__name__, exc)
            _kill(self._pool)
            return self.worker.serial(items)
        self._pool.shutdown(wait=True)  # every chunk is done: the processes exit at once
        for part in parts:
            self.worker.links.absorb(part.cache)
        links = [lk for part in parts for lk in part.links]
        vectors = sp.csr_matrix(sp.vstack([p.vectors for p in parts], format="csr"))
        if len(items) == len(self.items) and all(a == b for a, b in zip(items, self.items, strict=True)):
            return Worked(links, vectors)
        at: dict[ItemKey, int] = {}
        for i, key in enumerate(self.items):
            at.setdefault(key, i)
        missing = list(dict.fromkeys(key for key in items if key not in at))
        if missing:
            extra = self.worker.serial(missing)
            assert extra.vectors is not None
            for i, key in enumerate(missing, start=len(self.items)):
                at[key] = i
            links += extra.links
            vectors = sp.csr_matrix(sp.vstack([vectors, extra.vectors], format="csr"))
        rows = np.array([at[key] for key in items], dtype=np.int64)
        return Worked([links[i] for i in rows], sp.csr_matrix(vectors[rows]))


def _deadline(items: int) -> float:
    return time.monotonic() + CHILD_GRACE_S + CHILD_S_PER_ITEM * items


def _results(futures: list[Future[_T]], deadline: float) -> list[_T]:
    """Every future's result, or ``TimeoutError`` once ``deadline`` (``time.monotonic()``) has passed."""
    return [f.result(timeout=max(0.0, deadline - time.monotonic())) for f in futures]


def _kill(pool: ProcessPoolExecutor | None) -> None:
    """Stop a pool whose processes may hang: cancel what has not begun and terminate the processes (the
    executor has no public way to stop a running one)."""
    if pool is None:
        return
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()


Counts = tuple[sp.csr_matrix, sp.csr_matrix]
"""Raw hashed ``(word, char)`` term counts of a chunk of texts (:meth:`TextModel.counts`)."""


def count_chunks(text: TextModel, chunks: Callable[[], Iterable[list[str]]], processes: int) -> list[Counts]:
    """``text.counts`` of every chunk of ``chunks()``, in order: counted by ``processes`` forked processes
    while this one reads the next chunks (a build's first pass: segmenting every item text is its largest
    single-process cost). Counting is a pure function of the texts, so the result equals the serial one; a
    failed or hung process makes this one count everything again, serially. At most ``2 × processes``
    chunks wait at a time."""
    if processes <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [text.counts(texts) for texts in chunks()]
    read = iter(chunks())
    first = next(read, None)
    second = None if first is None else next(read, None)
    if first is None or second is None:  # one chunk: nothing to count beside it
        return [] if first is None else [text.counts(first)]
    global _COUNTING
    with _FORK_LOCK:
        _COUNTING = text
        pool: ProcessPoolExecutor | None = None
        try:
            pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork"),
                                       initializer=gc.disable)  # see _work_forked  # fmt: skip
            waiting: list[tuple[Future[Counts], float]] = []
            done: list[Counts] = []
            for texts in itertools.chain((first, second), read):
                if len(waiting) >= 2 * processes:
                    future, deadline = waiting.pop(0)
                    done += _results([future], deadline)
                waiting.append((pool.submit(_count_forked, texts), _deadline(len(texts))))
            for future, deadline in waiting:
                done += _results([future], deadline)
            pool.shutdown(wait=True)
            return done
        except (BrokenProcessPool, OSError, FutureTimeout) as exc:
            log.warning("parallel counting failed (%s: %s); counting serially", type(exc).__name__, exc)
            _kill(pool)
            close = getattr(read, "close", None)
            if close is not None:  # a store reader's page generator: finish it before reading again
                close()
            return [text.counts(texts) for texts in chunks()]
        except BaseException:
            _kill(pool)
            raise
        finally:
            _COUNTING = None


def _count_forked(texts: list[str]) -> Counts:
    assert _COUNTING is not None, "not forked from count_chunks"
    return _COUNTING.counts(texts)


_COUNTING: TextModel | None = None
_FORKED: tuple[ItemWorker, Sequence[ItemKey], bool] | None = None
_FORK_LOCK = threading.Lock()


def _work_forked(lo: int, hi: int) -> Worked:
    """In a forked process: the work of ``items[lo:hi]`` of the batch the parent set up before forking."""
    assert _FORKED is not None, "not forked from ItemWorker.work"
    worker, items, vectors = _FORKED
    gc.disable()  # a collection would walk (and so copy) every object of the parent's heap; this process is brief
    worker.links.after_fork()
    done = worker.serial(items[lo:hi], vectors=vectors)
    return Worked(done.links, done.vectors, worker.links.fresh_entries())
