"""The body of ``PATCH /v1/enterprises/{id}``: a JSON Merge Patch (RFC 7396) over a profile."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from matching.profiles import ID_PATTERN, Need, Offer


class EnterprisePatch(BaseModel):
    """Members to change: a value replaces the stored one (arrays whole, ``source`` merges), ``null`` removes
    it, an absent member is kept. The merged profile is validated like a ``PUT`` body."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "示例锰业股份有限公司", "tags": ["规上", "专精特新"]}]},
    )

    id: str | None = Field(default=None, pattern=ID_PATTERN, description="Must equal the path id if given")
    name: str | None = None
    credit_code: str | None = None
    region_code: str | None = None
    address: str | None = None
    park: str | None = None
    tags: list[str] | None = None
    certifications: list[str] | None = None
    offers: list[Offer] | None = None
    needs: list[Need] | None = None
    source: dict[str, Any] | None = Field(default=None, description="Admin only")

    def as_merge_patch(self) -> dict[str, Any]:
        """The members the client sent (explicit ``null`` kept, meaning remove)."""
        sent = self.model_dump(mode="json", exclude_unset=True)
        for key in ("offers", "needs"):
            if sent.get(key) is not None:  # items are replaced whole: drop their unset optional members
                sent[key] = [item.model_dump(mode="json", exclude_none=True) for item in getattr(self, key)]
        return sent
