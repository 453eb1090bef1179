"""Pausing Python's cyclic garbage collector around work that allocates millions of long-lived objects."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused(*, freeze: bool = False) -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a file is parsed, profiles are stored and indexed, or an
    index is built or loaded.

    Such work allocates millions of small objects that all stay alive, and each allocation burst triggers a
    collection that walks every live object of the process (in a server: the whole index). Measured at 10k
    firms, the JSONL parse took 3 to 5 times as long with the collector running (benchmarks/import_parse.py);
    unpickling a 100k index's objects 2.7 s against 0.7 s. Reference counting still frees everything acyclic;
    the collector resumes when the work ends.

    Everything allocated meanwhile is then in the youngest generation, so the first collection after the
    pause walks all of it (about a second per 100k imported firms). With ``freeze`` it is moved out of the
    collector's reach instead (``gc.freeze``, as a server does with its index after an import anyway):
    reference counting still frees it, only cycles among it would be kept.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if freeze:
                gc.freeze()
            gc.enable()
