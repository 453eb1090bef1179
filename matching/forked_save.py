"""Saving a live index from a forked copy of the process, so writes to the index need not wait for the save.

Writing a 1M-firm snapshot takes tens of seconds; under the index lock every write waits that long. Instead,
the lock is held only while the process forks (as Redis does for ``BGSAVE``): the child sees the index exactly
as it was at that instant, copy-on-write, writes the snapshot and exits, while the parent goes on serving and
writing. The caller waits for the child (the snapshot lock stays taken, as for a save in process).

The child runs only the save: it drops its copies of the parent's sockets first (a connection the parent
closes must not stay open in the child), renews the locks the save takes (``after_fork``), never collects
garbage (a collection would touch, and so copy, the parent's whole heap) and leaves with ``os._exit``, so that
nothing of the parent's stack (lock releases, ``atexit``) runs in it. It saves at a lower CPU priority
(``SAVE_NICENESS``): on a small machine a minute of pickling must not take a core from the requests.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import stat
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

FORK_AVAILABLE = hasattr(os, "fork") and hasattr(os, "wait4")
MESSAGE_MAX = 4096  # one write this small never fills a pipe: the child exits before the parent reads
POLL_S = 0.05
SAVE_NICENESS = 10  # added to the child's nice value; the save is background work and may take longer


class ForkedSaveError(Exception):
    """The child did not save: it failed (its message), was killed or overran its deadline."""


class CannotForkError(Exception):
    """The process could not fork (e.g. memory overcommit is off); nothing was saved or started."""


@dataclass
class ForkedSave:
    """What a forked save reports besides the snapshot's name."""

    name: str
    pause_ms: float  # how long the caller's lock was held for the fork
    child_max_rss_mb: float  # the child's peak resident size (pages shared with the parent included)


def save_forked(save: Callable[[], str], hold: contextlib.AbstractContextManager[object],
                after_fork: Callable[[], None], deadline_s: float) -> ForkedSave:
    """Run ``save`` in a child forked while ``hold`` is held (the writers' lock); return once the child is done.

    ``after_fork`` runs first in the child (renew the locks ``save`` takes: another thread of the parent may
    have held them at the fork). Raises :class:`ForkedSaveError` when the child fails, dies or runs past
    ``deadline_s`` (it is then killed), and :class:`CannotForkError` when there is no child: the caller may
    then save in process."""
    try:
        read_end, write_end = os.pipe()
    except OSError as exc:
        raise CannotForkError(f"{type(exc).__name__}: {exc}") from exc
    try:
        started = time.perf_counter()
        with hold, warnings.catch_warnings():
            # Python ≥ 3.12 warns that forking a threaded process may deadlock the child; this child takes
            # only the locks ``after_fork`` renews, and no thread of the parent runs in it.
            warnings.simplefilter("ignore", DeprecationWarning)
            try:
                pid = os.fork()
            except OSError as exc:
                raise CannotForkError(f"{type(exc).__name__}: {exc}") from exc
            if pid == 0:  # pragma: no cover - the child's lines run in another process
                _child(save, after_fork, write_end)
        pause_ms = (time.perf_counter() - started) * 1000
        os.close(write_end)
        write_end = -1
        status, max_rss_kb = _wait(pid, deadline_s)
        os.set_blocking(read_end, False)  # a child that died silently wrote nothing, and a process forked
        try:  # meanwhile by another thread may hold a copy of the write end: never wait for its EOF
            message = os.read(read_end, MESSAGE_MAX).decode(errors="replace")
        except BlockingIOError:
            message = ""
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)
    if status is None:
        raise ForkedSaveError(f"the saving process overran its {deadline_s:.0f} s and was killed")
    if os.WIFSIGNALED(status):
        raise ForkedSaveError(f"the saving process was killed by signal {os.WTERMSIG(status)}")
    if os.waitstatus_to_exitcode(status) != 0 or not message.startswith("ok "):
        raise ForkedSaveError(message.removeprefix("error ") or "the saving process failed without a word")
    return ForkedSave(message.removeprefix("ok "), round(pause_ms, 1), round(max_rss_kb / 1024, 1))


def _child(save: Callable[[], str], after_fork: Callable[[], None], write_end: int) -> None:  # pragma: no cover
    code = 1
    try:
        gc.disable()
        with contextlib.suppress(OSError):  # a nice value already at its floor is no reason not to save
            os.nice(SAVE_NICENESS)
        _close_sockets()
        after_fork()
        message = f"ok {save()}"
        code = 0
    except BaseException as exc:  # reported to the parent, never raised through the parent's stack
        message = f"error {type(exc).__name__}: {exc}"
    finally:
        with contextlib.suppress(BaseException):
            os.write(write_end, message.encode()[:MESSAGE_MAX])
        os._exit(code)


def _close_sockets() -> None:  # pragma: no cover - runs in the child
    """Close this process's copies of every socket (listening and client connections; never ``shutdown``,
    which would cut the parent's too). Without ``/proc`` (not Linux) they stay open until the child exits."""
    with contextlib.suppress(OSError):
        for entry in list(Path("/proc/self/fd").iterdir()):
            fd = int(entry.name)
            with contextlib.suppress(OSError):
                if stat.S_ISSOCK(os.fstat(fd).st_mode):
                    os.close(fd)


def _wait(pid: int, deadline_s: float) -> tuple[int | None, int]:
    """The child's wait status and peak RSS in KiB; ``None`` when it overran the deadline and was killed."""
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            done, status, usage = os.wait4(pid, os.WNOHANG)
        except ChildProcessError as exc:  # reaped by someone else: its outcome is unknown
            raise ForkedSaveError(f"the saving process was lost ({exc})") from exc
        if done:
            return status, usage.ru_maxrss
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            _, _, usage = os.wait4(pid, 0)
            return None, usage.ru_maxrss
        time.sleep(POLL_S)
