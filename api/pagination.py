"""Opaque cursors: URL-safe base64 of the last item's key."""

from __future__ import annotations

import base64
import binascii

from api.problems import ProblemError, ProblemFieldError

MAX_LIMIT = 200
DEFAULT_LIMIT = 50
_PREFIX = "c1:"


def encode_cursor(last_key: str) -> str:
    return base64.urlsafe_b64encode((_PREFIX + last_key).encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    """The key after which the next page starts; a malformed cursor is a 422 on ``cursor``."""
    if cursor is None or cursor == "":
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        text = ""
    if not text.startswith(_PREFIX):
        raise ProblemError(
            422,
            "malformed cursor",
            slug="validation-error",
            title="Request validation failed",
            errors=[
                ProblemFieldError(
                    field="cursor", loc=["query", "cursor"], msg="not a cursor returned by this API"
                )
            ],
        )
    return text[len(_PREFIX) :]
