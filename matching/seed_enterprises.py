"""Plan enterprises from ``seeds/enterprises/*.yaml``, validated as contract profiles.

Each file holds ``enterprises:`` followed by a list of profiles in the :class:`Enterprise` shape; every entry
cites its source document. Reading is done by :mod:`matching.seed_loader`.
"""

from __future__ import annotations

from pathlib import Path

from matching.profiles import Enterprise
from matching.seed_loader import SeedEnterpriseError, read_enterprises

__all__ = ["SeedEnterpriseError", "load_seed_enterprises"]


def load_seed_enterprises(seeds_dir: Path | None = None) -> list[Enterprise]:
    """Every seed enterprise, file by file in name order. Raises :class:`SeedEnterpriseError`."""
    return [seed.enterprise for seed in read_enterprises(seeds_dir, "strict").value]
