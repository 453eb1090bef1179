"""ETags and ``If-Match`` for enterprise records: the ETag is the record's revision (its change-log ``seq``,
bumped by every write that changes the profile), as a strong entity tag ``"<seq>"``."""

from __future__ import annotations

from dataclasses import dataclass

from api.problems import ProblemError, ProblemFieldError

ETAG_HEADER = "ETag"
IF_MATCH_HEADER = "If-Match"
IF_MATCH_PATTERN = r'^\s*(\*|(W/)?"[\x21\x23-\x7e]*"(\s*,\s*(W/)?"[\x21\x23-\x7e]*")*)\s*$'


def etag(seq: int) -> str:
    return f'"{seq}"'


@dataclass(frozen=True)
class IfMatch:
    """A parsed ``If-Match``: ``*`` (any current record) or a set of revisions."""

    any: bool
    revisions: frozenset[int]

    def admits(self, current_seq: int | None) -> bool:
        """RFC 9110 §13.1.1: true if the current record exists and (``*`` or) its strong tag is listed."""
        if current_seq is None:
            return False
        return self.any or current_seq in self.revisions


def parse_if_match(header: str | None) -> IfMatch | None:
    """The precondition in an ``If-Match`` header, or ``None`` when absent. Weak tags (``W/"…"``) never match
    (If-Match uses strong comparison); a malformed header is a 422 rather than an unconditional write (the
    route's ``IF_MATCH_PATTERN`` already rejects one)."""
    if header is None:
        return None
    text = header.strip()
    if text == "*":
        return IfMatch(True, frozenset())
    revisions: set[int] = set()
    for raw in text.split(","):
        tag = raw.strip()
        if tag.startswith("W/"):
            continue
        if len(tag) < 3 or not (tag.startswith('"') and tag.endswith('"')):
            raise ProblemError(
                422,
                "If-Match must be * or a list of quoted entity tags",
                slug="validation-error",
                title="Request validation failed",
                errors=[ProblemFieldError(field="If-Match", loc=["header", "If-Match"], msg="not an entity tag list")],
            )
        value = tag[1:-1]
        if value.isdigit() and len(value) < 19:
            revisions.add(int(value))
        # any other opaque tag is simply one that no record carries
    return IfMatch(False, frozenset(revisions))


def precondition_failed(current_seq: int | None) -> ProblemError:
    """The 412 for an ``If-Match`` that does not match (carries the current ETag when there is a record)."""
    detail = (
        "the enterprise does not exist"
        if current_seq is None
        else f"If-Match does not match the current revision {etag(current_seq)}; fetch it and retry"
    )
    headers = {ETAG_HEADER: etag(current_seq)} if current_seq is not None else {}
    return ProblemError(412, detail, slug="precondition-failed", title="Precondition Failed", headers=headers)
