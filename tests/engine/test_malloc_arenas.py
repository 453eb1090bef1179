"""The malloc arena cap: threads started after it share at most that many glibc arenas."""

from __future__ import annotations

import ctypes.util
import subprocess
import sys

import pytest

from matching.malloc_arenas import limit_malloc_arenas

# Starts 12 threads that each allocate and hold 64 KiB blocks (glibc malloc, not Python's small-object
# allocator) at the same time, then counts the arenas glibc reports with malloc_info().
PROBE = r"""
import ctypes, ctypes.util, os, re, sys, tempfile, threading
from matching.malloc_arenas import limit_malloc_arenas
limit_malloc_arenas(int(sys.argv[1]))
started, release = threading.Barrier(13), threading.Event()
def hold():
    blocks = [bytearray(65536) for _ in range(8)]
    started.wait()
    release.wait()
threads = [threading.Thread(target=hold) for _ in range(12)]
for t in threads:
    t.start()
started.wait()
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.fdopen.restype = ctypes.c_void_p
with tempfile.TemporaryFile() as f:
    stream = libc.fdopen(os.dup(f.fileno()), b"w")
    libc.malloc_info(0, ctypes.c_void_p(stream))
    libc.fclose(ctypes.c_void_p(stream))
    f.seek(0)
    print(len(re.findall(rb'<heap nr="', f.read())))
release.set()
"""

glibc = pytest.mark.skipif(not sys.platform.startswith("linux") or ctypes.util.find_library("c") is None,
                           reason="mallopt and malloc_info are glibc's")


def _arenas_with(cap: int) -> int:
    out = subprocess.run([sys.executable, "-c", PROBE, str(cap)], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1])


@glibc
def test_threads_share_the_capped_arenas() -> None:
    assert _arenas_with(2) <= 2
    assert _arenas_with(0) > 2  # glibc's default: a thread gets an arena of its own (the cap is what limits)


def test_zero_leaves_the_default() -> None:
    assert limit_malloc_arenas(0) is False
