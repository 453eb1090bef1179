"""Safe text at the edges: no control, bidi-override or zero-width characters; names trimmed and non-blank.

PostgreSQL rejects NUL in text (a 500 and a failed import before this check) while SQLite stores it; bidi
overrides and zero-width characters let two names look alike or a name render reversed ("Trojan Source").
Free text (descriptions) may keep tab and newlines; every other field is one line.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

# Bidirectional embeddings, overrides and isolates, plus the implicit marks.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff\u180e")
MULTILINE_ALLOWED = frozenset("\t\n\r")
# Every character the loop below rejects, as one class: a clean text (nearly all) is cleared by one C-level
# search instead of a Python loop over its characters (the loop was most of a bulk import's parse time).
_SURROGATES = "\ud800-\udfff"  # unicodedata category Cs
_ALWAYS = "".join(sorted(BIDI_CONTROLS | ZERO_WIDTH))
_UNSAFE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_ALWAYS}{_SURROGATES}]")
_UNSAFE_MULTILINE = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_ALWAYS}{_SURROGATES}]")


def unsafe_character(text: str, *, multiline: bool = False) -> str | None:
    """A description of the first forbidden character in ``text`` (with its position), or ``None``."""
    if (_UNSAFE_MULTILINE if multiline else _UNSAFE_LINE).search(text) is None:
        return None
    for index, char in enumerate(text):
        code = ord(char)
        if multiline and char in MULTILINE_ALLOWED:
            continue
        if code < 0x20 or 0x7F <= code < 0xA0:
            kind = "NUL" if code == 0 else "control character"
        elif char in BIDI_CONTROLS:
            kind = "bidirectional control character"
        elif char in ZERO_WIDTH:
            kind = "zero-width character"
        elif unicodedata.category(char) == "Cs":
            kind = "lone surrogate"
        else:
            continue
        return f"contains a {kind} U+{code:04X} at position {index}"
    return None


def check_line(value: str) -> str:
    """A one-line text field: no control, bidi or zero-width characters."""
    problem = unsafe_character(value)
    if problem:
        raise ValueError(problem)
    return value


def check_multiline(value: str) -> str:
    """Free text: like :func:`check_line`, but tab and newlines are allowed."""
    problem = unsafe_character(value, multiline=True)
    if problem:
        raise ValueError(problem)
    return value


def _trim(value: Any) -> Any:
    """Strip surrounding whitespace from strings (other types go on to the type check)."""
    return value.strip() if isinstance(value, str) else value


def _trim_non_blank(value: Any) -> Any:
    """Like :func:`_trim`, but a string that is empty or only whitespace is an error."""
    if isinstance(value, str):
        value = value.strip()
        if not value:
            raise ValueError("must not be empty or only whitespace")
    return value


# A trimmed, non-blank one-line text: names, products, units, tags, certifications, addresses.
SafeName = Annotated[str, BeforeValidator(_trim_non_blank), AfterValidator(check_line)]
# Free text (descriptions): trimmed; tab and newlines allowed.
SafeText = Annotated[str, BeforeValidator(_trim), AfterValidator(check_multiline)]
