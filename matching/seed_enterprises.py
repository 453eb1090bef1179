"""Plan enterprises from ``seeds/enterprises/*.yaml``, validated as contract profiles.

Each file holds ``enterprises:`` followed by a list of profiles in the :class:`Enterprise` shape; every entry
cites its source document.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from matching.chains import default_seeds_dir, read_yaml
from matching.errors import ChainmatchError
from matching.profiles import Enterprise


class SeedEnterpriseError(ChainmatchError):
    """A seed enterprise file or entry is malformed; the message names the file and entry index."""

    def __init__(self, file: str, index: int | None, reason: str) -> None:
        where = file if index is None else f"{file} entry #{index}"
        super().__init__(f"{where}: {reason}")
        self.file = file
        self.index = index


def load_seed_enterprises(seeds_dir: Path | None = None) -> list[Enterprise]:
    """Every seed enterprise, file by file in name order. Raises :class:`SeedEnterpriseError`."""
    root = (seeds_dir or default_seeds_dir()) / "enterprises"
    result: list[Enterprise] = []
    seen: dict[str, str] = {}
    for path in sorted(root.glob("*.yaml")):
        file = f"enterprises/{path.name}"
        data = read_yaml(path)
        entries = data.get("enterprises") if isinstance(data, dict) else data
        if not isinstance(entries, list):
            raise SeedEnterpriseError(file, None, "expected a list under 'enterprises:'")
        for index, raw in enumerate(entries):
            ident = raw.get("id") if isinstance(raw, dict) else None
            label = f" ({ident})" if ident else ""
            try:
                enterprise = Enterprise.model_validate(raw)
            except ValidationError as exc:
                details = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc']) or '<entry>'}: {e['msg']}" for e in exc.errors()
                )
                raise SeedEnterpriseError(file, index, f"invalid profile{label}: {details}") from None
            if enterprise.source is None:
                raise SeedEnterpriseError(file, index, f"missing source{label}")
            if enterprise.id in seen:
                other = seen[enterprise.id]
                raise SeedEnterpriseError(file, index, f"duplicate id {enterprise.id!r} (also in {other})")
            seen[enterprise.id] = file
            result.append(enterprise)
    return result
