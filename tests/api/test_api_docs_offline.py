"""``/docs`` and ``/redoc`` work offline: every asset their pages reference is served by the app (item 12)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url\s*:\s*["']([^"']+)["']|spec-url=["']([^"']+)["']""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_every_asset_from_the_app(client: TestClient, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200 and "text/html" in response.headers["content-type"]
    html = response.text
    assert "cdn." not in html and "googleapis" not in html
    references = {next(g for g in m.groups() if g) for m in ASSET.finditer(html)}
    assert "/openapi.json" in references
    assert any(r.endswith(".js") for r in references)
    for ref in sorted(references):
        assert ref.startswith("/"), f"{page} references an external asset: {ref}"
        asset = client.get(ref)
        assert asset.status_code == 200, ref
        assert len(asset.content) > 100, ref
    if page == "/docs":
        assert any(r.endswith(".css") for r in references)
