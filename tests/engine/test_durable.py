"""Large files written in trickles: what ``np.save`` and ``pickle`` write through a ``TrickleWriter`` reads
back the same, and the writer waits for the disk every so many bytes, not only at the end."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from matching.durable import TrickleWriter


def test_arrays_saved_in_trickles_load_memory_mapped_and_equal(tmp_path: Path) -> None:
    array = np.arange(3_000_000, dtype=np.int64)  # 24 MB: numpy writes a file-like object in 16 MB chunks
    path = tmp_path / "a.npy"
    with TrickleWriter(path, every=4 << 20) as f:
        np.save(f, array)
    assert f.flushes >= 2  # at least once mid-file and once on close
    loaded = np.load(path, mmap_mode="r", allow_pickle=False)
    assert loaded.dtype == array.dtype and np.array_equal(loaded, array)
    assert path.read_bytes() == _plain_npy(tmp_path, array)  # byte for byte what np.save writes to a path


def test_pickles_written_in_trickles_load(tmp_path: Path) -> None:
    objects = {"ids": [f"E{i:07d}" for i in range(200_000)], "names": ["重庆华峰化工有限公司"] * 1_000}
    path = tmp_path / "objects.pkl"
    with TrickleWriter(path, every=1 << 20) as f:
        pickle.dump(objects, f, protocol=pickle.HIGHEST_PROTOCOL)
    assert f.flushes > 1
    assert pickle.loads(path.read_bytes()) == objects


def test_a_failed_write_closes_the_file_without_waiting(tmp_path: Path) -> None:
    path = tmp_path / "x.bin"
    with pytest.raises(RuntimeError), TrickleWriter(path, every=1 << 30) as f:
        f.write(b"partial")
        raise RuntimeError("the save failed")
    assert f.flushes == 0 and path.read_bytes() == b"partial"


def _plain_npy(tmp_path: Path, array: np.ndarray) -> bytes:
    plain = tmp_path / "plain.npy"
    np.save(plain, array)
    return plain.read_bytes()
