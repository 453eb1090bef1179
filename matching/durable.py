"""Durable writes: flush a file, or a directory after a rename in it, to disk; write a large file in trickles."""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

FLUSH_EVERY = 64 << 20
"""Bytes a :class:`TrickleWriter` lets pile up in the page cache before it waits for them to reach the disk."""


def fsync_path(path: Path) -> None:
    """``fsync`` a file or a directory (a directory's entry list, so a rename into it survives a crash)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class TrickleWriter:
    """A new binary file that ``fdatasync``s every ``every`` bytes written and on close.

    Written at once, a 4 GB index snapshot sits dirty in the page cache until the kernel flushes it in one
    flood, and every other process's ``fsync`` meanwhile (the server's SQLite checkpoints) waits behind it.
    Flushed in trickles, no more than ``every`` bytes wait ahead of anyone (PostgreSQL's ``*_flush_after``).
    """

    def __init__(self, path: Path, every: int = FLUSH_EVERY) -> None:
        self._file = path.open("wb")
        self._every = every
        self._pending = 0
        self.flushes = 0  # how many times it waited for the disk (tests read it)

    def write(self, data: bytes | bytearray | memoryview) -> int:
        written = self._file.write(data)
        self._pending += written
        if self._pending >= self._every:
            self._sync()
        return written

    def _sync(self) -> None:
        self._file.flush()
        os.fdatasync(self._file.fileno())
        self._pending = 0
        self.flushes += 1

    def close(self) -> None:
        if not self._file.closed:
            try:
                self._sync()
            finally:
                self._file.close()

    def __enter__(self) -> TrickleWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if kind is None:
            self.close()
        else:
            self._file.close()  # a failed write is not worth waiting for
