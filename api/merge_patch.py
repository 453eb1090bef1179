"""JSON Merge Patch (RFC 7396): ``null`` removes a member, objects merge recursively, anything else
(arrays included) replaces the target value."""

from __future__ import annotations

from typing import Any

MERGE_PATCH_MEDIA_TYPE = "application/merge-patch+json"


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """The result of applying ``patch`` to ``target`` (neither is modified)."""
    if not isinstance(patch, dict):
        return patch
    result: dict[str, Any] = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result
