"""Where the five source documents live: ``shared/seeds`` beside the repository (as in CI)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SOURCE_DOCS_DIR = Path(
    os.environ.get("CHAINMATCH_SOURCE_DOCS") or Path(__file__).resolve().parents[3] / "shared" / "seeds"
)
requires_source_docs = pytest.mark.skipif(
    not SOURCE_DOCS_DIR.is_dir(), reason=f"source documents not found at {SOURCE_DOCS_DIR}"
)
