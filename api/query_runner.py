"""Where matching queries run: on the event loop, one at a time, or on a few threads of their own.

A query at 1M firms spends part of its time in compiled kernels that release the GIL (posting sums, text
cosines, the relevance rules), so a second query thread can use the second core meanwhile. More threads than
cores only make queries take turns under the GIL, so the threads are a small fixed pool, not the app's
40-thread pool that writes and imports use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread

T = TypeVar("T")


class QueryRunner:
    """Runs a query call on the event loop (``threads == 0``) or on one of ``threads`` query threads."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self._limiter: anyio.CapacityLimiter | None = None

    async def run(self, call: Callable[[], T]) -> T:
        if self.threads == 0:
            return call()
        if self._limiter is None:  # made on the serving event loop, at the first query
            self._limiter = anyio.CapacityLimiter(self.threads)
        return await anyio.to_thread.run_sync(call, limiter=self._limiter)
