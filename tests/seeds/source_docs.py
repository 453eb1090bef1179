"""Where the five source documents live: ``shared/seeds`` beside the repository (as in CI)."""

from __future__ import annotations

import pytest

from matching.sources import default_source_docs_dir

SOURCE_DOCS_DIR = default_source_docs_dir()
requires_source_docs = pytest.mark.skipif(
    not SOURCE_DOCS_DIR.is_dir(), reason=f"source documents not found at {SOURCE_DOCS_DIR}"
)
