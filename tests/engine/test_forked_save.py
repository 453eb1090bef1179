"""``save_forked``: the save runs in a child, its name or its failure comes back, the caller's lock is held
only for the fork, and a child that dies silently is reported at once even if another process holds the pipe."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from matching.forked_save import SAVE_NICENESS, ForkedSaveError, save_forked


@contextlib.contextmanager
def _held(lock: threading.Lock) -> Iterator[None]:
    with lock:
        yield


def _nothing() -> None:
    return None


def test_the_save_runs_in_a_child_and_its_name_comes_back(tmp_path: Path) -> None:
    def save() -> str:
        (tmp_path / "pid").write_text(str(os.getpid()))
        return "snap-7-abc"

    done = save_forked(save, _held(threading.Lock()), _nothing, deadline_s=30)
    assert done.name == "snap-7-abc"
    assert int((tmp_path / "pid").read_text()) != os.getpid()
    assert done.pause_ms >= 0 and done.child_max_rss_mb > 0


def test_the_child_saves_at_a_lower_cpu_priority_and_the_parent_keeps_its_own() -> None:
    parent = os.getpriority(os.PRIO_PROCESS, 0)

    def save() -> str:
        return str(os.getpriority(os.PRIO_PROCESS, 0))

    done = save_forked(save, _held(threading.Lock()), _nothing, deadline_s=30)
    assert int(done.name) == min(parent + SAVE_NICENESS, 19)
    assert os.getpriority(os.PRIO_PROCESS, 0) == parent


def test_the_lock_is_held_for_the_fork_only(tmp_path: Path) -> None:
    lock = threading.Lock()

    def save() -> str:  # in the child: wait until the parent's test has taken the lock
        (tmp_path / "started").touch()
        deadline = time.monotonic() + 30
        while not (tmp_path / "go").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        return "done"

    result: list[str] = []
    saver = threading.Thread(target=lambda: result.append(save_forked(save, _held(lock), _nothing, 60).name))
    saver.start()
    deadline = time.monotonic() + 30
    while not (tmp_path / "started").exists():  # the child runs: the lock must come free while it waits
        assert time.monotonic() < deadline, "the child never started"
        time.sleep(0.01)
    taken = lock.acquire(timeout=10)
    (tmp_path / "go").touch()
    saver.join(timeout=60)
    assert taken and result == ["done"]
    lock.release()


def test_a_failure_in_the_child_is_raised_with_its_message() -> None:
    def save() -> str:
        raise OSError("No space left on device")

    with pytest.raises(ForkedSaveError, match="OSError: No space left on device"):
        save_forked(save, _held(threading.Lock()), _nothing, deadline_s=30)


def test_a_child_killed_while_another_process_holds_the_pipe_is_reported_at_once(tmp_path: Path) -> None:
    def save() -> str:
        grandchild = os.fork()  # inherits the pipe's write end, as a process forked by another thread would
        if grandchild == 0:
            time.sleep(60)
            os._exit(0)
        (tmp_path / "grandchild").write_text(str(grandchild))
        os.kill(os.getpid(), signal.SIGKILL)
        return "never"

    started = time.monotonic()
    try:
        with pytest.raises(ForkedSaveError, match=f"killed by signal {signal.SIGKILL}"):
            save_forked(save, _held(threading.Lock()), _nothing, deadline_s=30)
        assert time.monotonic() - started < 10
    finally:
        with contextlib.suppress(OSError, ValueError):
            os.kill(int((tmp_path / "grandchild").read_text()), signal.SIGKILL)


def test_a_child_past_its_deadline_is_killed() -> None:
    def save() -> str:
        time.sleep(60)
        return "late"

    started = time.monotonic()
    with pytest.raises(ForkedSaveError, match="overran"):
        save_forked(save, _held(threading.Lock()), _nothing, deadline_s=0.5)
    assert time.monotonic() - started < 10
