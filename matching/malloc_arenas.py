"""Capping glibc's malloc arenas in a server process (``mallopt(M_ARENA_MAX, n)``).

glibc gives each new thread its own arena, up to eight per core. A worker's request threads then each keep
freed memory in their own arena, where no other thread reuses it, and the worker's RSS climbs with the
threads it has run. At 1M firms, a 150 s soak (8 clients, 30 % writes) grew RSS by 386 MiB in its first minute
with glibc's default and by 170 MiB with two arenas (benchmarks/README.md); this is what
``MALLOC_ARENA_MAX=2`` does, set from inside the process so that every way of starting the service gets it.
"""

from __future__ import annotations

import ctypes
import logging

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # glibc's malloc.h


def limit_malloc_arenas(arenas: int) -> bool:
    """Cap the arenas threads created from now on may use; ``0`` leaves glibc's default. Returns whether the
    cap was set (``False`` off glibc, e.g. on musl or macOS, where it does not apply)."""
    if arenas <= 0:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter is linked against
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    if mallopt(M_ARENA_MAX, arenas) != 1:  # glibc returns 1 on success
        log.warning("mallopt(M_ARENA_MAX, %d) failed", arenas)
        return False
    return True
