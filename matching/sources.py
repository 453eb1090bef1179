"""Citations: every seed entry points at a source document section or at public industry knowledge."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from matching.text_safety import SafeName, SafeText

SOURCE_DOCS: dict[str, str] = {
    "000_2ed5d146fa7b3271.txt": "涪陵区经信委关于新材料产业集群化发展建议的复函（2024-06-24）",
    "001_39a0fae4dbddedf2.txt": "重庆日报：涪陵工业从“新”再出发",
    "002_5c18a5dec94362c3.txt": "华龙网：涪陵聚力打造2000亿级先进材料产业（2023-12-20）",
    "003_1bc59414bff406b1.txt": "遵义市特色优势制造业主动融入成渝地区双城经济圈工作方案（2024-12-03）",
    "004_ab94c550cb50952a.txt": "合川区制造业高质量发展行动方案（2023—2027年）",
}
PUBLIC_KNOWLEDGE = "public"
SOURCE_DOCS_ENV = "CHAINMATCH_SOURCE_DOCS"


class Source(BaseModel):
    """A citation: a document file name (or ``public`` for industry knowledge) and a section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    doc: SafeName = Field(
        max_length=200, description="Source file name from seeds/sources, or 'public' for industry knowledge"
    )
    section: SafeText | None = Field(default=None, max_length=2000, description="Section or passage of the document")

    def is_known(self) -> bool:
        return self.doc in SOURCE_DOCS or self.doc == PUBLIC_KNOWLEDGE


def default_source_docs_dir() -> Path:
    """``CHAINMATCH_SOURCE_DOCS`` if set, else ``sources/`` in the seed directory (the repository keeps a copy of
    the five documents, with their README index, in ``seeds/sources``)."""
    configured = os.environ.get(SOURCE_DOCS_ENV)
    if configured:
        return Path(configured)
    from matching.chains import default_seeds_dir

    return default_seeds_dir() / "sources"
