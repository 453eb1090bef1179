"""Parse the README's curl walkthrough into requests and their documented responses (``# → {json}``)."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"


@dataclass
class CurlCall:
    """One curl command of the walkthrough, as an HTTP request, with the documented response (if any)."""

    line: int
    method: str
    path: str
    params: list[tuple[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    files: dict[str, Path] = field(default_factory=dict)
    expected: Any = None
    expected_status: int | None = None


def readme_block(heading: str, language: str) -> tuple[int, str]:
    """The first fenced ``language`` block after ``heading``, with the README line number it starts on."""
    text = README.read_text(encoding="utf-8")
    start = text.index(heading)
    fence = text.index(f"```{language}\n", start) + len(f"```{language}\n")
    end = text.index("```", fence)
    return text.count("\n", 0, fence) + 1, text[fence:end]


def _logical_lines(block: str, first_line: int) -> list[tuple[int, str]]:
    """Join backslash continuations and lines inside an open single quote."""
    out: list[tuple[int, str]] = []
    buffer, start = "", 0
    for offset, raw in enumerate(block.splitlines()):
        if not buffer:
            start = first_line + offset
            if raw.lstrip().startswith("#"):  # a comment is one line, apostrophes and all
                out.append((start, raw))
                continue
        buffer = f"{buffer}\n{raw}" if buffer else raw
        if buffer.endswith("\\"):
            buffer = buffer[:-1]
            continue
        if buffer.count("'") % 2:  # inside a single-quoted -d body
            continue
        out.append((start, buffer))
        buffer = ""
    return out


def _curl(tokens: list[str], line: int, env: dict[str, str]) -> CurlCall:
    method, url, data, get = None, "", None, False
    headers: dict[str, str] = {}
    params: list[tuple[str, str]] = []
    files: dict[str, Path] = {}
    it = iter(tokens[1:])
    for token in it:
        if token == "-s":
            continue
        if token == "-X":
            method = next(it)
        elif token == "-H":
            name, _, value = next(it).partition(":")
            headers[name.strip()] = value.strip()
        elif token == "-d":
            data = next(it)
        elif token == "-G":
            get = True
        elif token == "--data-urlencode":
            key, _, value = next(it).partition("=")
            params.append((key, value))
        elif token == "-F":
            key, _, value = next(it).partition("=@")
            files[key] = REPO / value
        elif token.startswith("-"):
            raise ValueError(f"README line {line}: unsupported curl option {token}")
        else:
            url = token
    parts = urlsplit(url if "://" in url else f"http://{url}")
    params = [tuple(p.split("=", 1)) for p in parts.query.split("&") if p] + params  # type: ignore[misc]
    if method is None:
        method = "POST" if (data is not None or files) and not get else "GET"
    return CurlCall(line, method, parts.path, params, headers, data, files)


def walkthrough_calls(heading: str, env: dict[str, str]) -> list[CurlCall]:
    """Every curl call in the walkthrough block, with its documented response attached."""
    first, block = readme_block(heading, "bash")
    calls: list[CurlCall] = []
    pending: list[str] = []
    for line, text in _logical_lines(block, first):
        stripped = text.strip()
        if stripped.startswith("# →"):
            pending = [stripped.removeprefix("# →").strip()]
        elif pending and stripped.startswith("#  "):
            pending.append(stripped.removeprefix("#").strip())
        elif stripped.startswith("#") or not stripped:
            pending = []
            continue
        if pending:
            status_match = re.match(r"^(\d{3})\b\s*(.*)$", " ".join(pending))
            payload = " ".join(pending)
            status = None
            if status_match:
                status, payload = int(status_match.group(1)), status_match.group(2)
            try:
                expected = json.loads(payload) if payload else None
            except json.JSONDecodeError:
                continue  # not finished yet: more comment lines follow
            calls[-1].expected, calls[-1].expected_status = expected, status
            pending = []
            continue
        for assignment in re.findall(r'^(\w+)="([^"]*)"$', stripped):
            env[assignment[0]] = assignment[1]
        if not stripped.startswith("curl"):
            continue
        for _ in range(3):  # variables may refer to variables ($H holds $KEY)
            for name in sorted(env, key=len, reverse=True):
                text = text.replace(f"${name}", env[name])
        tokens = shlex.split(text, comments=True)
        command: list[str] = []
        for token in [*tokens, ";"]:
            if token in (";", "&&") or token.endswith(";"):
                if token.endswith(";") and token != ";":
                    command.append(token[:-1])
                if command:
                    calls.append(_curl(command, line, env))
                command = []
            else:
                command.append(token)
    return calls


def contains(actual: Any, expected: Any, where: str = "$") -> list[str]:
    """Differences where ``expected`` is not contained in ``actual``: objects by their listed keys, lists by
    each expected element matching some actual element (in any order), everything else by equality."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {actual!r}"]
        problems: list[str] = []
        for key, value in expected.items():
            if key not in actual:
                problems.append(f"{where}.{key}: missing")
            else:
                problems += contains(actual[key], value, f"{where}.{key}")
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{where}: expected a list, got {actual!r}"]
        problems = []
        for index, item in enumerate(expected):
            if not any(not contains(candidate, item) for candidate in actual):
                problems.append(f"{where}[{index}]: no element contains {item!r}")
        return problems
    return [] if actual == expected else [f"{where}: expected {expected!r}, got {actual!r}"]
