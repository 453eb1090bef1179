"""Executors run blocks: ``local`` (this machine: in-process or forked worker processes) or ``ray`` (a cluster).

Each hands every block result to ``consume`` as soon as it arrives and keeps none, so the driver's memory
is bounded by what ``consume`` keeps. Results arrive in any order; the merge in :mod:`matching.runs.compute`
uses total orders only, so the executors give identical match tables (tested).
"""

from __future__ import annotations

import copyreg
import io
import multiprocessing
import pickle
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Protocol

from matching.runs.blocks import BlockContext, BlockResult, run_block

ConsumeFn = Callable[[BlockResult], None]
_CTX: BlockContext | None = None  # a worker process's context, unpickled once when the worker starts


class Executor(Protocol):
    name: str

    def map_blocks(self, ctx: BlockContext, blocks: Sequence[list[str]], consume: ConsumeFn) -> None: ...


def _init_worker(payload: bytes) -> None:
    global _CTX
    _CTX = pickle.loads(payload)


def _worker_block(buyer_ids: list[str]) -> BlockResult:
    assert _CTX is not None
    return run_block(_CTX, buyer_ids)


class LocalExecutor:
    """Blocks on this machine: in this process (``workers=1``) or in worker processes.

    Workers are spawned, not forked: forking a process whose polars / BLAS thread pools are running can
    deadlock the child. Each worker unpickles the context once.
    """

    name = "local"

    def __init__(self, workers: int = 1) -> None:
        self.workers = max(1, workers)

    def map_blocks(self, ctx: BlockContext, blocks: Sequence[list[str]], consume: ConsumeFn) -> None:
        if self.workers == 1 or len(blocks) <= 1:
            for block in blocks:
                consume(run_block(ctx, block))
            return
        with ProcessPoolExecutor(min(self.workers, len(blocks)), mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_init_worker, initargs=(dumps_context(ctx),)) as pool:
            futures = [pool.submit(_worker_block, block) for block in blocks]
            for future in as_completed(futures):
                consume(future.result())


def dumps_context(ctx: BlockContext) -> bytes:
    """Pickle a block context; the index's write locks travel as fresh locks."""
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=5)
    table: dict[Any, Any] = copyreg.dispatch_table.copy()
    table[type(threading.Lock())] = lambda _lock: (threading.Lock, ())
    pickler.dispatch_table = table
    pickler.dump(ctx)
    return buf.getvalue()


class RayExecutor:
    """Blocks on a Ray cluster (``address``), or a local Ray instance when ``address`` is ``None``.

    The context is put in the object store once; each worker actor unpickles it once and runs many blocks.
    """

    name = "ray"

    def __init__(self, address: str | None = None, workers: int = 1, *, num_cpus: int | None = None) -> None:
        self.address = address
        self.workers = max(1, workers)
        self.num_cpus = num_cpus

    def map_blocks(self, ctx: BlockContext, blocks: Sequence[list[str]], consume: ConsumeFn) -> None:
        import ray

        started = False
        if not ray.is_initialized():
            if self.address:
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
            else:
                ray.init(num_cpus=self.num_cpus or self.workers, include_dashboard=False, log_to_driver=False)
            started = True
        try:
            self._run(ray, ctx, blocks, consume)
        finally:
            if started:
                ray.shutdown()

    def _run(self, ray: Any, ctx: BlockContext, blocks: Sequence[list[str]], consume: ConsumeFn) -> None:
        payload = ray.put(dumps_context(ctx))
        worker_cls = ray.remote(num_cpus=1)(_RayWorker)
        actors = [worker_cls.remote(payload) for _ in range(min(self.workers, max(1, len(blocks))))]
        refs = [actors[i % len(actors)].run.remote(block) for i, block in enumerate(blocks)]
        pending = list(refs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            for ref in ready:
                consume(ray.get(ref))


class _RayWorker:
    def __init__(self, payload: bytes) -> None:
        self.ctx: BlockContext = pickle.loads(payload)

    def run(self, buyer_ids: list[str]) -> BlockResult:
        return run_block(self.ctx, buyer_ids)


def make_executor(name: str, *, workers: int = 1, address: str | None = None) -> Executor:
    if name == "local":
        return LocalExecutor(workers)
    if name == "ray":
        return RayExecutor(address, workers)
    raise ValueError(f"unknown executor {name!r}; use local or ray")
