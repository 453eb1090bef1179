"""Where the five source documents live: ``seeds/sources`` in the repository (no test depends on a path
outside it)."""

from __future__ import annotations

from pathlib import Path

from matching.sources import SOURCE_DOCS

SOURCE_DOCS_DIR = Path(__file__).resolve().parents[2] / "seeds" / "sources"
assert all((SOURCE_DOCS_DIR / name).is_file() for name in SOURCE_DOCS), f"source documents missing in {SOURCE_DOCS_DIR}"
